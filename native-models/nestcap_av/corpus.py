"""Synthetic audio-visual corpus generator.

    /usr/bin/python3 -m nestcap_av.corpus --out work/corpus --n-train 6000 --seed 1234

Sentences come from Debian's ``fortunes``/``fortunes-min`` packages (/usr/share/games/fortunes); an optional
split ``train_extra`` speaks the example sentences of WordNet (Debian's ``wordnet-base``), and an optional split
``train_voices`` speaks training sentences in festival voices no other split uses (ked_diphone, Debian's
``festvox-kdlpc16k``), and an optional split ``train_accents`` speaks them in festival voices of other
languages (Italian, Finnish, Czech, Russian, Hindi) made to say English through a phone map, after
kal_diphone's English timing and intonation (tts.ACCENT_VOICES). Speech comes
from espeak-ng (voices x variants, rate, pitch), festival (kal_diphone, cmu_us_slt_arctic_hts, duration
stretch + speed perturbation) and flite (kal, kal16, awb, rms, slt; duration stretch, f0). The phone timings
of each engine drive a 25 fps grayscale mouth-ROI video (render.py). One family (flite by default) is held
out of training. Output is deterministic for a seed: each utterance has its own RNG derived from
(seed, split, index) and results are stored in plan order whatever the worker count.

Layout of ``<out>/<split>/``: ``audio.i16`` (concatenated int16 16 kHz PCM), ``video.u8`` (concatenated
uint8 frames, ROI x ROI), ``index.jsonl`` (one row per utterance with offsets and metadata).
``<out>/manifest.json`` holds sizes, timing and the config; ``<out>/lm_text.txt`` the LM pre-training text
(training sentences only).
"""

from __future__ import annotations

import argparse
import collections
import glob
import hashlib
import json
import multiprocessing as mp
import os
import re
import tempfile
import time

import numpy as np

from . import render, tts
from .config import FPS, SAMPLE_RATE, CorpusConfig, dump_json, to_dict

FORTUNE_DIR = "/usr/share/games/fortunes"
WORDNET_DIR = "/usr/share/wordnet"
# categories skipped: ascii art, offensive-leaning or non-prose collections
SKIP = {"art", "ascii-art", "ethnic", "drugs", "men-women", "perl", "translate-me", "debian", "linux",
        "linuxcookie", "startrek", "knghtbrd", "paradoxum", "goedel", "disclaimer", "zippy"}


def normalise(text: str) -> str:
    """Transcript normalisation used everywhere (also for WER): lower case, letters, apostrophes, spaces."""
    t = text.lower().replace("\u2019", "'")
    t = re.sub(r"[^a-z' ]+", " ", t)
    t = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", t)
    return re.sub(r"\s+", " ", t).strip()


def load_sentences(cfg: CorpusConfig, source_dir: str = FORTUNE_DIR) -> list[tuple[str, str]]:
    files = sorted(p for p in glob.glob(os.path.join(source_dir, "*"))
                   if not p.endswith((".dat", ".u8")) and os.path.basename(p) not in SKIP and os.path.isfile(p))
    if not files:
        raise SystemExit(f"no text source in {source_dir}: apt-get install fortunes fortunes-min")
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            raw = f.read()
        for fortune in raw.split("\n%\n"):
            lines = [ln.strip() for ln in fortune.splitlines() if not ln.strip().startswith("--")]
            body = " ".join(lines)
            for sent in re.split(r"(?<=[.!?])\s+", body):
                sent = sent.strip()
                tr = keep_sentence(sent, cfg) if sent[-1:] in ".!?" else None
                if tr is None or tr in seen:
                    continue
                seen.add(tr)
                out.append((sent, tr))
    out.sort(key=lambda x: x[1])
    return out


def keep_sentence(sent: str, cfg: CorpusConfig) -> str | None:
    """The transcript of a sentence the corpus can speak (letters and basic punctuation, the configured number
    of words and characters), else None."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z ,;:'\-]*[.!?]?", sent):
        return None
    tr = normalise(sent)
    words = tr.split()
    if not (cfg.min_words <= len(words) <= cfg.max_words) or len(tr) > cfg.max_chars:
        return None
    return tr


def load_wordnet_examples(cfg: CorpusConfig, source_dir: str = WORDNET_DIR) -> list[tuple[str, str]]:
    """WordNet's usage examples (the quoted sentences in each synset's gloss), as the fortunes are filtered,
    without any sentence whose transcript belongs to the evaluation share: everyday English over far more
    words than the fortunes have (34,624 sentences over 25,651 words, against 6,418 over 7,627)."""
    files = sorted(glob.glob(os.path.join(source_dir, "data.*")))
    if not files:
        raise SystemExit(f"no WordNet data in {source_dir}: apt-get install wordnet-base")
    found: dict[str, str] = {}
    for path in files:
        with open(path, encoding="latin-1") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:  # the licence header; synsets without a gloss
                    continue
                for example in re.findall(r'"([^"]+)"', line.split("|", 1)[1]):
                    sent = example.strip()
                    tr = keep_sentence(sent, cfg)
                    if tr is not None and not is_eval_sentence(tr, cfg.eval_fraction):
                        found.setdefault(tr, sent)
    return sorted(((sent, tr) for tr, sent in found.items()), key=lambda x: x[1])


def is_eval_sentence(transcript: str, fraction: float) -> bool:
    h = int(hashlib.md5(transcript.encode()).hexdigest()[:8], 16)
    return (h % 10000) < fraction * 10000


def _utt_rng(seed: int, split: str, i: int) -> np.random.Generator:
    h = int(hashlib.md5(f"{seed}/{split}/{i}".encode()).hexdigest()[:12], 16)
    return np.random.default_rng(h)


def plan_jobs(cfg: CorpusConfig, sentences: list[tuple[str, str]],
              extra_sentences: list[tuple[str, str]] | None = None) -> dict[str, list[dict]]:
    train_s = [s for s in sentences if not is_eval_sentence(s[1], cfg.eval_fraction)]
    eval_s = [s for s in sentences if is_eval_sentence(s[1], cfg.eval_fraction)]
    plans: dict[str, list[dict]] = {}
    festival = tts.FESTIVAL_VOICES
    specs = [("train", cfg.n_train, train_s, cfg.train_families, cfg.family_weights, festival),
             ("eval_seen", cfg.n_eval_seen, eval_s, cfg.train_families, cfg.family_weights, festival),
             ("eval_heldout", cfg.n_eval_heldout, eval_s, (cfg.heldout_family,), (1.0,), festival)]
    # the optional splits are planned on their own generators, so the other splits stay as they were
    if cfg.n_train_extra > 0:
        specs.append(("train_extra", cfg.n_train_extra, extra_sentences or [], cfg.train_families, cfg.family_weights,
                      festival))
    if cfg.n_train_voices > 0:
        if cfg.heldout_family == "festival":
            raise SystemExit("split train_voices speaks festival voices, the held-out family here")
        specs.append(("train_voices", cfg.n_train_voices, train_s, ("festival",), (1.0,), list(cfg.train_voice_names)))
    if cfg.n_train_accents > 0:
        unknown = sorted(set(cfg.accent_voice_names) - set(tts.ACCENT_VOICES))
        if unknown or not cfg.accent_voice_names:
            raise SystemExit(f"split train_accents: {', '.join(unknown) or 'no voices'} (--accent-voices takes "
                             f"{', '.join(tts.ACCENT_VOICES)})")
        specs.append(("train_accents", cfg.n_train_accents, train_s, ("accent",), (1.0,), festival))
    for split, n, pool, fams, weights, festival_voices in specs:
        if n > 0 and not pool:
            raise SystemExit(f"no sentences for split {split}")
        rng = np.random.default_rng(
            cfg.seed + {"train": 0, "eval_seen": 1, "eval_heldout": 2, "train_extra": 3, "train_voices": 4,
                        "train_accents": 5}[split])
        order = rng.permutation(len(pool))
        jobs = []
        for i in range(n):
            text, tr = pool[int(order[i % len(order)])]
            r = _utt_rng(cfg.seed, split, i)
            fam = str(r.choice(list(fams), p=np.array(weights) / np.sum(weights)))
            job = {"split": split, "i": i, "text": text, "transcript": tr, "family": fam}
            if fam == "espeak":
                v = str(r.choice(tts.ESPEAK_VOICES))
                var = str(r.choice(tts.ESPEAK_VARIANTS))
                job.update(voice=v + (f"+{var}" if var else ""), rate=int(r.integers(130, 215)),
                           pitch=int(r.integers(25, 80)), prange=int(r.integers(20, 90)))
            elif fam == "festival":
                job.update(voice=str(r.choice(festival_voices)), stretch=float(r.uniform(0.85, 1.2)),
                           speed=float(r.uniform(0.9, 1.1)))
            elif fam == "accent":
                job.update(voice=str(r.choice(list(cfg.accent_voice_names))), stretch=float(r.uniform(0.85, 1.2)),
                           f0_factor=float(r.uniform(0.85, 1.2)))
            elif fam == "flite":
                job.update(voice=str(r.choice(tts.FLITE_VOICES)), stretch=float(r.uniform(0.85, 1.2)),
                           f0=float(r.uniform(90, 190)))
            else:
                raise ValueError(fam)
            jobs.append(job)
        plans[split] = jobs
    return plans


_ESPEAK: tts.Espeak | None = None


def _synth_chunk(args: tuple[list[dict], int, int]) -> list[dict]:
    jobs, seed, roi = args
    global _ESPEAK
    results: list = [None] * len(jobs)
    fest = [k for k, j in enumerate(jobs) if j["family"] == "festival"]
    if fest:
        with tempfile.TemporaryDirectory() as d:
            outs = tts.festival_batch([(jobs[k]["text"], jobs[k]["voice"], jobs[k]["stretch"]) for k in fest], d)
        for k, (x, ph) in zip(fest, outs):
            sp = jobs[k]["speed"]
            x = tts.resample(x, SAMPLE_RATE * sp, SAMPLE_RATE)  # speed perturbation (tempo + pitch)
            results[k] = (x, [(p, a / sp, b / sp) for p, a, b in ph])
    accent = [k for k, j in enumerate(jobs) if j["family"] == "accent"]
    if accent:
        with tempfile.TemporaryDirectory() as d:
            outs = tts.accented_batch([(jobs[k]["text"], jobs[k]["voice"], jobs[k]["stretch"], jobs[k]["f0_factor"])
                                       for k in accent], d)
        for k, result in zip(accent, outs):
            results[k] = result
    for k, j in enumerate(jobs):
        if j["family"] == "espeak":
            if _ESPEAK is None:
                _ESPEAK = tts.Espeak()
            results[k] = _ESPEAK.synth(j["text"], j["voice"], j["rate"], j["pitch"], j["prange"])
        elif j["family"] == "flite":
            results[k] = tts.flite_synth(j["text"], j["voice"], j["stretch"], j["f0"])
    out = []
    for j, (x, phones) in zip(jobs, results):
        rng = _utt_rng(seed, j["split"] + "/render", j["i"])
        peak = float(np.max(np.abs(x))) + 1e-6
        x = x / peak * rng.uniform(0.25, 0.9)
        n_frames = int(np.ceil(len(x) / SAMPLE_RATE * FPS))
        n_samples = int(round(n_frames * SAMPLE_RATE / FPS))
        x = np.pad(x, (0, max(0, n_samples - len(x))))[:n_samples]
        track = render.viseme_tracks(phones, n_frames, rng, lead_s=float(rng.uniform(0.0, 0.06)))
        video = render.render(track, roi, rng)
        pcm = np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
        out.append({"job": j, "pcm": pcm, "video": video, "phones": [(p, round(a, 3), round(b, 3)) for p, a, b in phones]})
    return out


# the optional splits and the config field that sizes each
OPTIONAL_SPLITS = {"train_extra": "n_train_extra", "train_voices": "n_train_voices",
                   "train_accents": "n_train_accents"}


def _existing_manifest(out_dir: str, cfg: CorpusConfig, splits: tuple[str, ...]) -> dict:
    """The manifest of the corpus that ``splits`` are added to; its plan must be this one's."""
    path = os.path.join(out_dir, "manifest.json")
    if not os.path.exists(path):
        raise SystemExit(f"--splits adds splits to an existing corpus, and {out_dir} has no manifest.json")
    with open(path, encoding="utf-8") as f:
        stats = json.load(f)
    old = stats["config"]
    for key in ("seed", "n_train", "n_eval_seen", "n_eval_heldout", "roi", "min_words", "max_words", "max_chars",
                "eval_fraction", "heldout_family"):
        if old.get(key) != getattr(cfg, key):
            raise SystemExit(f"--splits: the corpus in {out_dir} was made with {key}={old.get(key)!r}, "
                             f"this command has {getattr(cfg, key)!r}; give the same values")
    for split in splits:
        old[OPTIONAL_SPLITS[split]] = getattr(cfg, OPTIONAL_SPLITS[split])
    if "train_voices" in splits:
        old["train_voice_names"] = list(cfg.train_voice_names)
    if "train_accents" in splits:
        old["accent_voice_names"] = list(cfg.accent_voice_names)
    return stats


def _keep_written_prefix(split_dir: str, jobs: list[dict], chunk: int, frame_bytes: int) -> list[dict]:
    """The rows of an optional split written before (by a smaller --n, or a run killed mid-way) that are
    this plan's first jobs, cut to whole chunks so that what follows is synthesised in the same groups as a
    fresh run's. The split's files are truncated to those rows, which drops a torn last row."""
    paths = {name: os.path.join(split_dir, name) for name in ("audio.i16", "video.u8", "index.jsonl")}
    if not all(os.path.exists(path) for path in paths.values()):
        return []
    audio_size, video_size = os.path.getsize(paths["audio.i16"]), os.path.getsize(paths["video.u8"])
    rows: list[dict] = []
    with open(paths["index.jsonl"], encoding="utf-8") as f:
        for line, job in zip(f, jobs):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break
            planned = {k: v for k, v in job.items() if k != "split"}
            if ({k: row.get(k) for k in planned} != planned
                    or (row["audio_off"] + row["audio_len"]) * 2 > audio_size
                    or row["video_off"] + row["n_frames"] * frame_bytes > video_size):
                break
            rows.append(row)
    rows = rows[:len(rows) // chunk * chunk]
    last = rows[-1] if rows else None
    with open(paths["audio.i16"], "r+b") as fa:
        fa.truncate((last["audio_off"] + last["audio_len"]) * 2 if last else 0)
    with open(paths["video.u8"], "r+b") as fv:
        fv.truncate(last["video_off"] + last["n_frames"] * frame_bytes if last else 0)
    with open(paths["index.jsonl"], "w", encoding="utf-8") as fi:
        fi.writelines(json.dumps(row) + "\n" for row in rows)
    return rows


def generate(cfg: CorpusConfig, out_dir: str, log=print, splits: tuple[str, ...] = ()) -> dict:
    """Write the corpus; with ``splits``, only those optional splits, added to the corpus already there."""
    t_start = time.time()
    unknown = set(splits) - set(OPTIONAL_SPLITS)
    if unknown:
        raise SystemExit(f"--splits takes {' and '.join(OPTIONAL_SPLITS)}, not {', '.join(sorted(unknown))}")
    empty = [split for split in splits if getattr(cfg, OPTIONAL_SPLITS[split]) <= 0]
    if empty:
        raise SystemExit(f"--splits {empty[0]} needs --{OPTIONAL_SPLITS[empty[0]].replace('_', '-')} N")
    os.makedirs(out_dir, exist_ok=True)
    sentences = load_sentences(cfg)
    train_text = [tr for _, tr in sentences if not is_eval_sentence(tr, cfg.eval_fraction)]
    extra = load_wordnet_examples(cfg) if cfg.n_train_extra > 0 else None
    plans = plan_jobs(cfg, sentences, extra)
    if splits:
        stats = _existing_manifest(out_dir, cfg, splits)
        plans = {split: plans[split] for split in splits}
    else:
        with open(os.path.join(out_dir, "lm_text.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(train_text) + "\n")
        stats = {"config": to_dict(cfg), "source": FORTUNE_DIR + " (Debian fortunes, fortunes-min)",
                 "sentences_total": len(sentences), "sentences_train_pool": len(train_text),
                 "sentences_eval_pool": len(sentences) - len(train_text), "splits": {}}
    if extra is not None:
        stats.update(extra_source=WORDNET_DIR + " (Debian wordnet-base, usage examples)",
                     sentences_extra_pool=len(extra))
    missing = sorted({j["voice"] for jobs in plans.values() for j in jobs if j["family"] in ("festival", "accent")}
                     - set(tts.installed_festival_voices()))
    if missing:  # before any synthesis, not after minutes of it
        raise SystemExit(f"festival voice(s) {', '.join(missing)} not installed (Debian: festvox-kallpc16k, "
                         "festvox-us-slt-hts, festvox-kdlpc16k for ked_diphone; the accented voices' packages are "
                         "tts.TTS_PACKAGES)")
    chunk = 24
    with mp.get_context("fork").Pool(max(1, cfg.workers)) as pool:
        for split, jobs in plans.items():
            t0 = time.time()
            sdir = os.path.join(out_dir, split)
            os.makedirs(sdir, exist_ok=True)
            # an added split goes on from what an earlier run of it wrote; the corpus's own splits start afresh
            kept = _keep_written_prefix(sdir, jobs, chunk, cfg.roi * cfg.roi) if splits else []
            mode = "a" if kept else "w"
            fa = open(os.path.join(sdir, "audio.i16"), mode + "b")
            fv = open(os.path.join(sdir, "video.u8"), mode + "b")
            fi = open(os.path.join(sdir, "index.jsonl"), mode, encoding="utf-8")
            a_off = sum(row["audio_len"] for row in kept)
            v_off = sum(row["n_frames"] for row in kept) * cfg.roi * cfg.roi
            n_done, dur = len(kept), a_off / SAMPLE_RATE
            voices = collections.Counter(row["family"] + ":" + row["voice"] for row in kept)
            if kept:
                log(f"[corpus] {split}: the first {len(kept)} utterances were written before; going on from there")
            chunks = [(jobs[i:i + chunk], cfg.seed, cfg.roi) for i in range(len(kept), len(jobs), chunk)]
            for res in pool.imap(_synth_chunk, chunks):
                for r in res:
                    j = r["job"]
                    fa.write(r["pcm"].tobytes())
                    fv.write(r["video"].tobytes())
                    row = {k: v for k, v in j.items() if k != "split"}
                    row.update(audio_off=a_off, audio_len=len(r["pcm"]), video_off=v_off,
                               n_frames=int(r["video"].shape[0]), phones=r["phones"])
                    fi.write(json.dumps(row) + "\n")
                    a_off += len(r["pcm"])
                    v_off += r["video"].size
                    dur += len(r["pcm"]) / SAMPLE_RATE
                    voices[j["family"] + ":" + j["voice"]] += 1
                n_done += len(res)
                if n_done % (chunk * 10) == 0 or n_done == len(jobs):
                    log(f"[corpus] {split}: {n_done}/{len(jobs)} utterances, {dur / 3600:.2f} h, {time.time() - t0:.0f} s")
            for fh in (fa, fv, fi):
                fh.close()
            stats["splits"][split] = {
                "utterances": len(jobs), "hours": round(dur / 3600, 3), "seconds_to_generate": round(time.time() - t0, 1),
                "utterances_written_before": len(kept),
                "bytes": a_off * 2 + v_off, "distinct_voices": len(voices),
                "families": sorted({j["family"] for j in jobs}),
                "distinct_sentences": len({j["transcript"] for j in jobs})}
    # an added split's time adds to the corpus's own
    stats["seconds_total"] = round(time.time() - t_start + (stats.get("seconds_total", 0.0) if splits else 0.0), 1)
    stats["bytes_total"] = sum(s["bytes"] for s in stats["splits"].values())
    stats["roi"] = {"size": cfg.roi, "fps": FPS, "dtype": "uint8 grayscale"}
    # per split: an added split may be made later, on another machine, than the corpus's own
    versions = tts.engine_versions()
    for split in plans:
        stats["splits"][split]["tts_versions"] = versions
    dump_json(stats, os.path.join(out_dir, "manifest.json"))
    log(f"[corpus] done: {stats['bytes_total'] / 1e6:.1f} MB in {stats['seconds_total']:.0f} s")
    return stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="work/corpus")
    ap.add_argument("--seed", type=int, default=CorpusConfig.seed)
    ap.add_argument("--n-train", type=int, default=CorpusConfig.n_train)
    ap.add_argument("--n-eval-seen", type=int, default=CorpusConfig.n_eval_seen)
    ap.add_argument("--n-eval-heldout", type=int, default=CorpusConfig.n_eval_heldout)
    ap.add_argument("--n-train-extra", type=int, default=CorpusConfig.n_train_extra,
                    help="utterances of split train_extra (WordNet's example sentences in the training voices)")
    ap.add_argument("--n-train-voices", type=int, default=CorpusConfig.n_train_voices,
                    help="utterances of split train_voices (training sentences in --train-voices)")
    ap.add_argument("--train-voices", default=",".join(CorpusConfig.train_voice_names),
                    help="festival voices of split train_voices, comma-separated")
    ap.add_argument("--n-train-accents", type=int, default=CorpusConfig.n_train_accents,
                    help="utterances of split train_accents (training sentences in festival voices of other "
                         "languages speaking English through a phone map: tts.ACCENT_VOICES)")
    ap.add_argument("--accent-voices", default=",".join(CorpusConfig.accent_voice_names),
                    help="voices of split train_accents, comma-separated (tts.ACCENT_VOICES; upc_ca_ona_hts, the "
                         "Catalan HTS voice, is not among the default ones)")
    ap.add_argument("--splits", default="",
                    help="only these optional splits (train_extra, train_voices, train_accents), added to the "
                         "corpus in --out")
    ap.add_argument("--roi", type=int, default=CorpusConfig.roi)
    ap.add_argument("--workers", type=int, default=CorpusConfig.workers)
    a = ap.parse_args()
    cfg = CorpusConfig(seed=a.seed, n_train=a.n_train, n_eval_seen=a.n_eval_seen, n_eval_heldout=a.n_eval_heldout,
                       n_train_extra=a.n_train_extra, n_train_voices=a.n_train_voices,
                       n_train_accents=a.n_train_accents,
                       train_voice_names=tuple(v for v in a.train_voices.split(",") if v),
                       accent_voice_names=tuple(v for v in a.accent_voices.split(",") if v), roi=a.roi,
                       workers=a.workers)
    generate(cfg, a.out, splits=tuple(s for s in a.splits.split(",") if s))


if __name__ == "__main__":
    main()
