"""Portable checkpoints: the seeding runs' records are found through the lineage."""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nestcap_av.portable import seeding_runs  # noqa: E402


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


if __name__ == "__main__":
    unittest.main()
