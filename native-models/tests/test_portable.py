"""Portable checkpoints: the seeding runs' records are found through the lineage; a packed fusion stage resumes;
a run resumed without its seeding runs keeps the lineage it recorded."""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from nestcap_av.config import TrainConfig  # noqa: E402
from nestcap_av.portable import fusion_checkpoint, seeding_runs  # noqa: E402
from nestcap_av.train import flat_lineage, lineage  # noqa: E402


class SeedingRunTests(unittest.TestCase):
    def test_lineage_is_walked_nearest_first_without_repeats(self):
        record = {"seeded_from": {
            "lm_and_encoders": {"run": "work/runs/enc", "seeded_from": {
                "lm_and_encoders": {"run": "work/runs/joint", "seeded_from": None}}},
            "adapters": {"run": "work/runs/joint", "seeded_from": None}}}
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "state.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(record, f)
            self.assertEqual(seeding_runs(path), ["work/runs/enc", "work/runs/joint"])
            with open(path, "w", encoding="utf-8") as f:
                json.dump({"seeded_from": None}, f)
            self.assertEqual(seeding_runs(path), [])


class FlatLineageTests(unittest.TestCase):
    def test_each_seeding_run_is_recorded_once_and_named_by_role(self):
        joint = {"run": "work/runs/joint", "state": {"step": 7600}, "seeded_from": None}
        enc = {"run": "work/runs/enc", "state": {"step": 0}, "seeded_from": {"lm_and_encoders": joint}}
        av = {"run": "work/runs/av", "state": {"step": 400}, "seeded_from": {"lm_and_encoders": enc, "adapters": joint}}
        flat = flat_lineage({"lm_and_encoders": av, "adapters": av})
        self.assertEqual(flat["seeded_from"], {"lm_and_encoders": "work/runs/av", "adapters": "work/runs/av"})
        self.assertEqual(sorted(flat["runs"]), ["work/runs/av", "work/runs/enc", "work/runs/joint"])
        self.assertEqual(flat["runs"]["work/runs/av"]["seeded_from"], {"lm_and_encoders": "work/runs/enc", "adapters": "work/runs/joint"})
        self.assertEqual(flat["runs"]["work/runs/av"]["state"], {"step": 400})
        self.assertIsNone(flat["runs"]["work/runs/joint"]["seeded_from"])
        self.assertIsNone(flat_lineage(None))

    def test_a_run_recorded_at_two_states_is_kept_twice(self):
        early = {"run": "work/runs/av", "state": {"step": 1200}, "seeded_from": None}
        late = {"run": "work/runs/av", "state": {"step": 4200}, "seeded_from": None}
        enc = {"run": "work/runs/enc", "state": {"step": 0}, "seeded_from": {"lm_and_encoders": early}}
        flat = flat_lineage({"lm_and_encoders": enc, "adapters": late})
        self.assertEqual(flat["runs"]["work/runs/enc"]["seeded_from"], {"lm_and_encoders": "work/runs/av"})
        self.assertEqual(flat["seeded_from"]["adapters"], "work/runs/av@4200")
        self.assertEqual(flat["runs"]["work/runs/av@4200"]["state"], {"step": 4200})


class FusionCheckpointTests(unittest.TestCase):
    def test_the_head_and_its_stage_record_come_back_as_a_finished_stage(self):
        model = {"ctc_a.weight": torch.zeros(2), "ctc_av.out.weight": torch.ones(3), "ctc_av.out.bias": torch.ones(1)}
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "state.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump({"fusion": {"step": 2000, "seconds": 1736.8, "samples": 32000, "done": False}}, f)
            ck = fusion_checkpoint(model, path)
            self.assertEqual(sorted(ck["head"]), ["out.bias", "out.weight"])
            self.assertEqual(ck["state"]["step"], 2000)
            self.assertTrue(ck["state"]["done"])  # no optimizer moments: a resumed stage starts fresh ones
            self.assertNotIn("opt", ck)
            with open(path, "w", encoding="utf-8") as f:
                json.dump({"fusion": None}, f)
            self.assertIsNone(fusion_checkpoint(model, path))
            with open(path, "w", encoding="utf-8") as f:
                json.dump({"fusion": {"step": 5}}, f)
            self.assertIsNone(fusion_checkpoint({"ctc_a.weight": torch.zeros(2)}, path))


class LineageTests(unittest.TestCase):
    def test_a_new_run_reads_its_seeds_and_a_resumed_one_keeps_what_it_recorded(self):
        with tempfile.TemporaryDirectory() as d:
            seed, run = os.path.join(d, "enc"), os.path.join(d, "run")
            os.makedirs(seed)
            os.makedirs(run)
            with open(os.path.join(seed, "state.json"), "w", encoding="utf-8") as f:
                json.dump({"state": {"step": 7}, "seeded_from": None}, f)
            tc = TrainConfig(run_dir=run, init_from=seed)
            fresh = lineage(tc)
            self.assertEqual(fresh["lm_and_encoders"]["run"], seed)
            self.assertEqual(fresh["lm_and_encoders"]["state"], {"step": 7})
            with open(os.path.join(run, "state.json"), "w", encoding="utf-8") as f:
                json.dump({"seeded_from": fresh}, f)
            os.remove(os.path.join(seed, "state.json"))  # as after `portable unpack` on a new machine
            self.assertEqual(lineage(tc), fresh)
            self.assertIsNone(lineage(TrainConfig(run_dir=run)))

    def test_the_adapters_seeds_are_named_so_the_record_grows_by_one_run_per_generation(self):
        with tempfile.TemporaryDirectory() as d:
            def write_state(run: str, seeded_from) -> None:
                os.makedirs(run, exist_ok=True)
                with open(os.path.join(run, "state.json"), "w", encoding="utf-8") as f:
                    json.dump({"state": {"step": 1}, "seeded_from": seeded_from}, f)

            previous = os.path.join(d, "gen0")
            write_state(previous, None)
            sizes = []
            for generation in range(1, 7):  # each run seeds both its weights and its adapters from the last
                run = os.path.join(d, f"gen{generation}")
                record = lineage(TrainConfig(run_dir=run, init_from=previous, init_adapters_from=previous))
                write_state(run, record)
                sizes.append(len(json.dumps(record)))
                previous = run
            self.assertEqual(record["adapters"]["seeded_from"], {"lm_and_encoders": os.path.join(d, "gen4"),
                                                                 "adapters": os.path.join(d, "gen4")})
            self.assertEqual(record["lm_and_encoders"]["seeded_from"]["lm_and_encoders"]["run"], os.path.join(d, "gen4"))
            growth = [b - a for a, b in zip(sizes, sizes[1:])]
            self.assertLess(max(growth[1:]) - min(growth[1:]), 200, f"linear, not doubling: {sizes}")
            path = os.path.join(previous, "state.json")
            self.assertEqual(seeding_runs(path), [os.path.join(d, f"gen{g}") for g in range(5, -1, -1)])
            flat = flat_lineage(record)
            self.assertEqual(flat["runs"][os.path.join(d, "gen5")]["seeded_from"]["adapters"], os.path.join(d, "gen4"))


if __name__ == "__main__":
    unittest.main()
