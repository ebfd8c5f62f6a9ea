"""Look-ahead word LM: a proper distribution, character scores that add up to word scores, the JSON form
the engine reads, and fusion in greedy decoding."""

import math
import os
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nestcap_av.data import CharTokenizer  # noqa: E402
from nestcap_av.decoding import beam_search, greedy  # noqa: E402
from nestcap_av.model import AVModel  # noqa: E402
from nestcap_av.wordlm import WordLM  # noqa: E402
from tests.test_model import tiny  # noqa: E402

TEXT = ["the garden is full of snails", "the cat is in the garden", "a cat sat", "the snails are slow",
        "is it full", "it is the cat"]
WORD_LIST = ["garden", "gardener", "gate", "slow", "slowly", "zebra", "cat's"]


def lm() -> WordLM:
    return WordLM.from_text(TEXT, WORD_LIST)


class DistributionTests(unittest.TestCase):
    def test_every_history_sums_to_one_over_words_end_and_unknown(self):
        m = lm()
        for history in [m.bos, m.history_of("the"), m.history_of("cat"), m.history_of("zebra"), m.unk_history]:
            total = m.mass(history, 0, len(m.words)) + m.p_end(history) + m.p_unknown(history)
            self.assertAlmostEqual(total, 1.0, places=12)

    def test_words_only_in_the_list_share_the_new_word_probability(self):
        m = lm()
        self.assertIn("zebra", m.words)
        self.assertGreater(m.word_logprob(m.unk_history, "cat"), m.word_logprob(m.unk_history, "zebra"))
        self.assertGreater(m.word_logprob(m.unk_history, "zebra"), m.word_logprob(m.unk_history, "zzz"))


class CharacterScoreTests(unittest.TestCase):
    def test_character_scores_add_up_to_the_word_scores(self):
        m = lm()
        for text in ["the garden is full", "a zebra sat", "the gaden is slow", "cat's gate"]:
            words = text.split()
            expected, history = 0.0, m.bos
            for w in words:
                expected += m.word_logprob(history, w)
                history = m.history_of(w)
            expected += math.log(m.p_end(history))
            self.assertAlmostEqual(m.score_text(text), expected, places=9, msg=text)

    def test_a_misspelling_scores_below_the_word_and_stays_possible(self):
        m = lm()
        self.assertGreater(m.score_text("the garden"), m.score_text("the gaden"))
        self.assertTrue(math.isfinite(m.score_text("the gaden")))
        # after "the", the bigram makes "garden" likelier than after "a"
        self.assertGreater(m.word_logprob(m.history_of("the"), "garden"), m.word_logprob(m.history_of("a"), "garden"))

    def test_a_space_without_a_word_is_penalised(self):
        m = lm()
        score, state = m.word_end(m.start())
        self.assertLess(score, -20)
        self.assertEqual(state, m.start())

    def test_the_json_form_scores_identically(self):
        m = lm()
        back = WordLM.from_json(m.to_json())
        self.assertEqual(back.words, m.words)
        for text in ["the garden is full", "zebra", "qq xx"]:
            self.assertEqual(back.score_text(text), m.score_text(text))
        self.assertNotIn("unknown_scale", m.to_json())  # bundles from before the option stay byte-identical

    def test_the_saved_file_loads_back_gzipped_or_plain(self):
        m = lm()
        with tempfile.TemporaryDirectory() as d:
            for name in ("word_lm.json.gz", "word_lm.json"):  # the bundle's file now, and before 2026-12-03
                path = os.path.join(d, name)
                m.save(path)
                with open(path, "rb") as f:
                    self.assertEqual(f.read(2) == b"\x1f\x8b", name.endswith(".gz"))
                self.assertEqual(WordLM.load(path).score_text("the garden is full"), m.score_text("the garden is full"))

    def test_the_unknown_scale_makes_unlisted_words_dearer_and_survives_json(self):
        m = lm()
        scaled = WordLM(m.words, m.counts, m.histories, m.offsets, m.successors, m.pair_counts, 1e-3)
        back = WordLM.from_json(scaled.to_json())
        self.assertEqual(back.unknown_scale, 1e-3)
        self.assertAlmostEqual(back.score_text("qq") - m.score_text("qq"), math.log(1e-3), places=9)
        self.assertEqual(back.score_text("the garden"), m.score_text("the garden"))


class FusionTests(unittest.TestCase):
    def test_the_word_lm_corrects_a_misspelling_the_ctc_head_prefers(self):
        torch.manual_seed(0)
        tok = CharTokenizer()
        model = AVModel(tiny()).eval()
        m = lm()
        # a CTC output fairly sure of "the gaden": each letter's frame at 0.6, then a blank frame
        path = [s for c in "the gaden" for s in (tok.encode(c)[0], tok.pad)] + [tok.pad] * 4
        x = np.full((len(path), len(tok)), 0.4 / (len(tok) - 1))
        x[np.arange(len(path)), path] = 0.6
        ctc = np.log(x)
        with torch.no_grad():
            prefix = model.lm.emb(torch.tensor([[tok.bos, tok.tok("<asr>")]]))
            lora = model.lora.for_scale(0)
            args = (model, tok, prefix, lora, 30, ctc, 0.5)
            self.assertEqual(greedy(*args, candidates=len(tok)), "the gaden")
            self.assertEqual(greedy(*args, candidates=len(tok), word_lm=m, word_weight=0.0), "the gaden")
            # (the untrained LM may add a trailing space, which transcripts drop)
            self.assertEqual(greedy(*args, candidates=len(tok), word_lm=m, word_weight=0.5).strip(), "the garden")
            beam_args = (model, tok, prefix, lora, 4, 30, ctc, 0.5)
            self.assertEqual(beam_search(*beam_args, candidates=len(tok)).strip(), "the gaden")
            self.assertEqual(beam_search(*beam_args, candidates=len(tok), word_lm=m, word_weight=0.5).strip(), "the garden")


if __name__ == "__main__":
    unittest.main()
