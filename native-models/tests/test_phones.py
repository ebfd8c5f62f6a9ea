"""Pronunciations, the phone tokenizer and the lexicon-constrained phone search with its spelling."""

import math
import os
import tempfile
import unittest

import numpy as np

from nestcap_av.data import CharTokenizer
from nestcap_av.decoding import ctc_log_likelihoods, ctc_prefix_beam, fused_phone_nbest, phone_nbest
from nestcap_av.phones import (ARPABET, CHAR_OF, PHONES_FILE, UNKNOWN_PRONUNCIATION_SCALE, Lexicon, PhoneticWordLM,
                               PhoneTokenizer, festival_letter_to_sound, possessive, read_cmudict)
from nestcap_av.wordlm import WordLM


def pron(*phones: str) -> str:
    return "".join(CHAR_OF[p] for p in phones)


TEXT = ["i want to go there", "you have two cats", "go to the park", "i have two dogs", "they went there too"]
LEXICON = Lexicon({
    "i": [pron("ay")], "want": [pron("w", "aa", "n", "t")], "to": [pron("t", "uw"), pron("t", "ah")],
    "two": [pron("t", "uw")], "too": [pron("t", "uw")], "go": [pron("g", "ow")], "there": [pron("dh", "eh", "r")],
    "they": [pron("dh", "ey")], "their": [pron("dh", "eh", "r")], "you": [pron("y", "uw")], "have": [pron("hh", "ae", "v")],
    "cats": [pron("k", "ae", "t", "s")], "the": [pron("dh", "ah")], "park": [pron("p", "aa", "r", "k")],
    "dogs": [pron("d", "ao", "g", "z")], "went": [pron("w", "eh", "n", "t")],
})


# a word list much longer than the text, as Debian's is, so a listed word unseen in the text is unlikely
WORD_LIST = sorted(LEXICON.prons) + [f"zz{chr(97 + i)}{chr(97 + j)}" for i in range(10) for j in range(10)]


def phonetic_lm() -> PhoneticWordLM:
    return PhoneticWordLM.from_text(TEXT, LEXICON, WordLM.from_text(TEXT, WORD_LIST))


def one_hot_frames(tok: PhoneTokenizer, phones: str) -> np.ndarray:
    """CTC log-probabilities that say ``phones`` clearly: each symbol for one frame, a blank between."""
    rows = []
    for symbol in phones:
        for i in (tok.index[symbol], tok.pad):
            row = np.full(len(tok), math.log(1e-4))
            row[i] = math.log(1 - 1e-4 * (len(tok) - 1))
            rows.append(row)
    return np.array(rows)


class PronunciationTest(unittest.TestCase):
    def test_every_arpabet_phone_is_one_distinct_character(self):
        self.assertEqual(len(set(CHAR_OF.values())), len(ARPABET))
        self.assertTrue(all(len(c) == 1 and c not in " ~" for c in CHAR_OF.values()))

    def test_the_debian_dictionary_reads_without_stress_and_keeps_alternates(self):
        cmu = read_cmudict()
        self.assertEqual(cmu["phone"][0], pron("f", "ow", "n"))
        self.assertGreaterEqual(len(cmu["read"]), 2)

    def test_possessives_take_the_regular_ending(self):
        self.assertEqual(possessive(pron("k", "ae", "t")), pron("k", "ae", "t", "s"))
        self.assertEqual(possessive(pron("d", "ao", "g")), pron("d", "ao", "g", "z"))
        self.assertEqual(possessive(pron("b", "ao", "s")), pron("b", "ao", "s", "ih", "z"))

    def test_festival_spells_out_words_the_dictionary_lacks(self):
        got = festival_letter_to_sound(["vanillaz", "zorbles"])  # "nil" inside a word is no part of the answer
        self.assertEqual(got["vanillaz"][0], CHAR_OF["v"])
        self.assertEqual(got["zorbles"][0], CHAR_OF["z"])
        self.assertEqual(got["zorbles"][-1], CHAR_OF["z"])

    def test_a_word_without_a_pronunciation_leaves_the_transcript_out(self):
        self.assertEqual(LEXICON.transcript("go there"), pron("g", "ow") + " " + pron("dh", "eh", "r"))
        self.assertIsNone(LEXICON.transcript("go qotd"))

    def test_the_tokenizer_round_trips_phones_and_word_boundaries(self):
        tok = PhoneTokenizer()
        text = LEXICON.transcript("you have two cats")
        self.assertEqual(tok.decode(tok.encode(text)), text)
        self.assertEqual(tok.decode([tok.pad, tok.bos] + tok.encode(text)), text)


class PhoneSearchTest(unittest.TestCase):
    def test_homophones_are_spelled_by_their_context(self):
        lm = phonetic_lm()
        said = LEXICON.transcript("i have two dogs")
        self.assertEqual(lm.spell(said), "i have two dogs")
        self.assertEqual(lm.spell(LEXICON.transcript("go to the park")), "go to the park")

    def test_the_word_after_a_homophone_can_choose_its_spelling(self):
        # alone, the sentence's end decides: only "too" ends one in the text; only "two" is followed by "dogs"
        lm, dogs = phonetic_lm(), pron("d", "ao", "g", "z")
        self.assertEqual(lm.spell(pron("t", "uw")), "too")
        self.assertEqual(lm.spell(f"{pron('t', 'uw')} {dogs}"), "two dogs")

    def test_an_unknown_pronunciation_is_left_out_and_the_next_word_spelled_without_its_context(self):
        lm, have, two = phonetic_lm(), pron("hh", "ae", "v"), pron("t", "uw")
        self.assertEqual(lm.spell(f"{have} {two}"), "have two")
        self.assertEqual(lm.spell(f"{have} {pron('z', 'z')} {two}"), "have too")  # "too": the one that ends a sentence

    def test_an_unknown_pronunciation_is_scaled_down(self):
        m = phonetic_lm().lm
        unscaled = WordLM(m.words, m.counts, m.histories, m.offsets, m.successors, m.pair_counts)
        self.assertAlmostEqual(m.p_unk, UNKNOWN_PRONUNCIATION_SCALE * unscaled.p_unk, places=15)

    def test_the_gzipped_form_searches_and_spells_identically(self):
        lm = phonetic_lm()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, PHONES_FILE)
            lm.save(path)
            with open(path, "rb") as f:
                first = f.read()
            lm.save(path)
            with open(path, "rb") as f:
                self.assertEqual(f.read(), first)  # deterministic bytes
            back = PhoneticWordLM.load(path, lm.spelled)
        said = LEXICON.transcript("i have two dogs")
        self.assertEqual(back.spell(said), lm.spell(said))
        self.assertEqual(back.lm.score_text(said), lm.lm.score_text(said))
        self.assertEqual(back.lm.unknown_scale, UNKNOWN_PRONUNCIATION_SCALE)

    def test_alternate_pronunciations_share_their_words_counts(self):
        lm = phonetic_lm()
        reduced, full = lm.lm.history_of(pron("t", "ah")), lm.lm.history_of(pron("t", "uw"))
        self.assertEqual(lm.lm.counts[reduced], 2)  # "to", twice in the text
        self.assertEqual(lm.lm.counts[full], 5)  # "to" and "two" twice each, "too" once: the homophones' entry
        self.assertEqual(lm.spellings[pron("t", "ah")], ["to"])

    def test_the_search_reads_a_clear_phone_sequence_back_as_words(self):
        tok, lm = PhoneTokenizer(), phonetic_lm()
        said = LEXICON.transcript("you have two cats")
        best = ctc_prefix_beam(one_hot_frames(tok, said), tok, 4, 0.7, lm.lm, 0.35)[0]
        self.assertEqual(lm.spell(tok.decode(best.tokens)), "you have two cats")

    def test_the_word_lm_pulls_a_misheard_phone_onto_a_lexicon_word(self):
        tok, lm = PhoneTokenizer(), phonetic_lm()
        misheard = pron("g", "ow") + " " + pron("dh", "eh", "l")  # "go thel": "there" with one phone wrong
        frames = one_hot_frames(tok, misheard)
        r = tok.index[CHAR_OF["r"]]
        l_row = 2 * (len(misheard) - 1)
        frames[l_row, r] = math.log(0.2)  # the acoustic evidence leaves room for /r/
        best = ctc_prefix_beam(frames, tok, 8, 0.7, lm.lm, 0.35)[0]
        self.assertEqual(lm.spell(tok.decode(best.tokens)), "go there")


class FusedPhoneSearchTest(unittest.TestCase):
    """An unsure audio-visual chunk: its head leans a little to one last word, the lip reader clearly to another."""

    def setUp(self):
        self.tok, self.lm, self.chars = PhoneTokenizer(), phonetic_lm(), CharTokenizer()
        heard, seen = LEXICON.transcript("you have two cats"), LEXICON.transcript("you have two dogs")
        self.assertEqual(len(heard), len(seen))  # the same frames, one word apart
        self.av = np.logaddexp(math.log(0.55) + one_hot_frames(self.tok, heard),
                               math.log(0.45) + one_hot_frames(self.tok, seen))
        self.video = one_hot_frames(self.tok, seen)

    def test_the_audio_visual_head_alone_keeps_its_own_lean(self):
        best = phone_nbest(self.av, self.lm, self.chars, 8, 0.8, 0.5)[0]
        self.assertEqual(self.chars.decode(best.tokens), "you have two cats")

    def test_the_lip_reader_decides_what_the_audio_visual_head_is_unsure_of(self):
        fused = fused_phone_nbest(self.av, self.video, self.lm, self.chars, 8, 0.8, 0.5, 0.5)
        self.assertEqual(self.chars.decode(fused[0].tokens), "you have two dogs")
        self.assertIn("you have two cats", [self.chars.decode(e.tokens) for e in fused])

    def test_a_negligible_video_weight_ranks_as_the_audio_visual_head_alone(self):
        fused = fused_phone_nbest(self.av, self.video, self.lm, self.chars, 8, 0.8, 0.5, 1e-9)
        self.assertEqual(self.chars.decode(fused[0].tokens), "you have two cats")

    def test_each_entry_scores_its_sequence_under_both_heads(self):
        fused = fused_phone_nbest(self.av, self.video, self.lm, self.chars, 8, 0.8, 0.5, 0.5)
        searched = ctc_prefix_beam(self.av, self.tok, 8, 0.8, self.lm.lm, 0.5) + ctc_prefix_beam(self.video, self.tok, 8, 0.8, self.lm.lm, 0.5)
        for entry in fused:
            # one of the pooled phone transcripts that spell as the entry does carries its score
            scores = [on_av + 0.5 * on_video
                      for e in searched if self.lm.spell(self.tok.decode(e.tokens)) == self.chars.decode(entry.tokens)
                      for on_av, on_video in [(ctc_log_likelihoods(self.av, [e.tokens], self.tok.pad)[0],
                                               ctc_log_likelihoods(self.video, [e.tokens], self.tok.pad)[0])]]
            self.assertTrue(any(abs(entry.ctc - score) < 1e-9 for score in scores), self.chars.decode(entry.tokens))
        totals = [0.8 * e.ctc + 0.5 * e.words for e in fused]
        self.assertEqual(totals, sorted(totals, reverse=True))


if __name__ == "__main__":
    unittest.main()
