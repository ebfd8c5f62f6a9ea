"""The evaluation report's provenance sentences: whose encoders the shipped model and the compared rows froze."""

import unittest

from nestcap_av.evaluate import encoder_origin, encoder_sources, targets


def record(run: str, freeze: bool, enc_steps: int, parent: dict | None = None) -> dict:
    return {"run": run, "train": {"freeze_encoders": freeze}, "encoders": {"step": enc_steps},
            "seeded_from": {"lm_and_encoders": parent} if parent else None}


class ProvenanceTest(unittest.TestCase):
    def setUp(self):
        self.enc = record("runs/enc", freeze=False, enc_steps=2000)
        self.av = record("runs/av", freeze=True, enc_steps=0, parent=self.enc)
        self.head = record("runs/head", freeze=True, enc_steps=0, parent=self.av)

    def test_origin_follows_frozen_runs_back_to_the_one_that_trained_the_encoders(self):
        self.assertEqual(encoder_origin("runs/head", self.head), "runs/enc")
        self.assertEqual(encoder_origin("runs/enc", self.enc), "runs/enc")
        unfrozen_av = record("runs/joint", freeze=False, enc_steps=0, parent=self.enc)
        self.assertEqual(encoder_origin("runs/joint", unfrozen_av), "runs/joint")
        eval_json_shape = {"train_config": {"freeze_encoders": True}, "encoders": {"step": 0},
                           "seeded_from": {"lm_and_encoders": self.av}}
        self.assertEqual(encoder_origin("runs/shipped", eval_json_shape), "runs/enc")

    def test_rows_on_other_encoders_are_said_to_be(self):
        rows = {"MS": {"encoders_from": "runs/enc"}, "SS": {"encoders_from": "runs/enc"}}
        self.assertIn("shipped model's frozen LM and encoders (runs/enc)", encoder_sources(rows, "runs/enc"))
        other = encoder_sources(rows, "runs/enc5")
        self.assertIn("of runs/enc, not the shipped model's (runs/enc5)", other)

    def test_a_fixed_scale_target_against_other_encoders_says_so(self):
        fixed = {"scale": 0, "wer": {"s0/avsr/clean": 29.0}, "budget": {"encoders_from": "runs/enc"}}
        ev = {"scales": [[2, 2]], "main": {"wer": {"s0/avsr/clean": 28.0}},
              "baselines": {"fixed-scale model (s0 only)": fixed},
              "training": {"run": "runs/shipped", "train_config": {"freeze_encoders": False}, "encoders": {"step": 10}}}
        row = next(t for t in targets(ev) if t["target"].startswith("single model"))
        self.assertIn("not like for like", row["measured"])
        self.assertEqual(row["status"], "met")
        ev["training"] = {"run": "runs/head", "train_config": {"freeze_encoders": True}, "encoders": {"step": 0},
                          "seeded_from": {"lm_and_encoders": self.av}}
        row = next(t for t in targets(ev) if t["target"].startswith("single model"))
        self.assertEqual(row["measured"], "28.0 vs 29.0")


if __name__ == "__main__":
    unittest.main()
