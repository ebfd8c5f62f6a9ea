"""Thin wrappers over the Debian TTS engines that return 16 kHz audio plus phone timings.

Families:
- ``espeak``: libespeak-ng through ctypes, with phoneme events (audio position of each phoneme).
- ``festival``: festival voices (kal_diphone, cmu_us_slt_arctic_hts), segment end times from the utterance.
- ``flite``: flite voices, segment end times from ``-psdur``.

Every function returns ``(pcm_float32_16k, [(phone, start_s, end_s), ...])``.
"""

from __future__ import annotations

import ctypes
import glob
import os
import subprocess
import tempfile
import wave

import numpy as np

SR = 16000

ESPEAK_VOICES = ["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]
ESPEAK_VARIANTS = ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2",
                   "klatt4", "adam", "linda", "steph", "robert", "paul", "max", "quincy", "shelby", "david",
                   "grandpa", "iven", "john", "michael", "norbert", "travis", "belinda", "aunty", "annie"]
FESTIVAL_VOICES = ["kal_diphone", "cmu_us_slt_arctic_hts"]
FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]
FESTIVAL_VOICE_DIR = "/usr/share/festival/voices"


# What the corpus's audio depends on beyond the seed: the same seed gave the seen-voice evaluation split 11,520
# bytes more (0.1 s of 148) on 2026-12-07 than on the machines before; the held-out (flite) split came out the same.
TTS_PACKAGES = ["espeak-ng", "espeak-ng-data", "libespeak-ng1", "flite", "libflite1", "festival",
                "festvox-kallpc16k", "festvox-us-slt-hts", "festvox-kdlpc16k",
                # the accented voices (ACCENT_VOICES)
                "festvox-italp16k", "festvox-itapc16k", "festvox-suopuhe-lj", "festvox-suopuhe-mv", "festvox-czech-dita",
                "festvox-czech-krb", "festvox-czech-machac", "festvox-czech-ph", "festvox-ru", "festvox-hi-nsk",
                "festival-czech", "festival-hi", "festvox-ca-ona-hts", "festival-ca"]


def engine_versions(packages: list[str] = TTS_PACKAGES) -> dict[str, str]:
    """Installed Debian versions of the TTS packages (those installed; empty without dpkg), for the corpus
    manifest: two corpora made from the same seed match only where these do."""
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Package}=${Version}\n", *packages],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    found = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    return {name: found[name] for name in packages if found.get(name)}


def installed_festival_voices(root: str = FESTIVAL_VOICE_DIR) -> list[str]:
    """Festival voices installed (``<root>/<language>/<voice>/``), as ``(voice_<name>)`` names them."""
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(root, "*", "*")) if os.path.isdir(p))


def read_wav(path: str) -> tuple[np.ndarray, int]:
    with wave.open(path, "rb") as w:
        sr = w.getframerate()
        n = w.getnframes()
        raw = w.readframes(n)
        ch = w.getnchannels()
    x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    return x, sr


def resample(x: np.ndarray, sr_in: float, sr_out: float) -> np.ndarray:
    """Band-limited resampling by FFT (no scipy on this system)."""
    if abs(sr_in - sr_out) < 1e-6 or len(x) == 0:
        return x.astype(np.float32)
    n_out = int(round(len(x) * sr_out / sr_in))
    spec = np.fft.rfft(x)
    n_bins = n_out // 2 + 1
    if n_bins <= len(spec):
        spec = spec[:n_bins]
    else:
        spec = np.concatenate([spec, np.zeros(n_bins - len(spec), dtype=spec.dtype)])
    y = np.fft.irfft(spec, n=n_out) * (n_out / len(x))
    return y.astype(np.float32)


# ----------------------------------------------------------------------------------------------- espeak-ng
class _EspeakEvent(ctypes.Structure):
    class _Id(ctypes.Union):
        _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _Id),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_EspeakEvent))


class Espeak:
    """libespeak-ng in synchronous mode with phoneme events (one instance per process)."""

    EV_END_LIST, EV_PHONEME = 0, 7

    def __init__(self) -> None:
        self.lib = ctypes.CDLL("libespeak-ng.so.1")
        self.lib.espeak_Initialize.restype = ctypes.c_int
        # AUDIO_OUTPUT_SYNCHRONOUS=2, options espeakINITIALIZE_PHONEME_EVENTS=1
        self.sr = self.lib.espeak_Initialize(2, 0, None, 1)
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[str, float]] = []
        self._cb = _CALLBACK(self._callback)
        self.lib.espeak_SetSynthCallback(self._cb)
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]

    def _callback(self, wav, n, events) -> int:  # noqa: ANN001
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).astype(np.float32) / 32768.0)
        i = 0
        while True:
            ev = events[i]
            if ev.type == self.EV_END_LIST:
                break
            if ev.type == self.EV_PHONEME:
                name = bytes(ev.id.string).split(b"\0")[0].decode("ascii", "replace")
                self._events.append((name, ev.audio_position / 1000.0))
            i += 1
        return 0

    def synth(self, text: str, voice: str, rate: int, pitch: int, prange: int = 50):
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise RuntimeError(f"espeak voice {voice!r} not available")
        self.lib.espeak_SetParameter(1, int(rate), 0)  # espeakRATE
        self.lib.espeak_SetParameter(3, int(pitch), 0)  # espeakPITCH
        self.lib.espeak_SetParameter(4, int(prange), 0)  # espeakRANGE
        self._chunks, self._events = [], []
        data = text.encode("utf-8") + b"\0"
        # position 0, POS_CHARACTER=1, end 0, flags espeakCHARS_AUTO | espeakENDPAUSE(0x1000)
        self.lib.espeak_Synth(ctypes.c_char_p(data), len(data), 0, 1, 0, 0x1000, None, None)
        x = np.concatenate(self._chunks) if self._chunks else np.zeros(1, np.float32)
        dur = len(x) / self.sr
        phones = []
        evs = [e for e in self._events if e[0] not in ("", "_:", "_!")]
        for k, (name, t0) in enumerate(evs):
            t1 = evs[k + 1][1] if k + 1 < len(evs) else dur
            if t1 > t0:
                phones.append((name, t0, min(t1, dur)))
        return resample(x, self.sr, SR), phones


# ---------------------------------------------------------------------------------------------- festival
def _scheme_text(text: str) -> str:
    """Text as a festival (Scheme) string literal's contents: no backslashes or double quotes."""
    return text.replace("\\", " ").replace('"', " ")


def _indices_by_voice(voices: list[str]) -> dict[str, list[int]]:
    by_voice: dict[str, list[int]] = {}
    for i, voice in enumerate(voices):
        by_voice.setdefault(voice, []).append(i)
    return by_voice


def _run_festival(lines: list[str], script: str) -> None:
    with open(script, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["festival", "-b", script], check=True, capture_output=True, timeout=1800)


def _save_segments(path: str, targets: bool = False) -> list[str]:
    """Scheme lines writing ``utt``'s segments to ``path``, one per line: name, end time and, with ``targets``,
    its intonation targets as time:F0 pairs."""
    target_fields = ("(mapcar (lambda (tg) (format fd \" %f:%f\" (item.feat tg \"pos\") (item.feat tg \"f0\"))) "
                     "(item.relation.daughters s 'Target)) ") if targets else ""
    return [f'(set! fd (fopen "{path}" "w"))',
            "(mapcar (lambda (s) (format fd \"%s %f\" (item.name s) (item.feat s \"end\")) "
            f"{target_fields}(format fd \"\\n\")) (utt.relation.items utt 'Segment))",
            "(fclose fd)"]


def _read_segments(path: str) -> list[tuple[str, float, float, list[tuple[float, float]]]]:
    """(phone, start, end, [(time, F0)]) per segment of a file that _save_segments' lines wrote."""
    segments, start = [], 0.0
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            end = float(parts[1])
            targets = [(float(a), float(b)) for a, b in (p.split(":") for p in parts[2:])]
            segments.append((parts[0], start, end, targets))
            start = end
    return segments


def festival_batch(jobs: list[tuple[str, str, float]], workdir: str) -> list[tuple[np.ndarray, list]]:
    """Synthesise many (text, voice, stretch) jobs in one festival process per voice."""
    out: list = [None] * len(jobs)
    for voice, idxs in _indices_by_voice([voice for _, voice, _ in jobs]).items():
        lines = [f"(voice_{voice})"]
        for i in idxs:
            text, _, stretch = jobs[i]
            wav = os.path.join(workdir, f"fe{i}.wav")
            lines.append(f"(Parameter.set 'Duration_Stretch {stretch:.3f})")
            lines.append(f'(set! utt (utt.synth (Utterance Text "{_scheme_text(text)}")))')
            lines.append(f'(utt.save.wave utt "{wav}" \'riff)')
            lines += _save_segments(os.path.join(workdir, f"fe{i}.seg"))
        _run_festival(lines, os.path.join(workdir, f"batch_{voice}.scm"))
        for i in idxs:
            x, sr = read_wav(os.path.join(workdir, f"fe{i}.wav"))
            phones = [(name, start, end) for name, start, end, _ in _read_segments(os.path.join(workdir, f"fe{i}.seg"))]
            out[i] = (resample(x, sr, SR), phones)
    return out


# ----------------------------------------------------------------------------------- accented festival
# Festival voices of other languages made to speak English through a phone map: new vocal tracts and voice
# qualities (the held-out family's gap is its speakers, README "Going on"), with an accent. kal_diphone reads
# the sentence first, for English timing and intonation; the mapped voice then says the mapped phones to that
# timing (the Russian unit-selection voice keeps its own durations, so times are read back from what each
# voice said). Voice -> (phone map, pause symbol, F0 factor against kal's male voice).
ACCENT_VOICES: dict[str, tuple[str, str, float]] = {
    "lp_diphone": ("italian", "#", 1.75),  # Debian festvox-italp16k, female
    "pc_diphone": ("italian", "#", 1.0),  # festvox-itapc16k, male
    "suo_fi_lj_diphone": ("finnish", "#", 1.75),  # festvox-suopuhe-lj, female
    "hy_fi_mv_diphone": ("finnish", "#", 1.0),  # festvox-suopuhe-mv, male
    "czech_dita": ("czech", "#", 1.75),  # festvox-czech-dita, adult female
    "czech_krb": ("czech", "#", 2.1),  # festvox-czech-krb, child
    "czech_machac": ("czech", "#", 1.0),  # festvox-czech-machac, adult male
    "czech_ph": ("czech", "#", 1.0),  # festvox-czech-ph, male
    "msu_ru_nsh_clunits": ("russian", "pau", 1.0),  # festvox-ru, male
    "hindi_NSK_diphone": ("hindi", "pau", 1.0),  # festvox-hi-nsk, male
}
# The corpus's default draw (CorpusConfig.accent_voice_names): the voices of the split as run q trained on it.
DIPHONE_ACCENT_VOICES = tuple(ACCENT_VOICES)
# An HTS voice will not say bare timed segments (it needs words, syllables and phrases for its context labels),
# so it says words: each English word becomes a lexicon entry of mapped phones, syllable by syllable, the
# English stress kept on the syllable's first vowel. Its durations and F0 are its own, so its times are read
# back as the Russian voice's are; duration stretch goes to its speaking rate, the F0 factor nowhere (festival
# passes no pitch shift to the HTS engine).
HTS_ACCENT_VOICES: dict[str, str] = {
    "upc_ca_ona_hts": "catalan",  # Debian festvox-ca-ona-hts (festival-ca), female
}
ACCENT_VOICES.update({voice: (language, "pau", 1.0) for voice, language in HTS_ACCENT_VOICES.items()})
# English (festival's radio phones, as kal_diphone and the HTS slt voice say them) -> each language's nearest
# phones; diphthongs and affricates the language lacks become two. Every English phone maps to at least one,
# so each keeps a span of time for the mouth video.
_VOWELS_AND_GLIDES = {
    #       italian       finnish       czech         russian        hindi
    "aa": (("a",), ("a:",), ("a:",), ("aa",), ("aa",)),
    "ae": (("E",), ("e",), ("e",), ("ee",), ("eh",)),
    "ah": (("a",), ("a",), ("a",), ("a",), ("a",)),
    "ao": (("O",), ("o",), ("o:",), ("oo",), ("oh",)),
    "aw": (("a", "u"), ("a", "u"), ("a", "u"), ("aa", "u"), ("aw",)),
    "ax": (("a",), ("e",), ("e",), ("a",), ("@",)),
    "ay": (("a", "i"), ("a", "i"), ("a", "j"), ("aa", "j"), ("ay",)),
    "eh": (("E",), ("e",), ("e",), ("ee",), ("eh",)),
    "er": (("e", "r"), ("e", "r"), ("e", "r"), ("e", "r"), ("a", "r")),
    "ey": (("e", "i"), ("e", "i"), ("e", "j"), ("ee", "j"), ("ee",)),
    "ih": (("i",), ("i",), ("i",), ("i",), ("ih",)),
    "iy": (("i",), ("i:",), ("i:",), ("ii",), ("iy",)),
    "ow": (("o", "u"), ("o", "u"), ("o", "u"), ("oo", "u"), ("oo",)),
    "oy": (("O", "i"), ("o", "i"), ("o", "j"), ("oo", "j"), ("oh", "y")),
    "uh": (("u",), ("u",), ("u",), ("u",), ("uh",)),
    "uw": (("u",), ("u:",), ("u:",), ("uu",), ("uw",)),
    "w": (("w",), ("w",), ("u",), ("v",), ("w",)),
    "y": (("j",), ("j",), ("j",), ("j",), ("y",)),
}
_CONSONANTS = {
    "b": (("b",), ("b",), ("b",), ("b",), ("b",)),
    "ch": (("tS",), ("t", "S"), ("c~",), ("ch",), ("ch",)),
    "d": (("d",), ("d",), ("d",), ("d",), ("D",)),
    "dh": (("d",), ("d",), ("d",), ("d",), ("dh",)),
    "f": (("f",), ("f",), ("f",), ("f",), ("f",)),
    "g": (("g",), ("g",), ("g",), ("g",), ("g",)),
    "hh": (("f",), ("h",), ("h",), ("h",), ("h",)),  # Italian has no /h/; its softest fricative stands in
    "jh": (("dZ",), ("d", "j"), ("dz~",), ("d", "zh"), ("j",)),
    "k": (("k",), ("k",), ("k",), ("k",), ("k",)),
    "l": (("l",), ("l",), ("l",), ("l",), ("l",)),
    "m": (("m",), ("m",), ("m",), ("m",), ("m",)),
    "n": (("n",), ("n",), ("n",), ("n",), ("n",)),
    "ng": (("ng",), ("N",), ("n",), ("n",), ("N",)),
    "p": (("p",), ("p",), ("p",), ("p",), ("p",)),
    "r": (("r",), ("r",), ("r",), ("r",), ("r",)),
    "s": (("s",), ("s",), ("s",), ("s",), ("s",)),
    "sh": (("S",), ("S",), ("s~",), ("sh",), ("sh",)),
    "t": (("t",), ("t",), ("t",), ("t",), ("T",)),
    "th": (("t",), ("T",), ("t",), ("t",), ("th",)),
    "v": (("v",), ("v",), ("v",), ("v",), ("v",)),
    "z": (("z",), ("s",), ("z",), ("z",), ("j",)),
    "zh": (("Z",), ("S",), ("z~",), ("zh",), ("zh",)),
}
_LANGUAGES = ("italian", "finnish", "czech", "russian", "hindi")
ACCENT_PHONE_MAPS: dict[str, dict[str, tuple[str, ...]]] = {
    language: {phone: row[k] for phone, row in {**_VOWELS_AND_GLIDES, **_CONSONANTS}.items()}
    for k, language in enumerate(_LANGUAGES)}
# Central Catalan (upc_catalan): the vowels unstressed; a stressed syllable's first vowel takes its stressed
# phone (ACCENT_STRESSED_PHONES). No /h/, /v/ (merged with /b/, as Central Catalan speakers do), /th/, /dh/ or /ng/.
ACCENT_PHONE_MAPS["catalan"] = {
    "aa": ("a",), "ae": ("E",), "ah": ("ax",), "ao": ("O",), "aw": ("a", "w"), "ax": ("ax",), "ay": ("a", "j"),
    "eh": ("E",), "er": ("ax", "r"), "ey": ("e", "j"), "ih": ("i",), "iy": ("i",), "ow": ("O", "w"),
    "oy": ("O", "j"), "uh": ("u",), "uw": ("u",), "w": ("w",), "y": ("j",),
    "b": ("b",), "ch": ("t", "S"), "d": ("d",), "dh": ("d",), "f": ("f",), "g": ("g",), "hh": ("f",),
    "jh": ("d", "Z"), "k": ("k",), "l": ("l",), "m": ("m",), "n": ("n",), "ng": ("n",), "p": ("p",), "r": ("r",),
    "s": ("s",), "sh": ("S",), "t": ("t",), "th": ("t",), "v": ("b",), "z": ("z",), "zh": ("Z",),
}
# A word-speaking (HTS) voice's language -> its stressed phone for each vowel the map writes.
ACCENT_STRESSED_PHONES: dict[str, dict[str, str]] = {
    "catalan": {"a": "a1", "ax": "a1", "e": "e1", "E": "E1", "i": "i1", "o": "o1", "O": "O1", "u": "u1"},
}


def _english_reading_script(jobs: list[tuple[str, str, float, float]], workdir: str) -> list[str]:
    """kal_diphone reads each sentence; per job a file of segments with their intonation targets, and for a job
    of an HTS voice one of their words and syllables too."""
    lines = ["(voice_kal_diphone)"]
    for i, (text, voice, stretch, _) in enumerate(jobs):
        lines.append(f"(Parameter.set 'Duration_Stretch {stretch:.3f})")
        lines.append(f'(set! utt (utt.synth (Utterance Text "{_scheme_text(text)}")))')
        lines += _save_segments(os.path.join(workdir, f"en{i}.seg"), targets=True)
        if voice in HTS_ACCENT_VOICES:
            lines += _save_syllables(os.path.join(workdir, f"en{i}.syl"))
    return lines


def _save_syllables(path: str) -> list[str]:
    """Scheme lines writing, per segment of ``utt``, its word's and syllable's item ids and the stress."""
    feats = " ".join(f'(item.feat s "R:SylStructure.parent.{f}")' for f in ("parent.id", "id", "stress"))
    return [f'(set! fd (fopen "{path}" "w"))',
            f"(mapcar (lambda (s) (format fd \"%s %s %s %s\\n\" (item.name s) {feats})) (utt.relation.items utt 'Segment))",
            "(fclose fd)"]


def _read_syllables(path: str) -> list[tuple[str, str, str, bool]]:
    """(phone, word id, syllable id, stressed) per segment of a file that _save_syllables' lines wrote."""
    with open(path, encoding="utf-8") as f:
        return [(name, word, syllable, stress == "1") for name, word, syllable, stress in
                (line.split() for line in f if line.strip())]


def hts_words(syllables: list[tuple[str, str, str, bool]], voice: str) -> tuple[list[list[tuple[list[str], bool]]],
                                                                               list[int]]:
    """An English reading's words for an HTS voice: per word, its syllables as (mapped phones, stressed), and
    per mapped phone, the index of the English segment it says (pauses are the voice's own)."""
    language = HTS_ACCENT_VOICES[voice]
    phone_map, stressed_phones = ACCENT_PHONE_MAPS[language], ACCENT_STRESSED_PHONES[language]
    words: list[list[tuple[list[str], bool]]] = []
    owner: list[int] = []
    last_word = last_syllable = None
    for k, (name, word, syllable, stressed) in enumerate(syllables):
        if name == "pau":
            continue
        if word != last_word:
            words.append([])
        if word != last_word or syllable != last_syllable:
            words[-1].append(([], stressed))
        last_word, last_syllable = word, syllable
        phones, _ = words[-1][-1]
        for phone in phone_map[name]:
            if stressed and phone in stressed_phones and not any(p in stressed_phones.values() for p in phones):
                phone = stressed_phones[phone]
            phones.append(phone)
            owner.append(k)
    return words, owner


def _hts_script(voice: str, items: list[tuple[int, list, float]], workdir: str) -> list[str]:
    lines = [f"(voice_{voice})"]
    for i, words, stretch in items:
        names = []
        for k, syllables in enumerate(words):
            name = f"nc{i}w{k}"
            names.append(name)
            entry = " ".join(f"(({' '.join(phones)}) {int(stressed)})" for phones, stressed in syllables)
            lines.append(f"(lex.add.entry '(\"{name}\" nil ({entry})))")
        lines.append(f'(set! hts_engine_params (append {voice}::hts_engine_params (list (list "-r" {1.0 / stretch:.4f}))))')
        lines.append(f"(set! utt (utt.synth (Utterance Words ({' '.join(names)}))))")
        lines.append(f'(utt.save.wave utt "{os.path.join(workdir, f"ac{i}.wav")}" \'riff)')
        lines += _save_segments(os.path.join(workdir, f"ac{i}.seg"))
    return lines


def hts_english_times(syllables: list[tuple[str, str, str, bool]], owner: list[int],
                      said: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """English phones timed by what the HTS voice said: its pauses stay pauses, and each English phone spans
    the segments that say it."""
    spoken = [(start, end) for name, start, end in said if name != "pau"]
    if len(spoken) != len(owner):
        raise RuntimeError(f"the voice said {len(spoken)} segments of the {len(owner)} asked for")
    out: list[tuple[str, float, float]] = []
    k, previous = 0, None
    for name, start, end in said:
        if name == "pau":
            out.append(("pau", start, end))
            previous = None
            continue
        if owner[k] == previous:
            out[-1] = (out[-1][0], out[-1][1], end)
        else:
            out.append((syllables[owner[k]][0], start, end))
        previous = owner[k]
        k += 1
    return out


def accented_segments(english: list[tuple[str, float, float, list[tuple[float, float]]]], voice: str,
                      f0_factor: float) -> tuple[list[tuple[str, float, list[tuple[float, float]]]], list[int]]:
    """The mapped voice's segments (phone, duration, [(time from its start, F0)]) for an English reading, and
    for each of them the index of the English segment it says."""
    language, pause, f0_voice = ACCENT_VOICES[voice]
    phone_map = ACCENT_PHONE_MAPS[language]
    out: list[tuple[str, float, list[tuple[float, float]]]] = []
    owner: list[int] = []
    for k, (name, start, end, targets) in enumerate(english):
        phones = (pause,) if name == "pau" else phone_map[name]
        part = (end - start) / len(phones)
        for j, phone in enumerate(phones):
            t0 = start + j * part
            mine = [(round(t - t0, 4), round(f0 * f0_voice * f0_factor, 1)) for t, f0 in targets
                    if t0 <= t < t0 + part or (j == len(phones) - 1 and t >= t0 + part)]
            out.append((phone, round(part, 4), mine))
            owner.append(k)
    return out, owner


def _accented_script(voice: str, items: list[tuple[int, list]], workdir: str) -> list[str]:
    lines = [f"(voice_{voice})"]
    for i, segments in items:
        spec = " ".join(f"({phone} {dur:.4f}" + "".join(f" ({t:.4f} {f0:.1f})" for t, f0 in targets) + ")"
                        for phone, dur, targets in segments)
        lines.append(f"(set! utt (utt.synth (Utterance Segments ({spec}))))")
        lines.append(f'(utt.save.wave utt "{os.path.join(workdir, f"ac{i}.wav")}" \'riff)')
        lines += _save_segments(os.path.join(workdir, f"ac{i}.seg"))
    return lines


def english_times(english: list, owner: list[int], said_ends: list[float]) -> list[tuple[str, float, float]]:
    """English phones timed by what the mapped voice said: each spans the segments that say it."""
    if len(said_ends) != len(owner):
        raise RuntimeError(f"the voice said {len(said_ends)} segments of the {len(owner)} asked for")
    spans: dict[int, list[float]] = {}
    start = 0.0
    for k, end in zip(owner, said_ends):
        spans.setdefault(k, [start, end])[1] = end
        start = end
    return [(english[k][0], spans[k][0], spans[k][1]) for k in range(len(english))]


def accented_batch(jobs: list[tuple[str, str, float, float]], workdir: str) -> list[tuple[np.ndarray, list]]:
    """Synthesise (text, accent voice, duration stretch, F0 factor) jobs: one kal_diphone process reads them
    all in English, then one process per voice says the mapped phones."""
    _run_festival(_english_reading_script(jobs, workdir), os.path.join(workdir, "english.scm"))
    english = [_read_segments(os.path.join(workdir, f"en{i}.seg")) for i in range(len(jobs))]
    syllables = {i: _read_syllables(os.path.join(workdir, f"en{i}.syl"))
                 for i, (_, voice, _, _) in enumerate(jobs) if voice in HTS_ACCENT_VOICES}
    owners: dict[int, list[int]] = {}
    for voice, idxs in _indices_by_voice([voice for _, voice, _, _ in jobs]).items():
        if voice in HTS_ACCENT_VOICES:
            hts_items = []
            for i in idxs:
                words, owners[i] = hts_words(syllables[i], voice)
                hts_items.append((i, words, jobs[i][2]))
            _run_festival(_hts_script(voice, hts_items, workdir), os.path.join(workdir, f"accent_{voice}.scm"))
            continue
        items = []
        for i in idxs:
            segments, owners[i] = accented_segments(english[i], voice, jobs[i][3])
            items.append((i, segments))
        _run_festival(_accented_script(voice, items, workdir), os.path.join(workdir, f"accent_{voice}.scm"))
    out: list = []
    for i, (_, voice, _, _) in enumerate(jobs):
        x, sr = read_wav(os.path.join(workdir, f"ac{i}.wav"))
        said = [(name, start, end) for name, start, end, _ in _read_segments(os.path.join(workdir, f"ac{i}.seg"))]
        if voice in HTS_ACCENT_VOICES:
            phones = hts_english_times(syllables[i], owners[i], said)
        else:
            phones = english_times(english[i], owners[i], [end for _, _, end in said])
        out.append((resample(x, sr, SR), phones))
    return out


# ------------------------------------------------------------------------------------------------- flite
def flite_synth(text: str, voice: str, stretch: float, f0: float) -> tuple[np.ndarray, list]:
    with tempfile.TemporaryDirectory() as d:
        wav = os.path.join(d, "f.wav")
        r = subprocess.run(
            ["flite", "-voice", voice, "-psdur", "--setf", f"duration_stretch={stretch:.3f}",
             "--setf", f"int_f0_target_mean={f0:.1f}", "-t", text, "-o", wav],
            check=True, capture_output=True, text=True, timeout=120)
        x, sr = read_wav(wav)
    phones = []
    t_prev = 0.0
    for tok in r.stdout.split():
        if ":" not in tok:
            continue
        name, t = tok.rsplit(":", 1)
        try:
            t1 = float(t)
        except ValueError:
            continue
        phones.append((name, t_prev, t1))
        t_prev = t1
    return resample(x, sr, SR), phones
