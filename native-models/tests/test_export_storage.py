"""The export's float16 storage: only weights that float16 holds exactly move, and the graph still computes
in float32 (ONNX Runtime's agreement is checked by the parity test on every exported bundle)."""

import os
import tempfile
import unittest

import numpy as np
import onnx
from onnx import helper, numpy_helper

from nestcap_av.export import store_exact_float16


def write_graph(path: str, exact: np.ndarray, inexact: np.ndarray, small: np.ndarray) -> None:
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, exact.shape[0]])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [inexact.shape[0], exact.shape[1]])
    nodes = [helper.make_node("MatMul", ["x", "exact"], ["h"]), helper.make_node("Add", ["h", "inexact"], ["h2"]),
             helper.make_node("Add", ["h2", "small"], ["y"])]
    graph = helper.make_graph(nodes, "g", [x], [y], [numpy_helper.from_array(exact, "exact"),
                                                     numpy_helper.from_array(inexact, "inexact"),
                                                     numpy_helper.from_array(small, "small")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


class Float16StorageTest(unittest.TestCase):
    def test_exact_weights_are_halved_and_cast_back_the_rest_stay(self):
        rng = np.random.default_rng(0)
        exact = rng.normal(size=(8, 256)).astype(np.float16).astype(np.float32)  # as a float16 checkpoint holds
        inexact = (rng.normal(size=(5, 256)) * 1e-3 + 1 / 3).astype(np.float32)  # 1,280 values float16 rounds
        small = np.full((1, 256), 0.5, np.float32)  # exact, but below the size worth a cast
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "g.onnx")
            write_graph(path, exact, inexact, small)
            before = os.path.getsize(path)
            report = store_exact_float16(path)
            model = onnx.load(path)
            onnx.checker.check_model(model)
            weights = {i.name: i for i in model.graph.initializer}
            self.assertEqual(set(weights), {"exact.float16", "inexact", "small"})
            self.assertEqual(weights["exact.float16"].data_type, onnx.TensorProto.FLOAT16)
            self.assertTrue(np.array_equal(numpy_helper.to_array(weights["exact.float16"]).astype(np.float32), exact))
            self.assertTrue(np.array_equal(numpy_helper.to_array(weights["inexact"]), inexact))
            first = model.graph.node[0]
            self.assertEqual((first.op_type, list(first.input), list(first.output)), ("Cast", ["exact.float16"], ["exact"]))
            self.assertEqual(first.attribute[0].i, onnx.TensorProto.FLOAT)
            self.assertEqual((report["float16_weights"], report["float32_weights"]), (1, 2))
            self.assertLess(os.path.getsize(path), before - exact.nbytes // 2 + 512)

    def test_a_graph_without_exact_weights_is_left_as_it_was(self):
        rng = np.random.default_rng(1)
        almost = rng.normal(size=(8, 256)).astype(np.float16).astype(np.float32)
        almost[0, 0] = 1 / 3  # one value float16 cannot hold keeps the whole tensor
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "g.onnx")
            write_graph(path, almost, np.full((5, 256), 1 / 3, np.float32), np.zeros((1, 256), np.float32))
            with open(path, "rb") as f:
                original = f.read()
            self.assertEqual(store_exact_float16(path)["float16_weights"], 0)
            with open(path, "rb") as f:
                self.assertEqual(f.read(), original)


if __name__ == "__main__":
    unittest.main()
