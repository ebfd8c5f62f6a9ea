"""Decoding tests: the CTC prefix scorer against brute-force enumeration of every alignment, and joint
greedy decoding on a tiny model."""

import itertools
import os
import sys
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nestcap_av.data import CharTokenizer  # noqa: E402
from nestcap_av.decoding import (  # noqa: E402
    DEFAULT_CTC_WEIGHT,
    CTCPrefixScorer,
    _empty_past,
    audio_ctc,
    beam_search,
    ctc_log_likelihoods,
    ctc_prefix_beam,
    greedy,
    mean_top_probability,
    parse_video_fusion,
    lm_scores,
    rescore,
)
from nestcap_av.model import AVModel  # noqa: E402
from tests.test_model import tiny  # noqa: E402

BLANK = 0


def collapse(path) -> tuple:
    out, prev = [], None
    for s in path:
        if s != prev and s != BLANK:
            out.append(s)
        prev = s
    return tuple(out)


def label_probabilities(x: np.ndarray) -> dict:
    """log P(labelling) for every labelling, by summing every alignment of T frames."""
    out: dict = {}
    for path in itertools.product(range(x.shape[1]), repeat=x.shape[0]):
        lab = collapse(path)
        out[lab] = np.logaddexp(out.get(lab, -np.inf), sum(x[t, s] for t, s in enumerate(path)))
    return out


class CTCPrefixScorerTests(unittest.TestCase):
    def test_prefix_and_final_scores_match_enumeration(self):
        rng = np.random.default_rng(3)
        x = np.log(rng.dirichlet(np.ones(4) * 0.7, 6))
        labels = label_probabilities(x)
        scorer = CTCPrefixScorer(x, BLANK)
        for h in [(1,), (2, 2), (1, 3), (3, 1, 3), (2, 2, 2), (1, 2, 3, 1)]:
            state = scorer.initial()
            for ch in h:
                # extend with several candidates at once, as decoding does, and follow this one
                state = dict(zip([1, 2, 3], scorer.extend(state, [1, 2, 3])))[ch]
            expected_prefix = np.logaddexp.reduce([v for k, v in labels.items() if k[: len(h)] == h])
            self.assertAlmostEqual(state.score, expected_prefix, places=9, msg=f"prefix {h}")
            self.assertAlmostEqual(scorer.final(state), labels.get(h, -np.inf), places=9, msg=f"final {h}")

    def test_a_one_frame_input(self):
        x = np.log(np.array([[0.5, 0.3, 0.2]]))
        scorer = CTCPrefixScorer(x, BLANK)
        a, b = scorer.extend(scorer.initial(), [1, 2])
        self.assertAlmostEqual(a.score, np.log(0.3))
        self.assertAlmostEqual(scorer.final(b), np.log(0.2))


def tiny_decoder(seed: int):
    """A tiny untrained model, its CTC output for random audio, an audio-only prefix and scale 0's LoRA."""
    torch.manual_seed(seed)
    tok = CharTokenizer()
    model = AVModel(tiny()).eval()
    with torch.no_grad():
        ctc = audio_ctc(model, model.audio(torch.randn(1, 16000) * 0.1))
        prefix = model.lm.emb(torch.tensor([[tok.bos, tok.tok("<asr>")]]))
    return model, tok, ctc, prefix, model.lora.for_scale(0)


def certain_ctc(tok: CharTokenizer, text: str) -> np.ndarray:
    """CTC log-probabilities certain of ``text``: each character's frame, then a blank, then blanks."""
    path = [s for c in text for s in (tok.encode(c)[0], BLANK)] + [BLANK] * 2
    forced = np.full((len(path), len(tok)), np.log(1e-6))
    forced[np.arange(len(path)), path] = 0.0
    return forced


class JointGreedyTests(unittest.TestCase):
    def test_weight_zero_is_the_lm_alone_and_ctc_can_change_the_result(self):
        model, tok, ctc, prefix, lora = tiny_decoder(0)
        with torch.no_grad():
            lm_only = greedy(model, tok, prefix, lora, 20)
            self.assertEqual(greedy(model, tok, prefix, lora, 20, ctc, 0.0), lm_only)
            # a CTC output that is certain of one transcript pulls joint decoding onto it
            forced = certain_ctc(tok, "ab")
            self.assertEqual(greedy(model, tok, prefix, lora, 20, forced, 0.9, candidates=len(tok)), "ab")


class BeamSearchTests(unittest.TestCase):
    def test_one_beam_is_greedy_and_a_certain_ctc_output_wins_with_several(self):
        model, tok, ctc, prefix, lora = tiny_decoder(1)
        with torch.no_grad():
            for weight in (0.0, 0.5):
                self.assertEqual(beam_search(model, tok, prefix, lora, 1, 20, ctc, weight),
                                 greedy(model, tok, prefix, lora, 20, ctc, weight))
            forced = certain_ctc(tok, "ab")
            self.assertEqual(beam_search(model, tok, prefix, lora, 4, 20, forced, 0.9, candidates=len(tok)), "ab")


class CTCLogLikelihoodTests(unittest.TestCase):
    def test_every_sequence_matches_enumeration_side_by_side(self):
        rng = np.random.default_rng(9)
        for frames in (1, 2, 4, 6):
            x = np.log(rng.dirichlet(np.ones(3), frames))  # blank and two labels
            labels = label_probabilities(x)
            sequences = [[], [1], [1, 1], [2, 1, 2], [1, 2, 1, 2]]
            got = ctc_log_likelihoods(x, sequences, BLANK)
            for sequence, value in zip(sequences, got):
                want = labels.get(tuple(sequence), -np.inf)
                if want == -np.inf:
                    self.assertEqual(value, -np.inf, f"{frames} frames, {sequence}: too few frames")
                else:
                    self.assertAlmostEqual(value, want, places=9, msg=f"{frames} frames, {sequence}")

    def test_no_frames_hold_only_the_empty_sequence(self):
        self.assertEqual(ctc_log_likelihoods(np.zeros((0, 3)), [[], [1]], BLANK), [0.0, -np.inf])

    def test_mean_top_probability_is_one_for_a_certain_head_and_lower_for_a_doubting_one(self):
        tok = CharTokenizer()
        self.assertAlmostEqual(mean_top_probability(certain_ctc(tok, "cat")), 1.0, places=3)
        self.assertAlmostEqual(mean_top_probability(np.log(np.full((4, 4), 0.25))), 0.25)


class VideoFusionSettingTests(unittest.TestCase):
    def test_weight_at_confidence_parses_and_bad_settings_say_why(self):
        self.assertEqual(tuple(parse_video_fusion("0.5@0.92")), (0.5, 0.92))
        for bad in ("0.5", "0@0.9", "0.5@1.5", "x@0.9", "0.5@0"):
            with self.assertRaisesRegex(ValueError, "video fusion"):
                parse_video_fusion(bad)


class CTCPrefixBeamTests(unittest.TestCase):
    def test_transcript_probabilities_match_enumeration_when_the_beam_keeps_everything(self):
        tok = CharTokenizer()
        a, b = tok.encode("a")[0], tok.encode("b")[0]
        rng = np.random.default_rng(4)
        small = np.log(rng.dirichlet(np.ones(3) * 3, 5))  # blank, a, b over 5 frames
        x = np.full((5, len(tok)), -30.0)  # every other symbol far below the pruning threshold
        x[:, [BLANK, a, b]] = small
        labels = label_probabilities(small)
        nbest = ctc_prefix_beam(x, tok, 500, 1.0)
        self.assertEqual(len(nbest), len(labels))
        for entry in nbest:
            key = tuple({a: 1, b: 2}[t] for t in entry.tokens)
            self.assertAlmostEqual(entry.ctc, labels[key], places=9, msg=f"transcript {key}")
        self.assertEqual([e.ctc for e in nbest], sorted((e.ctc for e in nbest), reverse=True))

    def test_a_certain_output_is_found_with_its_repeated_letters(self):
        tok = CharTokenizer()
        nbest = ctc_prefix_beam(certain_ctc(tok, "the apple"), tok, 4, 0.5)
        self.assertEqual(tok.decode(nbest[0].tokens), "the apple")
        self.assertAlmostEqual(nbest[0].ctc, 0.0, places=4)

    def test_the_word_lm_corrects_a_misspelling_the_ctc_head_prefers(self):
        from tests.test_wordlm import lm

        tok = CharTokenizer()
        path = [s for c in "the gaden" for s in (tok.encode(c)[0], tok.pad)] + [tok.pad] * 4
        x = np.full((len(path), len(tok)), 0.4 / (len(tok) - 1))
        x[np.arange(len(path)), path] = 0.6
        ctc = np.log(x)
        self.assertEqual(tok.decode(ctc_prefix_beam(ctc, tok, 8, 0.5)[0].tokens), "the gaden")
        fused = ctc_prefix_beam(ctc, tok, 8, 0.5, lm(), 0.5)
        self.assertEqual(tok.decode(fused[0].tokens), "the garden")


class RescoringTests(unittest.TestCase):
    def test_batched_scores_equal_one_transcript_at_a_time(self):
        model, tok, _, prefix, lora = tiny_decoder(2)
        transcripts = [tok.encode("ab c"), [], tok.encode("a")]
        with torch.no_grad():
            batched = lm_scores(model, prefix, lora, transcripts, tok.eos)
            for t, got in zip(transcripts, batched):
                logits, past, _, _ = model.lm(prefix, _empty_past(model.cfg, 1), lora)
                want = 0.0
                for target in t + [tok.eos]:
                    want += float(torch.log_softmax(logits[0, -1].double(), -1)[target])
                    logits, past, _, _ = model.lm(model.lm.emb(torch.tensor([[target]])), past, lora)
                self.assertAlmostEqual(got, want, places=4)

    def test_the_lm_decides_between_transcripts_the_ctc_head_scores_alike(self):
        model, tok, _, prefix, lora = tiny_decoder(3)
        from nestcap_av.decoding import NBestEntry

        nbest = [NBestEntry(tok.encode("ab"), -1.0, 0.0), NBestEntry(tok.encode("ba"), -1.0, 0.0)]
        with torch.no_grad():
            lm = lm_scores(model, prefix, lora, [e.tokens for e in nbest], tok.eos)
            self.assertEqual(rescore(model, tok, prefix, lora, nbest, 0.5, 0.0), nbest[int(np.argmax(lm))].tokens)
            # with the LM's weight at 0 the first of equals wins
            self.assertEqual(rescore(model, tok, prefix, lora, nbest, 0.9999999, 0.0), nbest[0].tokens)


class WeightChoiceTests(unittest.TestCase):
    SWEEP = {"wer": {"0.3/0": {"s0/asr/clean": 50.0, "s3/asr/clean": 70.0, "ctc/clean": 1.0, "search/clean": 1.0},
                     "0.5/0": {"s0/asr/clean": 52.0, "s3/asr/clean": 60.0, "ctc/clean": 99.0},
                     "0.5/0.2": {"s0/asr/clean": 40.0, "s3/asr/clean": 58.0, "ctc/clean": 99.0},
                     "0.3/0.2": {"s0/asr/clean": 45.0, "s3/asr/clean": 56.0, "ctc/clean": 99.0}}}

    def test_auto_takes_the_pair_with_the_lowest_mean_development_wer_and_ignores_the_undecoded_rows(self):
        from nestcap_av.evaluate import chosen_weights

        self.assertEqual(chosen_weights("auto", "auto", self.SWEEP), (0.5, 0.2))
        self.assertEqual(chosen_weights("auto", "0", self.SWEEP), (0.5, 0.0))
        self.assertEqual(chosen_weights("0.3", "auto", self.SWEEP), (0.3, 0.2))

    def test_given_weights_are_kept_and_no_sweep_falls_back_to_the_defaults(self):
        from nestcap_av.evaluate import chosen_weights

        self.assertEqual(chosen_weights("0.2", "0.1", self.SWEEP), (0.2, 0.1))
        self.assertEqual(chosen_weights("auto", "auto", None), (DEFAULT_CTC_WEIGHT, 0.0))


if __name__ == "__main__":
    unittest.main()
