"""The evaluation report: whose encoders the shipped model and the compared rows froze, and the per-voice tables."""

import unittest

from nestcap_av.evaluate import (POOLING, REFERENCE, SHIPPED, Scores, decoding_description, encoder_origin,
                                 encoder_sources, method_name, parse_scale_search, targets, voice_group, voice_table)
from nestcap_av.export import default_decoding


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


class ByVoiceTest(unittest.TestCase):
    def test_espeak_variants_pool_and_other_families_split_by_voice(self):
        self.assertEqual(voice_group({"family": "espeak", "voice": "en-us+m3"}), "espeak")
        self.assertEqual(voice_group({"family": "festival", "voice": "kal_diphone"}), "festival:kal_diphone")
        self.assertEqual(voice_group({"family": "flite", "voice": "slt"}), "flite:slt")

    def test_scores_pool_every_row_and_split_only_the_ones_that_name_a_voice(self):
        scores = Scores()
        scores.add("s0/asr/clean", "one two three four", "espeak", "one two three four")
        scores.add("s0/asr/clean", "five six", "flite:kal", "five sex")
        scores.add("s0/asr/0dB", "five six", None, "")
        self.assertAlmostEqual(scores.all["s0/asr/clean"].value, 100 / 6)
        self.assertEqual(scores.all["s0/asr/0dB"].value, 100.0)
        self.assertEqual(set(scores.by_voice), {"espeak", "flite:kal"})
        self.assertEqual(scores.by_voice["flite:kal"]["s0/asr/clean"].value, 50.0)
        self.assertNotIn("s0/asr/0dB", scores.by_voice["flite:kal"])

    def test_the_table_has_a_row_per_voice_and_dashes_for_what_was_not_decoded(self):
        block = {"by_voice": {"espeak": {"utterances": 3, "words": 40, "wer": {"ctc/clean": 12.5, "s0/asr/clean": 10.0}}}}
        header, rule, row = voice_table(block, 4)
        self.assertIn("audio-visual (s3)", header)
        self.assertEqual(rule.count("---"), 7)
        self.assertTrue(row.startswith("| espeak | 3 | 40 | 12.5 | 10.0 |"), row)
        self.assertEqual(row.count("–"), 2)


class LmDrivenBaselinesTest(unittest.TestCase):
    """Table 3's targets are measured again where the LM writes the transcript; the default rows stay as they were."""

    def setUp(self):
        self.ev = {"scales": [[2, 2], [8, 5]], "main": {"wer": {"s0/avsr/clean": 10.0, "s1/avsr/clean": 13.0}},
                   "baselines": {POOLING: {"wer": {"s1/avsr/clean": 16.0}}},
                   "baselines_lm_driven": {
                       SHIPPED: {"wer": {"s0/avsr/clean": 30.0, "s1/avsr/clean": 20.0}},
                       "fixed-scale model (s1 only)": {"scale": 1, "wer": {"s1/avsr/clean": 19.0}},
                       POOLING: {"wer": {"s0/avsr/clean": 31.0, "s1/avsr/clean": 60.0}},
                       REFERENCE: {"wer": {"s0/avsr/clean": 33.0, "s1/avsr/clean": 25.0}}}}

    def row(self, start: str) -> dict:
        return next(t for t in targets(self.ev) if t["target"].startswith(start))

    def test_the_coarsest_scale_is_compared_with_pooling_for_the_model_and_the_reference(self):
        self.assertEqual(self.row("coarsest scale >= 3x")["status"], "missed")  # 13 vs 16: the default decoding
        shipped = self.row("LM-driven decoding, single model: coarsest")
        self.assertEqual((shipped["measured"], shipped["status"]), ("20.0 vs 60.0", "met"))
        reference = self.row(f"LM-driven decoding, {REFERENCE}: coarsest")
        self.assertEqual((reference["measured"], reference["status"]), ("25.0 vs 60.0", "missed"))

    def test_the_fixed_scale_model_is_compared_at_its_own_scale(self):
        fixed = self.row("LM-driven decoding, single model within 1.5")
        self.assertEqual((fixed["measured"], fixed["status"]), ("20.0 vs 19.0", "met"))
        self.ev["baselines_lm_driven"]["fixed-scale model (s1 only)"]["wer"]["s1/avsr/clean"] = 18.0
        self.assertEqual(self.row("LM-driven decoding, single model within 1.5")["status"], "missed")

    def test_a_report_without_the_table_adds_no_rows(self):
        del self.ev["baselines_lm_driven"]
        self.assertFalse([t for t in targets(self.ev) if t["target"].startswith("LM-driven")])


class ScaleSearchTest(unittest.TestCase):
    """Coarser scales may search narrower and rescore fewer; the report and the manifest say which."""

    def test_options_parse_to_scale_budgets_and_bad_ones_are_refused(self):
        self.assertEqual(parse_scale_search(["s2=32:4", "s3=16:2"]), {2: (32, 4), 3: (16, 2)})
        for bad in ["3=16:2", "s3=16", "s3=2:16", "s3=16:0", "sx=16:2"]:
            with self.assertRaises(SystemExit, msg=bad):
                parse_scale_search([bad])

    def test_the_report_and_the_manifest_carry_the_budgets(self):
        block = {"method": "rescore", "beams": 8, "search_beams": 64, "ctc_weight": 0.8, "word_weight": 0.35,
                 "wer": {}, "scale_search": {"s3": {"search_beams": 16, "beams": 2}}}
        self.assertEqual(method_name(block), "CTC + word-LM beam 64, LM rescoring of 8 (s3: 16/2)")
        self.assertIn("s3 searches 16 and rescores 2", decoding_description(block))
        self.assertEqual(default_decoding(block), {"method": "rescore", "beams": 8, "search_beams": 64,
                                                   "scale_search": {"s3": {"search_beams": 16, "beams": 2}}})
        self.assertNotIn("scale_search", default_decoding({**block, "scale_search": {}}))

if __name__ == "__main__":
    unittest.main()
