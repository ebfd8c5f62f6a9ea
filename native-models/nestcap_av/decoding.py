"""Greedy and beam-search decoding with the KV cache, on the LM alone or jointly with CTC (the hybrid
CTC-attention decoding of Watanabe et al., 2017), and with the look-ahead word LM (wordlm.py).

The audio encoder's auxiliary CTC head sees every 25 Hz frame at full rate, before any Matryoshka
compression; the LM sees the compressed tokens and carries the language prior.  Scoring each
candidate prefix by ``(1 - w) * log p_lm(prefix) + w * log p_ctc(prefix)`` lets the CTC alignment veto
the LM's fluent but unfaithful continuations, which is what a small LM on few tokens produces most.
The word LM adds ``lambda * log p_words``, which pulls plausible misspellings onto lexicon words.
The engine (electron/engine/ctc-prefix-scorer.ts, word-lm.ts and recognizer.ts) implements the same
scores and search; this module is the reference the evaluation uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from .config import NO_REPEAT_NGRAM
from .data import SPECIALS, CharTokenizer
from .model import av_ctc_log_probs, ctc_log_probs
from .phones import PhoneTokenizer
from .wordlm import EMPTY_WORD_PENALTY

NEG = -1e30
DEFAULT_CTC_WEIGHT = 0.5  # the evaluation tunes it on development utterances (--ctc-weight auto) and writes it to the manifest
JOINT_CANDIDATES = 6
DECODING_METHODS = ("rescore", "greedy", "beam")  # the first is the default, as in the engine


def audio_ctc(model, feats: torch.Tensor) -> np.ndarray:
    """[2T, V] log-probabilities of the audio CTC head for one utterance, as the engine reads them."""
    return ctc_log_probs(model.ctc_a, feats)[0].numpy().astype(np.float64)


def audio_visual_ctc(model, fa: torch.Tensor, fv: torch.Tensor) -> np.ndarray:
    """[2T, V] log-probabilities of the audio-visual CTC head (T the shorter stream), as the engine reads them."""
    return av_ctc_log_probs(model, fa, fv)[0].numpy().astype(np.float64)


def ctc_greedy(log_probs: np.ndarray, tok: CharTokenizer) -> str:
    """Best path, repeats merged and blanks dropped: what the CTC head says without any LM."""
    best = log_probs.argmax(-1)
    keep = [int(s) for i, s in enumerate(best) if s != tok.pad and (i == 0 or s != best[i - 1])]
    return tok.decode(keep)


class CTCPrefixState:
    """Forward variables of one prefix: log P(prefix, frame t ends in a non-blank | blank)."""

    __slots__ = ("r_n", "r_b", "score", "last")

    def __init__(self, r_n: np.ndarray, r_b: np.ndarray, score: float, last: int):
        self.r_n, self.r_b, self.score, self.last = r_n, r_b, score, last


class CTCPrefixScorer:
    def __init__(self, log_probs: np.ndarray, blank: int):
        self.x = log_probs
        self.blank = blank

    def initial(self) -> CTCPrefixState:
        r_b = np.cumsum(self.x[:, self.blank])
        return CTCPrefixState(np.full(len(r_b), NEG), r_b, 0.0, -1)

    def extend(self, g: CTCPrefixState, chars: list[int]) -> list[CTCPrefixState]:
        """Prefix probabilities of ``g + c`` for every ``c`` in ``chars``.

        The recurrences r_n[t] = (r_n[t-1] + phi[t-1]) x_c[t] and r_b[t] = (r_b[t-1] + r_n[t-1]) x_blank[t] are
        linear, so each is a running log-sum-exp after dividing out the running product of its frame
        probabilities: vectorised over frames and characters, no Python loop over time.
        """
        c = np.asarray(chars)
        xc = self.x[:, c]  # [T, K]
        xb = self.x[:, self.blank][:, None]
        both = np.logaddexp(g.r_n, g.r_b)
        # a repeated character needs a blank in between, so only the blank-ending paths continue it
        phi = np.where((c == g.last)[None, :], g.r_b[:, None], both[:, None])  # [T, K]
        first = xc[0] if g.last < 0 else np.full(len(c), NEG)
        log_pc = np.cumsum(xc, 0)
        terms = np.concatenate([(first - log_pc[0])[None], phi[:-1] - log_pc[:-1]], 0)
        r_n = log_pc + np.logaddexp.accumulate(terms, 0)
        log_pb = np.cumsum(np.broadcast_to(xb, xc.shape), 0)
        terms_b = np.concatenate([np.full((1, len(c)), NEG), r_n[:-1] - log_pb[:-1]], 0)
        r_b = log_pb + np.logaddexp.accumulate(terms_b, 0)
        psi = np.logaddexp(first, np.logaddexp.reduce(phi[:-1] + xc[1:], 0)) if len(xc) > 1 else first
        return [CTCPrefixState(r_n[:, k], r_b[:, k], float(psi[k]), int(c[k])) for k in range(len(c))]

    def final(self, g: CTCPrefixState) -> float:
        """log P(exactly this transcript) — the score of ending here."""
        return float(np.logaddexp(g.r_n[-1], g.r_b[-1]))


def banned_next(tokens: list[int], n: int) -> set[int]:
    """Tokens that would repeat an n-gram already in ``tokens`` (the engine's bannedNext)."""
    if n < 2 or len(tokens) < n - 1:
        return set()
    tail = tokens[len(tokens) - (n - 1):]
    return {tokens[i + n - 1] for i in range(len(tokens) - n + 1) if tokens[i:i + n - 1] == tail}


@dataclass
class Hypothesis:
    tokens: list[int]
    log_probability: float  # the LM's, summed over the tokens
    score: float  # what search ranks by: the sum of the steps' gains
    ctc: CTCPrefixState | None
    words: object | None  # the word LM's WordState


def _symbol_score(word_lm, tok: CharTokenizer, state, i: int):
    """The word LM's log-score and next state for token ``i``.  Special tokens other than eos are no
    transcript the word LM can score, and get its penalty for a space without a word."""
    if i == tok.eos:
        return word_lm.sentence_end(state), state
    if i >= len(SPECIALS):
        c = tok.vocab[i]
        return word_lm.word_end(state) if c == " " else word_lm.char(state, c)
    return EMPTY_WORD_PENALTY, state


class Scoring:
    """What ranks the LM's candidates besides the LM: the CTC prefix score and the word LM, either absent."""

    def __init__(self, tok: CharTokenizer, ctc: np.ndarray | None, weight: float, word_lm, word_weight: float,
                 candidates: int, no_repeat_ngram: int):
        self.tok = tok
        self.scorer = CTCPrefixScorer(ctc, tok.pad) if ctc is not None and weight > 0 else None
        self.weight = weight
        self.word_lm = word_lm if word_lm is not None and word_weight > 0 else None
        self.word_weight = word_weight
        self.candidates = candidates
        self.no_repeat_ngram = no_repeat_ngram

    def initial(self) -> Hypothesis:
        return Hypothesis([], 0.0, 0.0, self.scorer.initial() if self.scorer else None,
                          self.word_lm.start() if self.word_lm else None)

    def best(self, logits: torch.Tensor, hyp: Hypothesis, count: int) -> list[Hypothesis]:
        """The best ``count`` extensions of ``hyp`` by this step's gain (the engine's #candidates): the LM's
        log-probability, or (1 - w) log p_LM + w (the change in log p_CTC) over the LM's top candidates,
        plus the word LM's weight times its score."""
        tok = self.tok
        lp = torch.log_softmax(logits.double(), -1)
        banned = banned_next(hyp.tokens, self.no_repeat_ngram)
        if banned:
            lp[list(banned)] = float("-inf")
        pool = max(count, self.candidates if self.scorer or self.word_lm else 0)
        top = [int(i) for i in torch.topk(lp, min(pool, len(lp))).indices if lp[i] > float("-inf")]
        gain = {i: float(lp[i]) for i in top}
        ctc_next: dict = {i: None for i in top}
        if self.scorer is not None and hyp.ctc is not None:
            chars = [i for i in top if i != tok.eos]
            ctc_next.update(zip(chars, self.scorer.extend(hyp.ctc, chars)) if chars else [])
            for i in top:
                step = self.scorer.final(hyp.ctc) if i == tok.eos else ctc_next[i].score
                gain[i] = (1 - self.weight) * gain[i] + self.weight * (step - hyp.ctc.score)
        words_next: dict = {i: None for i in top}
        if self.word_lm is not None and hyp.words is not None:
            for i in top:
                d, words_next[i] = _symbol_score(self.word_lm, tok, hyp.words, i)
                gain[i] += self.word_weight * d
        ranked = sorted(top, key=lambda i: -gain[i])[:count]
        return [Hypothesis(hyp.tokens + [i], hyp.log_probability + float(lp[i]), hyp.score + gain[i], ctc_next[i],
                           words_next[i]) for i in ranked]


def _empty_past(cfg, batch: int) -> torch.Tensor:
    return torch.zeros(cfg.lm_layers, 2, batch, cfg.lm_heads, 0, cfg.lm_dim // cfg.lm_heads)


@torch.no_grad()
def greedy(model, tok: CharTokenizer, prefix: torch.Tensor, lora, max_len: int = 120, ctc: np.ndarray | None = None,
           weight: float = 0.0, candidates: int = JOINT_CANDIDATES, no_repeat_ngram: int = NO_REPEAT_NGRAM,
           word_lm=None, word_weight: float = 0.0) -> str:
    """Greedy decoding.  With ``ctc`` and ``weight`` > 0, on the joint score: each step takes the LM's top
    ``candidates`` next tokens and keeps the one whose prefix has the best weighted LM + CTC log-probability
    (eos is scored by CTC as the transcript ending there).  With ``word_lm`` and ``word_weight`` > 0, its
    look-ahead score is added at ``word_weight`` (shallow fusion)."""
    scoring = Scoring(tok, ctc, weight, word_lm, word_weight, candidates, no_repeat_ngram)
    logits, past, _, _ = model.lm(prefix, _empty_past(model.cfg, 1), lora)
    hyp = scoring.initial()
    while len(hyp.tokens) < max_len:
        choice = scoring.best(logits[0, -1], hyp, 1)
        if not choice:
            break
        hyp = choice[0]
        if hyp.tokens[-1] == tok.eos:
            break
        logits, past, _, _ = model.lm(model.lm.emb(torch.tensor([[hyp.tokens[-1]]])), past, lora)
    return tok.decode(hyp.tokens)


@torch.no_grad()
def beam_search(model, tok: CharTokenizer, prefix: torch.Tensor, lora, beams: int, max_len: int = 120,
                ctc: np.ndarray | None = None, weight: float = 0.0, candidates: int = JOINT_CANDIDATES,
                no_repeat_ngram: int = NO_REPEAT_NGRAM, word_lm=None, word_weight: float = 0.0) -> str:
    """Beam search as the engine runs it (recognizer.ts #beamSearch): the beams as the LM's batch, each
    proposing its best ``beams`` extensions; finished transcripts are set aside until there are ``beams``
    of them, and the best by score per token wins."""
    scoring = Scoring(tok, ctc, weight, word_lm, word_weight, candidates, no_repeat_ngram)
    logits, past, _, _ = model.lm(prefix, _empty_past(model.cfg, 1), lora)
    live, finished = [scoring.initial()], []
    rows = logits[:, -1]
    for _ in range(max_len):
        proposals = [(parent, h) for parent, hyp in enumerate(live) for h in scoring.best(rows[parent], hyp, beams)]
        proposals.sort(key=lambda ph: -ph[1].score)
        nxt, parents = [], []
        for parent, h in proposals:
            if len(nxt) == beams:
                break
            if h.tokens[-1] == tok.eos:
                finished.append(h)
            else:
                nxt.append(h)
                parents.append(parent)
        live = nxt
        if not live or len(finished) >= beams:
            break
        embeds = model.lm.emb(torch.tensor([[h.tokens[-1]] for h in live]))
        logits, past, _, _ = model.lm(embeds, past[:, :, parents], lora)
        rows = logits[:, -1]
    pool = finished or live
    best = pool[0]
    for h in pool[1:]:
        if h.score / len(h.tokens) > best.score / len(best.tokens):
            best = h
    return tok.decode(best.tokens)


# ------------------------------------------------------------------------------------------------------------
# CTC prefix beam search with the word LM, its N-best rescored by the LM (attention rescoring, as in WeNet).
#
# The decoder-driven searches above call the LM once per character (or per draft) and only score the LM's
# own top candidates, so a weak LM can keep the right character out of reach; and 8 beams cost about five
# times greedy decoding.  Here the CTC head and the word LM search alone, frame by frame, and the LM runs
# once over the prefix and once, batched, over the N best transcripts.  Each transcript's final score is the
# same combination the joint searches rank by: (1 - w) log p_LM + w log p_CTC + lambda log p_words.

CTC_BEAM_PRUNE = -8.0  # a character less likely than e^-8 at a frame is not proposed there
NEG_INF = float("-inf")


def log_add(a: float, b: float) -> float:
    """log(e^a + e^b), written out as the engine computes it (logAddExp in ctc-prefix-scorer.ts)."""
    if a < b:
        a, b = b, a
    if b == NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))


@dataclass
class CTCBeam:
    """One prefix of CTC prefix beam search: log P(prefix) over the frames so far, split by whether the
    last frame was a blank; the word LM's state and summed score for the prefix."""

    tokens: tuple
    blank: float
    label: float
    words: object | None
    word_score: float

    @property
    def ctc(self) -> float:
        return log_add(self.blank, self.label)


@dataclass
class NBestEntry:
    tokens: list[int]
    ctc: float  # log P_CTC(transcript)
    words: float  # the word LM's log-score of the transcript, its end included (0 without a word LM)


def ctc_prefix_beam(log_probs: np.ndarray, tok: CharTokenizer, beams: int, weight: float, word_lm=None,
                    word_weight: float = 0.0) -> list[NBestEntry]:
    """Frame-synchronous CTC prefix beam search (Hannun et al., 2014) ranked by ``weight * log p_CTC +
    word_weight * log p_words``; the ``beams`` best transcripts, best first.  At each frame every prefix
    may stay (a blank, or its last character repeated) or grow by a character whose log-probability there
    is above CTC_BEAM_PRUNE; prefixes reached several ways merge.  The engine's ctcPrefixBeamSearch is the
    same algorithm, in the same order (a parity test compares them)."""
    use_words = word_lm is not None and word_weight > 0
    first_char = len(SPECIALS)
    blank = tok.pad
    live = [CTCBeam((), 0.0, NEG_INF, word_lm.start() if use_words else None, 0.0)]
    word_steps: dict = {}  # (prefix, character) -> the word LM's (score, state): prefixes last many frames

    def word_step(beam: CTCBeam, c: int):
        key = (beam.tokens, c)
        if key not in word_steps:
            word_steps[key] = _symbol_score(word_lm, tok, beam.words, c)
        return word_steps[key]

    def rank(beam: CTCBeam) -> float:
        return weight * beam.ctc + word_weight * beam.word_score

    for row in log_probs:
        row = [float(v) for v in row]
        grown = [c for c in range(first_char, len(row)) if row[c] > CTC_BEAM_PRUNE]
        merged: dict = {}

        def add(tokens: tuple, blank_p: float, label_p: float, words, word_score: float) -> None:
            seen = merged.get(tokens)
            if seen is None:
                merged[tokens] = CTCBeam(tokens, blank_p, label_p, words, word_score)
            else:
                seen.blank, seen.label = log_add(seen.blank, blank_p), log_add(seen.label, label_p)

        for beam in live:
            total = beam.ctc
            last = beam.tokens[-1] if beam.tokens else -1
            add(beam.tokens, total + row[blank], beam.label + row[last] if last >= 0 else NEG_INF, beam.words,
                beam.word_score)
            for c in grown:
                # a repeated character is a new one only after a blank
                via = beam.blank if c == last else total
                if via > NEG_INF:
                    score, state = word_step(beam, c) if use_words else (0.0, None)
                    add(beam.tokens + (c,), NEG_INF, via + row[c], state, beam.word_score + score)
        live = sorted(merged.values(), key=rank, reverse=True)[:beams]
    out = []
    for beam in live:
        words = beam.word_score + word_lm.sentence_end(beam.words) if use_words else 0.0
        out.append(NBestEntry(list(beam.tokens), beam.ctc, words))
    out.sort(key=lambda e: -(weight * e.ctc + word_weight * e.words))
    return out


def phone_nbest(log_probs: np.ndarray, phonetic, tok: CharTokenizer, beams: int, weight: float,
                word_weight: float) -> list[NBestEntry]:
    """The phone head's N best for rescoring: CTC prefix beam search over its output with the pronunciation word
    LM (phones.PhoneticWordLM), each transcript spelled and written in ``tok``'s character ids, its CTC and
    word scores the phone search's.  Homophones that spell alike keep the first (best) entry.  The engine
    (electron/engine/phone-search.ts) does the same."""
    return spelled_nbest(ctc_prefix_beam(log_probs, PhoneTokenizer(), beams, weight, phonetic.lm, word_weight),
                         phonetic, tok)


def spelled_nbest(entries: list[NBestEntry], phonetic, tok: CharTokenizer) -> list[NBestEntry]:
    """Phone transcripts spelled, in ``tok``'s ids, in their order; of those that spell alike, the first."""
    ptok = PhoneTokenizer()
    out, seen = [], set()
    for entry in entries:
        text = phonetic.spell(ptok.decode(entry.tokens))
        if text not in seen:
            seen.add(text)
            out.append(NBestEntry(tok.encode(text), entry.ctc, entry.words))
    return out


def ctc_log_likelihoods(log_probs: np.ndarray, label_sequences: list[list[int]], blank: int) -> list[float]:
    """log P_CTC(labels | log_probs) of each label sequence: the forward algorithm (Graves et al., 2006) over
    every alignment, in float64, the sequences side by side; NEG_INF where the frames are too few for one.
    The engine's ctcLogLikelihood is the same, a sequence at a time."""
    frames = len(log_probs)
    if frames == 0:
        return [0.0 if not labels else NEG_INF for labels in label_sequences]
    # each sequence as its CTC states: blank, label, blank, ..., blank; padded with blanks past its end, where
    # nothing it reads comes from (the states only move forward)
    width = 2 * max((len(labels) for labels in label_sequences), default=0) + 1
    ext = np.full((len(label_sequences), width), blank)
    for n, labels in enumerate(label_sequences):
        ext[n, 1:2 * len(labels):2] = labels
    # a label may be reached from two states back, past a blank, unless it repeats the label there
    skip = np.zeros(ext.shape, bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    alpha = np.full(ext.shape, -np.inf)
    alpha[:, :2] = log_probs[0][ext[:, :2]]
    step, jump = np.full(ext.shape, -np.inf), np.full(ext.shape, -np.inf)
    for t in range(1, frames):
        step[:, 1:] = alpha[:, :-1]
        jump[:, 2:] = np.where(skip[:, 2:], alpha[:, :-2], -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, step), jump) + log_probs[t][ext]
    ends = np.array([2 * len(labels) for labels in label_sequences])
    last = alpha[np.arange(len(ext)), ends]
    before = np.where(ends > 0, alpha[np.arange(len(ext)), np.maximum(ends - 1, 0)], -np.inf)
    return [float(v) if np.isfinite(v) else NEG_INF for v in np.logaddexp(last, before)]


def mean_top_probability(log_probs: np.ndarray) -> float:
    """How sure a CTC head is of a chunk: the mean over frames of its likeliest symbol's probability."""
    return float(np.mean(np.exp(np.max(log_probs, axis=-1)))) if len(log_probs) else 1.0


class VideoFusion(NamedTuple):
    """Where the audio-visual phone head is unsure (``mean_top_probability`` below ``below_confidence``), its N
    best and the lip reader's are pooled and ranked by ``log P_AV + weight * log P_video`` of each pronunciation
    sequence.  Frame by frame the two heads' spikes fall at different frames, so a product of their frames hurts;
    the sequence's probability under each head does not depend on where its spikes fall.  Clean audio keeps
    the audio-visual head alone: there the lip reader, a far worse recogniser, only adds errors."""

    weight: float
    below_confidence: float

    def to_json(self) -> dict:
        return {"weight": self.weight, "below_confidence": self.below_confidence}


def parse_video_fusion(text: str) -> VideoFusion:
    """``WEIGHT@CONFIDENCE``, e.g. ``0.5@0.92``."""
    try:
        weight, below = (float(part) for part in text.split("@"))
    except ValueError:
        raise ValueError(f"video fusion {text!r} is not WEIGHT@CONFIDENCE, e.g. 0.5@0.92") from None
    if not (weight > 0 and math.isfinite(weight)) or not 0 < below <= 1:
        raise ValueError(f"video fusion {text!r}: the weight must be above 0 and the confidence in (0, 1]")
    return VideoFusion(weight, below)


def fused_phone_nbest(av_log_probs: np.ndarray, video_log_probs: np.ndarray, phonetic, tok: CharTokenizer,
                      beams: int, weight: float, word_weight: float, video_weight: float) -> list[NBestEntry]:
    """The audio-visual phone head's N best and the video phone head's, pooled (the first of equal phone
    transcripts) and ranked by ``weight * (log P_AV + video_weight * log P_video) + word_weight * log p_words``
    (both over the frames the two have in common), then spelled as ``phone_nbest`` spells; each entry's CTC
    score is that fused sum.  The engine's fusedPhoneNBest is the same."""
    ptok = PhoneTokenizer()
    frames = min(len(av_log_probs), len(video_log_probs))
    av, video = av_log_probs[:frames], video_log_probs[:frames]
    pooled: dict[tuple, NBestEntry] = {}
    for entry in (ctc_prefix_beam(av, ptok, beams, weight, phonetic.lm, word_weight)
                  + ctc_prefix_beam(video, ptok, beams, weight, phonetic.lm, word_weight)):
        pooled.setdefault(tuple(entry.tokens), entry)
    entries = list(pooled.values())
    sequences = [e.tokens for e in entries]
    scores = zip(ctc_log_likelihoods(av, sequences, ptok.pad), ctc_log_likelihoods(video, sequences, ptok.pad))
    fused = [NBestEntry(e.tokens, on_av + video_weight * on_video, e.words) for e, (on_av, on_video) in zip(entries, scores)]
    fused.sort(key=lambda e: -(weight * e.ctc + word_weight * e.words))  # stable: equals keep the pooled order
    return spelled_nbest(fused, phonetic, tok)


@torch.no_grad()
def lm_scores(model, prefix: torch.Tensor, lora, transcripts: list[list[int]], eos: int) -> list[float]:
    """log p_LM(transcript, then eos | prefix) of each transcript, in one batched call after the prefix
    (right-padded: a causal LM's scores of a position never see the positions after it)."""
    logits, past, _, _ = model.lm(prefix, _empty_past(model.cfg, 1), lora)
    first = torch.log_softmax(logits[0, -1].double(), -1)
    targets = [t + [eos] for t in transcripts]
    longest = max(len(t) for t in transcripts)
    if longest == 0:
        return [float(first[eos])] * len(transcripts)
    fed = torch.tensor([t + [eos] * (longest - len(t)) for t in transcripts])
    lg, _, _, _ = model.lm(model.lm.emb(fed), past.repeat(1, 1, len(transcripts), 1, 1, 1), lora)
    rows = torch.log_softmax(lg.double(), -1)
    return [float(first[t[0]]) + sum(float(rows[b, i, t[i + 1]]) for i in range(len(t) - 1))
            for b, t in enumerate(targets)]


def rescore(model, tok: CharTokenizer, prefix: torch.Tensor, lora, nbest: list[NBestEntry], weight: float,
            word_weight: float) -> list[int]:
    """The N-best entry with the best (1 - weight) log p_LM + weight log p_CTC + word_weight log p_words
    (the first of equals)."""
    lm = lm_scores(model, prefix, lora, [e.tokens for e in nbest], tok.eos)
    totals = [(1 - weight) * s + weight * e.ctc + word_weight * e.words for s, e in zip(lm, nbest)]
    return nbest[int(np.argmax(totals))].tokens
