"""Phone-level targets and lexicon: the audio encoder's phone CTC head and its lexicon-constrained search.

Most errors of the character CTC head are spellings of the right sounds ("deth", "fon" for "phone"): it has
to learn English spelling from six thousand sentences.  A phone head only has to hear; the lexicon spells.
Every TTS family reads words through its own lexicon and letter-to-sound rules, so phones are what the audio
actually carries.

* Pronunciations: Debian's CMU dictionary (pocketsphinx-en-us; alternates kept), stress removed, the 39
  ARPAbet phones; possessives not listed get the base word's pronunciation plus the regular ending; words
  of the LM's training text the dictionary lacks get festival's letter-to-sound rules (once per corpus,
  cached).  Targets use each word's first pronunciation.
* Each phone is written as one character, so a pronunciation is a string and the word LM's look-ahead
  machinery (wordlm.py) works on pronunciations unchanged: its "words" are pronunciations, homophones
  share one entry, and ``PhoneticWordLM.spell`` chooses among the words a pronunciation can be.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import tempfile
from collections import Counter

from .data import SPECIALS
from .wordlm import WORD, WordLM, load_table, read_dictionary, save_table

CMUDICT = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"
LEXICON_FILE = "phone_lexicon.json"
LEXICON_FORMAT = "nestcap-phone-lexicon-1"
ARPABET = ["aa", "ae", "ah", "ao", "aw", "ay", "b", "ch", "d", "dh", "eh", "er", "ey", "f", "g", "hh", "ih",
           "iy", "jh", "k", "l", "m", "n", "ng", "ow", "oy", "p", "r", "s", "sh", "t", "th", "uh", "uw", "v",
           "w", "y", "z", "zh"]
PHONE_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM"  # ARPABET[i] is written PHONE_CHARS[i]
CHAR_OF = dict(zip(ARPABET, PHONE_CHARS))
FESTIVAL_ONLY = {"ax": "ah", "axr": "er"}  # festival's radio phone set beyond ARPAbet
# A pronunciation the lexicon lacks cannot be spelled (the transcript leaves it out), so the search takes one
# only where no word is near: its probability is the character LM's unknown-word share times this (development
# utterances, step 400 of the first phone run: 18 unspellable words in 100 utterances at 1, 3 at 1e-3 and 1 at
# 1e-6; WER 24.3% -> 23.4% at both)
UNKNOWN_PRONUNCIATION_SCALE = 1e-6
PHONES_FILE = "phones.json.gz"
PHONES_FORMAT = "nestcap-phones-1"
SIBILANTS, VOICELESS = set("s z sh zh ch jh".split()), set("p t k f th".split())


def read_cmudict(path: str = CMUDICT) -> dict[str, list[str]]:
    """word -> its pronunciations, each a string of phone characters, in the dictionary's order."""
    if not os.path.exists(path):
        raise SystemExit(f"no CMU dictionary at {path}: apt-get install pocketsphinx-en-us")
    out: dict[str, list[str]] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            word = re.sub(r"\(\d+\)$", "", parts[0]).lower()
            phones = [re.sub(r"\d", "", p).lower() for p in parts[1:]]
            if WORD.fullmatch(word) and all(p in CHAR_OF for p in phones):
                out.setdefault(word, []).append("".join(CHAR_OF[p] for p in phones))
    return out


def possessive(base_pron: str) -> str:
    """The regular ending of "'s" after a pronunciation: /ih z/ after sibilants, /s/ after voiceless, else /z/."""
    last = ARPABET[PHONE_CHARS.index(base_pron[-1])]
    if last in SIBILANTS:
        return base_pron + CHAR_OF["ih"] + CHAR_OF["z"]
    return base_pron + CHAR_OF["s" if last in VOICELESS else "z"]


def festival_letter_to_sound(words: list[str]) -> dict[str, str]:
    """Pronunciations from festival's CMU lexicon with its letter-to-sound rules (about 60 words a second)."""
    if not words:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "lts.scm")
        with open(script, "w", encoding="utf-8") as f:
            f.write('(lex.select "cmu")\n(define (show w) (format t "%s %l\\n" w (lex.lookup w nil)))\n')
            f.writelines(f'(show "{w}")\n' for w in words)
        text = subprocess.run(["festival", "-b", script], capture_output=True, text=True, check=True).stdout
    out = {}
    for line in text.splitlines():
        # word ("word" pos (((p h o n e s) stress) ...)): the syllables come after the quoted word and its pos
        word, _, rest = line.partition(" ")
        syllables = rest.split('"', 2)[-1].strip().partition(" ")[2]
        phones = [FESTIVAL_ONLY.get(p, p) for p in re.findall(r"[a-z]+", syllables)]
        if phones and all(p in CHAR_OF for p in phones):
            out[word] = "".join(CHAR_OF[p] for p in phones)
    return out


class Lexicon:
    """word -> pronunciations (first = the one training targets use)."""

    def __init__(self, prons: dict[str, list[str]]):
        self.prons = prons

    @classmethod
    def build(cls, words: set[str], cmudict: dict[str, list[str]]) -> tuple["Lexicon", list[str]]:
        """The lexicon of ``words`` the dictionary (or a possessive's base) gives, and the words it lacks."""
        prons: dict[str, list[str]] = {}
        missing = []
        for w in sorted(words):
            if w in cmudict:
                prons[w] = cmudict[w]
            elif w.endswith("'s") and w[:-2] in cmudict:
                prons[w] = [possessive(p) for p in cmudict[w[:-2]]]
            else:
                missing.append(w)
        return cls(prons), missing

    @classmethod
    def for_corpus(cls, corpus: str) -> "Lexicon":
        """The LM text's words and the word list, cached as ``<corpus>/phone_lexicon.json``."""
        path = os.path.join(corpus, LEXICON_FILE)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
            if d.get("format") == LEXICON_FORMAT:
                return cls(d["prons"])
        with open(os.path.join(corpus, "lm_text.txt"), encoding="utf-8") as f:
            text_words = {w for line in f for w in line.split()}
        lexicon, missing = cls.build(text_words | set(read_dictionary()), read_cmudict())
        # letter-to-sound only for the text's words: the word list's 30,000 rare ones would take ten minutes
        for w, p in festival_letter_to_sound(sorted(set(missing) & text_words)).items():
            lexicon.prons[w] = [p]
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"format": LEXICON_FORMAT, "prons": lexicon.prons}, f, separators=(",", ":"))
        return lexicon

    def transcript(self, text: str) -> str | None:
        """The phone transcript of a word transcript (first pronunciations), or None if a word has none."""
        out = []
        for w in text.split():
            p = self.prons.get(w)
            if not p:
                return None
            out.append(p[0])
        return " ".join(out)


class PhoneTokenizer:
    """The phone head's symbols: the character tokenizer's specials (blank = pad), the word boundary, phones.
    Same interface as CharTokenizer, so the CTC searches run on it unchanged."""

    def __init__(self) -> None:
        self.vocab = SPECIALS + [" "] + list(PHONE_CHARS)
        self.index = {t: i for i, t in enumerate(self.vocab)}
        self.pad, self.bos, self.eos = 0, 1, 2
        self.unk = self.index["<unk>"]

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, phones: str) -> list[int]:
        return [self.index[c] for c in phones]

    def decode(self, ids) -> str:
        return "".join(self.vocab[int(i)] for i in ids if int(i) >= len(SPECIALS) and int(i) != self.eos)


class PhoneticWordLM:
    """A word bigram over pronunciations for the search, and the spelled word bigram to choose spellings.

    Bigrams count each word's first pronunciation; its other pronunciations share its unigram count, so the
    search can take them (the back-off reaches them) without the pairs being counted twice."""

    def __init__(self, lm: WordLM, spellings: dict[str, list[str]], spelled: WordLM):
        self.lm, self.spellings, self.spelled = lm, spellings, spelled

    @classmethod
    def from_text(cls, sentences: list[str], lexicon: Lexicon, spelled: WordLM) -> "PhoneticWordLM":
        phonetic = [t for t in (lexicon.transcript(s) for s in sentences if s.strip()) if t]
        base = WordLM.from_text(phonetic, sorted({p for ps in lexicon.prons.values() for p in ps}))
        word_counts = Counter(w for s in sentences for w in s.split())
        counts = base.counts.copy()
        index = {p: i for i, p in enumerate(base.words)}
        for w, ps in lexicon.prons.items():
            for p in ps[1:]:
                counts[index[p]] += word_counts.get(w, 0)
        spellings: dict[str, list[str]] = {}
        for w, ps in lexicon.prons.items():
            for p in dict.fromkeys(ps):
                spellings.setdefault(p, []).append(w)
        # Where the word LM cannot tell spellings apart (words of the word list the text never uses), the first
        # listed wins: a plural is far likelier than the possessive it sounds like ("typewriters").
        for words in spellings.values():
            words.sort(key=lambda w: "'" in w)
        lm = WordLM(base.words, counts, base.histories, base.offsets, base.successors, base.pair_counts,
                    UNKNOWN_PRONUNCIATION_SCALE)
        return cls(lm, spellings, spelled)

    def spell(self, phones: str) -> str:
        """Words for a phone transcript: of every way to spell its pronunciations, the likeliest whole sentence
        under the spelled word bigram, its end included (Viterbi over each pronunciation's spellings; the first
        listed of equals).  Choosing word by word from the left kept "typewriter's" for "typewriters" and
        could not let the next word decide; the whole sentence gained 0.7 WER points on development
        utterances.  A pronunciation the lexicon lacks is left out and the word after it starts afresh."""
        # Each surviving spelling of the current word: (score of the best sentence ending in it, its words).
        paths: list[tuple[float, int, list[str]]] = [(0.0, self.spelled.start().history, [])]  # (score, history, words)
        for p in phones.split():
            options = self.spellings.get(p)
            if not options:
                best = max(paths, key=lambda path: path[0])
                paths = [(best[0], self.spelled.unk_history, best[2])]
                continue
            nxt = []
            for w in options:
                score, _, words = max(((s + self.spelled.word_logprob(h, w), h, ws) for s, h, ws in paths),
                                      key=lambda c: c[0])
                nxt.append((score, self.spelled.history_of(w), words + [w]))
            paths = nxt
        ends = [(s + math.log(self.spelled.p_end(h)), ws) for s, h, ws in paths]
        return " ".join(max(ends, key=lambda e: e[0])[1])

    # ----------------------------------------------------------------------------------- serialisation
    def to_json(self) -> dict:
        """What the engine reads (gzipped, ``PHONES_FILE``): the phone head's symbols, the pronunciation word
        LM and each pronunciation's spellings in order; the spelled word LM is the bundle's own ``WORD_LM_FILE``."""
        return {"format": PHONES_FORMAT, "symbols": PhoneTokenizer().vocab, "first_symbol_id": len(SPECIALS),
                "arpabet": dict(zip(PHONE_CHARS, ARPABET)), "word_lm": self.lm.to_json(),
                "spellings": self.spellings}

    def save(self, path: str) -> None:
        save_table(path, self.to_json())

    @classmethod
    def load(cls, path: str, spelled: WordLM) -> "PhoneticWordLM":
        d = load_table(path)
        if d.get("format") != PHONES_FORMAT or d.get("symbols") != PhoneTokenizer().vocab:
            raise ValueError(f"{path} is not a {PHONES_FORMAT} file with this tokenizer's symbols")
        return cls(WordLM.from_json(d["word_lm"]), d["spellings"], spelled)
