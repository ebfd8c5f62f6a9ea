"""A quick development check of a run's CTC heads, to compare candidate runs in minutes instead of a full
evaluation (EVAL.md takes about 25 minutes on 2 cores).

    /usr/bin/python3 -m nestcap_av.devcheck --run work/runs/mtskp12 [--corpus work/corpus] [--search]

Utterances: the training split's first ones (how well the run fits what it trained on), then development
utterances of ``eval_seen`` (240-299 by default) and of ``eval_heldout`` (40-79), which no table of the report
uses (the report takes the first ones; the weight sweep 240-259).  Rows: each head the run has (audio, video,
audio-visual), greedy, clean and in babble of the same split at 10 and 0 dB (the video head hears no noise);
with ``--search``, the CTC + word-LM search over each audio head (no LM rescoring) too, and where the run has
a phone head, its search over the lexicon's pronunciations, spelled (phones.py).  Cells: CER / WER %.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from .corpus import normalise
from .data import CharTokenizer, Split, add_noise, babble
from .decoding import audio_ctc, audio_visual_ctc, ctc_greedy, ctc_prefix_beam
from .evaluate import edit_distance
from .export import load_run
from .model import av_ctc_log_probs, ctc_log_probs
from .phones import Lexicon, PhoneticWordLM, PhoneTokenizer
from .wordlm import WordLM

CONDITIONS: tuple[tuple[str, float | None], ...] = (("clean", None), ("10dB", 10.0), ("0dB", 0.0))


class ErrorCounts:
    def __init__(self) -> None:
        self.char_errors = self.chars = self.word_errors = self.words = 0

    def add(self, reference: str, hypothesis: str) -> None:
        self.char_errors += edit_distance(list(reference), list(hypothesis))
        self.chars += len(reference)
        self.word_errors += edit_distance(reference.split(), hypothesis.split())
        self.words += len(reference.split())

    def cell(self) -> str:
        return f"{100 * self.char_errors / max(1, self.chars):.1f} / {100 * self.word_errors / max(1, self.words):.1f}"


@torch.no_grad()
def check_range(model, tok: CharTokenizer, split: Split, first: int, count: int, word_lm: WordLM | None,
                ctc_weight: float, word_weight: float, beams: int,
                phonetic: PhoneticWordLM | None = None, lexicon: Lexicon | None = None) -> dict[str, ErrorCounts]:
    """Error counts per row ("<head>, <condition>") over utterances ``first`` .. ``first + count - 1``."""
    rows: dict[str, ErrorCounts] = {}
    ptok = PhoneTokenizer()

    def add(row: str, reference: str, hypothesis: str) -> None:
        rows.setdefault(row, ErrorCounts()).add(reference, normalise(hypothesis))

    for i in range(first, min(first + count, len(split))):
        reference = normalise(split.rows[i]["transcript"])
        fv = model.video(torch.from_numpy(split.frames(i).astype(np.float32))[None])
        video_log_probs = ctc_log_probs(model.ctc_v, fv)[0].numpy()
        add("video, clean", reference, ctc_greedy(video_log_probs, tok))
        if word_lm is not None:
            best = ctc_prefix_beam(video_log_probs.astype(np.float64), tok, beams, ctc_weight, word_lm, word_weight)[0]
            add("video search, clean", reference, tok.decode(best.tokens))
        if model.ctc_vp is not None:  # cells of the greedy row count phones (as characters) and pronunciations
            phone_log_probs = ctc_log_probs(model.ctc_vp, fv)[0].numpy().astype(np.float64)
            reference_phones = lexicon.transcript(reference) if lexicon is not None else None
            if reference_phones:
                rows.setdefault("video phones, clean", ErrorCounts()).add(
                    reference_phones, ctc_greedy(phone_log_probs, ptok))
            if phonetic is not None and word_lm is not None:
                best = ctc_prefix_beam(phone_log_probs, ptok, beams, ctc_weight, phonetic.lm, word_weight)[0]
                add("video phone search, clean", reference, phonetic.spell(ptok.decode(best.tokens)))
        for name, snr in CONDITIONS:
            pcm = split.pcm(i)
            if snr is not None:  # seeded by the utterance, so every run hears the same noise
                pcm = add_noise(pcm, babble(np.random.default_rng(i), split, len(pcm), i), snr)
            fa = model.audio(torch.from_numpy(pcm.astype(np.float32))[None])
            heads = {"audio": audio_ctc(model, fa)}
            if model.ctc_av is not None:
                heads["audio-visual"] = audio_visual_ctc(model, fa, fv)
            for head, log_probs in heads.items():
                add(f"{head}, {name}", reference, ctc_greedy(log_probs, tok))
                if word_lm is not None:
                    best = ctc_prefix_beam(log_probs, tok, beams, ctc_weight, word_lm, word_weight)[0]
                    add(f"{head} search, {name}", reference, tok.decode(best.tokens))
            if model.ctc_p is not None and phonetic is not None and word_lm is not None:
                phone_heads = {"phone": ctc_log_probs(model.ctc_p, fa)[0]}
                if model.ctc_avp is not None:
                    phone_heads["audio-visual phone"] = av_ctc_log_probs(model, fa, fv, phones=True)[0]
                for head, log_probs in phone_heads.items():
                    best = ctc_prefix_beam(log_probs.numpy().astype(np.float64), ptok, beams, ctc_weight, phonetic.lm,
                                           word_weight)[0]
                    add(f"{head} search, {name}", reference, phonetic.spell(ptok.decode(best.tokens)))
    return rows


def table(results: dict[str, dict[str, ErrorCounts]]) -> list[str]:
    names = list(results)
    rows = list(dict.fromkeys(row for counts in results.values() for row in counts))
    lines = ["| head, condition | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for row in rows:
        cells = [results[name][row].cell() if row in results[name] else "–" for name in names]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True)
    ap.add_argument("--corpus", default="work/corpus")
    ap.add_argument("--train", type=int, default=120, help="training utterances, from the first")
    ap.add_argument("--seen-first", type=int, default=240)
    ap.add_argument("--seen", type=int, default=60, help="eval_seen utterances from --seen-first")
    ap.add_argument("--heldout-first", type=int, default=40)
    ap.add_argument("--heldout", type=int, default=40, help="eval_heldout utterances from --heldout-first")
    ap.add_argument("--search", action="store_true", help="also the CTC + word-LM search (no LM rescoring)")
    ap.add_argument("--ctc-weight", type=float, default=0.7)
    ap.add_argument("--word-weight", type=float, default=0.35)
    ap.add_argument("--beams", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model, info = load_run(a.run)
    tok = CharTokenizer()
    roi = info["model"]["roi"]
    word_lm = WordLM.from_corpus(a.corpus) if a.search else None
    phonetic = None
    lexicon = Lexicon.for_corpus(a.corpus) if model.ctc_p is not None or model.ctc_vp is not None else None
    if lexicon is not None and word_lm is not None:
        with open(f"{a.corpus}/lm_text.txt", encoding="utf-8") as f:
            phonetic = PhoneticWordLM.from_text(f.read().splitlines(), lexicon, word_lm)
    ranges = [("train", "train", 0, a.train), ("seen", "eval_seen", a.seen_first, a.seen),
              ("held-out", "eval_heldout", a.heldout_first, a.heldout)]
    results: dict[str, dict[str, ErrorCounts]] = {}
    for name, split_name, first, count in ranges:
        split = Split(a.corpus, split_name, roi)
        last = min(first + count, len(split)) - 1
        results[f"{name} {first}–{last}"] = check_range(model, tok, split, first, count, word_lm, a.ctc_weight,
                                                        a.word_weight, a.beams, phonetic, lexicon)
    print(f"devcheck of {a.run} on {a.corpus} (CER / WER %)\n")
    print("\n".join(table(results)))


if __name__ == "__main__":
    main()
