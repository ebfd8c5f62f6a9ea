"""Word bigram LM over a lexicon, scored one character at a time (look-ahead word LM, Hori et al., 2018).

The recognizer spells words character by character, and most of its errors are plausible spellings of the
right sound ("gaden" for "garden").  A word LM knows which letter strings are words, but it scores whole
words; the look-ahead turns it into per-character scores.  For a partial word ``q`` after history ``h``,
``mass(q | h)`` is the probability of all lexicon words that start with ``q``; appending ``c`` scores
``log mass(q + c | h) - log mass(q | h)``, and ending the word scores ``log P(q | h) - log mass(q | h)``.
Over a word these telescope to ``log P(word | h)``.  A spelling that leaves the lexicon pays
``log P(<unk> | h)`` and ``log(1/28)`` per letter (a uniform spelling model), so names the lexicon lacks
can still be written, at a price that grows with their length.

Lexicon and probabilities:
* words and bigrams counted in the LM's training text (never the evaluation sentences);
* Debian's ``wamerican`` word list for coverage: the training text alone misses 10% of the evaluation
  words, the two together 1%.  Words only in the list share the Good-Turing probability of a new word
  (singletons / tokens); a tenth of that is kept for words in neither, ``<unk>``;
* bigrams with absolute discounting, backed off to the unigram.

The engine (electron/engine/word-lm.ts) reads the same tables from the bundle's ``word_lm.json.gz`` and
implements the same scores; this module is the reference the evaluation uses.
"""

from __future__ import annotations

import base64
import bisect
import gzip
import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

DICTIONARY = "/usr/share/dict/american-english"
WORD_LM_FILE = "word_lm.json.gz"  # gzipped: a fifth of the plain JSON (bundles before 2026-12-03 had word_lm.json)
WORD_LM_FORMAT = "nestcap-word-bigram-1"
DISCOUNT = 0.75
UNK_SHARE = 0.1  # of the new-word probability, for words in neither the text nor the word list
OOV_LETTER = math.log(1.0 / 28)  # spelling a word the lexicon lacks: uniform over 26 letters, apostrophe, end
EMPTY_WORD_PENALTY = -30.0  # a space with no word before it: never a transcript the LM means
WORD = re.compile(r"[a-z']+")
_AFTER_ALL = "~"  # sorts after every lexicon character, so [q, q + "~") is the range of words starting with q


def read_dictionary(path: str = DICTIONARY) -> list[str]:
    if not os.path.exists(path):
        raise SystemExit(f"no word list at {path}: apt-get install wamerican")
    with open(path, encoding="utf-8", errors="replace") as f:
        return [w for w in (line.strip().lower() for line in f) if WORD.fullmatch(w)]


def save_table(path: str, table: dict) -> None:
    """A bundle table as compact JSON, gzipped when ``path`` ends in .gz (the engine gunzips by the same rule);
    mtime 0, so the same table gives the same bytes."""
    text = json.dumps(table, separators=(",", ":")).encode()
    with (gzip.GzipFile(path, "wb", mtime=0) if path.endswith(".gz") else open(path, "wb")) as f:
        f.write(text)


def load_table(path: str) -> dict:
    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
        return json.loads(f.read())


@dataclass
class WordState:
    """Where a transcript stands for the word LM: the previous word's id, the word being spelled and, while
    it is still in the lexicon, the probability of the words it can become (kept, as every candidate
    extension divides by it)."""

    history: int
    partial: str = ""
    oov: bool = False
    mass: float = 1.0


class WordLM:
    """Built from counts alone (what ``WORD_LM_FILE`` holds); every probability is derived here, and in the
    engine by the same arithmetic, so the two agree up to the rounding of log (the parity test allows 1e-9)."""

    def __init__(self, words: list[str], counts: np.ndarray, histories: np.ndarray, offsets: np.ndarray,
                 successors: np.ndarray, pair_counts: np.ndarray, unknown_scale: float = 1.0):
        self.words = words
        self.end = len(words)
        self.bos = len(words) + 1
        self.unk_history = -1
        self.counts = counts.astype(np.int64)  # [V + 1]: words, then end of sentence
        self.histories = histories.astype(np.int64)
        self.offsets = offsets.astype(np.int64)
        self.successors = successors.astype(np.int64)
        self.pair_counts = pair_counts.astype(np.int64)
        n_tokens = int(self.counts.sum())
        word_counts = self.counts[: self.end]
        p_new = int((word_counts == 1).sum()) / n_tokens
        list_only = int((word_counts == 0).sum())
        self.unigram = (1.0 - p_new) * self.counts.astype(np.float64) / n_tokens
        if list_only:
            self.unigram[: self.end][word_counts == 0] = p_new * (1.0 - UNK_SHARE) / list_only
            self.p_unk = p_new * UNK_SHARE
        else:
            self.p_unk = p_new
        # below 1 where a word outside the lexicon cannot be written (phones.PhoneticWordLM); kept in the JSON
        self.unknown_scale = unknown_scale
        self.p_unk *= unknown_scale
        self.cum_unigram = np.concatenate([[0.0], np.cumsum(self.unigram[: self.end])])
        self.history_row = {int(h): r for r, h in enumerate(self.histories)}
        totals = np.add.reduceat(self.pair_counts, self.offsets[:-1]) if len(self.histories) else np.zeros(0, np.int64)
        row_of_pair = np.repeat(np.arange(len(self.histories)), np.diff(self.offsets))
        self.probs = (self.pair_counts - DISCOUNT) / totals[row_of_pair]
        self.alphas = DISCOUNT * np.diff(self.offsets) / totals
        self.cum_probs = np.concatenate([[0.0], np.cumsum(self.probs)])

    # ------------------------------------------------------------------------------------------ building
    @classmethod
    def from_text(cls, sentences: list[str], dictionary: list[str]) -> "WordLM":
        """Words and bigrams counted in ``sentences``; words only in ``dictionary`` get count 0."""
        tokens = [s.split() for s in sentences if s.strip()]
        uni = Counter(w for ws in tokens for w in ws)
        words = sorted(set(uni) | set(dictionary))
        index = {w: i for i, w in enumerate(words)}
        end, bos = len(words), len(words) + 1
        counts = np.zeros(len(words) + 1, np.int64)
        for w, c in uni.items():
            counts[index[w]] = c
        counts[end] = len(tokens)  # every sentence also predicts its end
        pairs: Counter = Counter()
        for ws in tokens:
            ids = [bos] + [index[w] for w in ws] + [end]
            pairs.update(zip(ids[:-1], ids[1:]))
        by_history: dict[int, list[tuple[int, int]]] = {}
        for (h, w), c in pairs.items():
            by_history.setdefault(h, []).append((w, c))
        histories, offsets, successors, pair_counts = [], [0], [], []
        for h in sorted(by_history):
            row = sorted(by_history[h])
            histories.append(h)
            successors += [w for w, _ in row]
            pair_counts += [c for _, c in row]
            offsets.append(len(successors))
        return cls(words, counts, np.array(histories, np.int64), np.array(offsets, np.int64),
                   np.array(successors, np.int64), np.array(pair_counts, np.int64))

    @classmethod
    def from_corpus(cls, corpus: str, dictionary: str = DICTIONARY) -> "WordLM":
        with open(os.path.join(corpus, "lm_text.txt"), encoding="utf-8") as f:
            return cls.from_text(f.read().splitlines(), read_dictionary(dictionary))

    # ----------------------------------------------------------------------------------- serialisation
    def to_json(self) -> dict:
        def b64(a: np.ndarray) -> str:
            return base64.b64encode(np.ascontiguousarray(a, dtype="<i4").tobytes()).decode()

        out = {"format": WORD_LM_FORMAT, "discount": DISCOUNT, "unk_share": UNK_SHARE, "words": self.words,
               "counts": b64(self.counts), "histories": b64(self.histories), "offsets": b64(self.offsets),
               "successors": b64(self.successors), "pair_counts": b64(self.pair_counts)}
        if self.unknown_scale != 1.0:
            out["unknown_scale"] = self.unknown_scale
        return out

    @classmethod
    def from_json(cls, d: dict) -> "WordLM":
        if d.get("format") != WORD_LM_FORMAT or d.get("discount") != DISCOUNT or d.get("unk_share") != UNK_SHARE:
            raise ValueError(f"not a {WORD_LM_FORMAT} word LM with discount {DISCOUNT} and unk_share {UNK_SHARE}")

        def arr(key: str) -> np.ndarray:
            return np.frombuffer(base64.b64decode(d[key]), dtype="<i4")

        return cls(d["words"], arr("counts"), arr("histories"), arr("offsets"), arr("successors"), arr("pair_counts"),
                   float(d.get("unknown_scale", 1.0)))

    def save(self, path: str) -> None:
        save_table(path, self.to_json())

    @classmethod
    def load(cls, path: str) -> "WordLM":
        return cls.from_json(load_table(path))

    # ----------------------------------------------------------------------------------- probabilities
    def word_range(self, prefix: str) -> tuple[int, int]:
        return bisect.bisect_left(self.words, prefix), bisect.bisect_left(self.words, prefix + _AFTER_ALL)

    def _bigram(self, history: int, lo: int, hi: int) -> tuple[float, float]:
        """(discounted bigram probability of successors with ids in [lo, hi), back-off weight) for ``history``."""
        row = self.history_row.get(history)
        if row is None:
            return 0.0, 1.0
        a, b = int(self.offsets[row]), int(self.offsets[row + 1])
        succ = self.successors[a:b]
        i, j = a + int(np.searchsorted(succ, lo)), a + int(np.searchsorted(succ, hi))
        return float(self.cum_probs[j] - self.cum_probs[i]), float(self.alphas[row])

    def mass(self, history: int, lo: int, hi: int) -> float:
        """P(next word's id in [lo, hi) | history)."""
        bigram, alpha = self._bigram(history, lo, hi)
        return bigram + alpha * float(self.cum_unigram[hi] - self.cum_unigram[lo])

    def p_end(self, history: int) -> float:
        bigram, alpha = self._bigram(history, self.end, self.end + 1)
        return bigram + alpha * float(self.unigram[self.end])

    def p_unknown(self, history: int) -> float:
        return self._bigram(history, 0, 0)[1] * self.p_unk

    def start(self) -> WordState:
        return WordState(self.bos)

    def char(self, s: WordState, c: str) -> tuple[float, WordState]:
        """Log-score of spelling ``c`` next, and the state after it."""
        if s.oov:
            return OOV_LETTER, WordState(s.history, s.partial + c, True)
        q = s.partial + c
        m = self.mass(s.history, *self.word_range(q))
        if m > 0.0:
            return math.log(m) - math.log(s.mass), WordState(s.history, q, mass=m)
        unknown = math.log(self.p_unknown(s.history)) + len(q) * OOV_LETTER
        return unknown - math.log(s.mass), WordState(s.history, q, True)

    def word_end(self, s: WordState) -> tuple[float, WordState]:
        """Log-score of the word being complete here (a space), and the state for the next word."""
        if not s.partial:
            return EMPTY_WORD_PENALTY, s
        if s.oov:
            return OOV_LETTER, WordState(self.unk_history)
        lo = bisect.bisect_left(self.words, s.partial)
        exact = lo < len(self.words) and self.words[lo] == s.partial
        if exact:
            return math.log(self.mass(s.history, lo, lo + 1)) - math.log(s.mass), WordState(lo)
        unknown = math.log(self.p_unknown(s.history)) + (len(s.partial) + 1) * OOV_LETTER
        return unknown - math.log(s.mass), WordState(self.unk_history)

    def sentence_end(self, s: WordState) -> float:
        """Log-score of the transcript ending here (completing the word being spelled, if any)."""
        score, after = self.word_end(s) if s.partial else (0.0, s)
        return score + math.log(self.p_end(after.history))

    def score_text(self, text: str) -> float:
        """log P(text) by characters; equals the sum of word log-probabilities (a test checks it)."""
        return sum(character_scores(self, text))

    def word_logprob(self, history: int, word: str) -> float:
        lo, hi = self.word_range(word)
        if lo < len(self.words) and self.words[lo] == word:
            return math.log(self.mass(history, lo, lo + 1))
        return math.log(self.p_unknown(history)) + (len(word) + 1) * OOV_LETTER

    def history_of(self, word: str) -> int:
        lo, _ = self.word_range(word)
        return lo if lo < len(self.words) and self.words[lo] == word else self.unk_history


def character_scores(lm: WordLM, text: str) -> list[float]:
    """The score of each character of ``text`` in turn, then of the sentence ending (what decoding adds)."""
    state, out = lm.start(), []
    for c in text:
        d, state = lm.word_end(state) if c == " " else lm.char(state, c)
        out.append(d)
    return out + [lm.sentence_end(state)]
