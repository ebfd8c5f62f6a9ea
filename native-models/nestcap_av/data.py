"""Tokenizer, corpus reader, noise/reverb/video augmentation and LM sequence assembly."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import torch

from .config import FPS, SAMPLE_RATE
from .render import viseme_labels
from .tts import resample

SPECIALS = ["<pad>", "<bos>", "<eos>", "<audio>", "</audio>", "<video>", "</video>", "<asr>", "<vsr>", "<avsr>", "<unk>"]
CHARS = list(" 'abcdefghijklmnopqrstuvwxyz")
TASKS = ("asr", "vsr", "avsr")


class CharTokenizer:
    """Character tokenizer; its JSON form (``to_json``) is what the TypeScript engine reads."""

    def __init__(self) -> None:
        self.vocab = SPECIALS + CHARS
        self.index = {t: i for i, t in enumerate(self.vocab)}
        self.pad, self.bos, self.eos = 0, 1, 2
        self.unk = self.index["<unk>"]

    def __len__(self) -> int:
        return len(self.vocab)

    def tok(self, name: str) -> int:
        return self.index[name]

    def encode(self, text: str) -> list[int]:
        return [self.index.get(c, self.unk) for c in text]

    def decode(self, ids) -> str:
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos:
                break
            if i >= len(SPECIALS):
                out.append(self.vocab[i])
        return "".join(out)

    def prompt(self, task: str) -> list[int]:
        return [self.index[f"<{task}>"]]

    def to_json(self) -> dict:
        return {
            "type": "char",
            "vocab": self.vocab,
            "special": {"pad": self.pad, "bos": self.bos, "eos": self.eos, "unk": self.unk,
                        "audio_start": self.tok("<audio>"), "audio_end": self.tok("</audio>"),
                        "video_start": self.tok("<video>"), "video_end": self.tok("</video>")},
            "prompts": {t: self.prompt(t) for t in TASKS},
            "decode": "concatenate vocab[id] for ids >= first_char_id, stop at eos",
            "first_char_id": len(SPECIALS),
            "normalisation": "lower case; characters other than a-z and apostrophe become spaces; spaces collapsed",
        }


class Split:
    """One corpus split held in memory (int16 audio, uint8 video, metadata rows)."""

    def __init__(self, root: str, split: str, roi: int):
        d = os.path.join(root, split)
        with open(os.path.join(d, "index.jsonl"), encoding="utf-8") as f:
            self.rows = [json.loads(line) for line in f]
        self.audio = np.fromfile(os.path.join(d, "audio.i16"), dtype=np.int16)
        self.video = np.fromfile(os.path.join(d, "video.u8"), dtype=np.uint8)
        self.roi = roi

    def __len__(self) -> int:
        return len(self.rows)

    def pcm(self, i: int) -> np.ndarray:
        r = self.rows[i]
        return self.audio[r["audio_off"]: r["audio_off"] + r["audio_len"]].astype(np.float32) / 32768.0

    def frames(self, i: int) -> np.ndarray:
        r = self.rows[i]
        n = r["n_frames"] * self.roi * self.roi
        return self.video[r["video_off"]: r["video_off"] + n].reshape(r["n_frames"], self.roi, self.roi)


class TrainingSet:
    """Several splits read as one, indexed in order (the training split, then extra splits such as
    ``train_extra``): the same ``rows``, ``pcm`` and ``frames`` as a Split."""

    def __init__(self, splits: list[Split]):
        self.splits = splits
        self.rows = [r for s in splits for r in s.rows]
        self.starts = np.cumsum([0] + [len(s) for s in splits])[:-1]

    def __len__(self) -> int:
        return len(self.rows)

    def _locate(self, i: int) -> tuple[Split, int]:
        k = int(np.searchsorted(self.starts, i, side="right")) - 1
        return self.splits[k], i - int(self.starts[k])

    def pcm(self, i: int) -> np.ndarray:
        split, j = self._locate(i)
        return split.pcm(j)

    def frames(self, i: int) -> np.ndarray:
        split, j = self._locate(i)
        return split.frames(j)


# what training samples from: one split, or several read as one
SplitLike = Split | TrainingSet


def training_set(root: str, roi: int, extra_splits: tuple[str, ...] = ()) -> SplitLike:
    """The corpus's training split, with the named extra splits after it."""
    train = Split(root, "train", roi)
    if not extra_splits:
        return train
    missing = [name for name in extra_splits if not os.path.exists(os.path.join(root, name, "index.jsonl"))]
    if missing:
        raise SystemExit(f"{root} has no split {', '.join(missing)}: generate it with python -m nestcap_av.corpus "
                         f"--n-train-extra N")
    return TrainingSet([train, *(Split(root, name, roi) for name in extra_splits)])


# ------------------------------------------------------------------------------------------ augmentation
def pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    spec = np.fft.rfft(rng.normal(0, 1, n))
    f = np.arange(len(spec)) + 1.0
    x = np.fft.irfft(spec / np.sqrt(f), n=n)
    return (x / (np.std(x) + 1e-9)).astype(np.float32)


def babble(rng: np.random.Generator, split: SplitLike, n: int, exclude: int, talkers: int | None = None) -> np.ndarray:
    k = int(talkers or rng.integers(3, 7))
    out = np.zeros(n, np.float32)
    for _ in range(k):
        j = int(rng.integers(0, len(split)))
        if j == exclude:
            continue
        x = split.pcm(j)
        x = x / (np.std(x) + 1e-6)
        if len(x) < n:
            x = np.tile(x, n // max(1, len(x)) + 1)
        off = int(rng.integers(0, len(x) - n + 1))
        out += x[off: off + n]
    return out / (np.std(out) + 1e-9)


def add_noise(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    ps = float(np.mean(x ** 2)) + 1e-10
    pn = float(np.mean(noise ** 2)) + 1e-10
    return x + noise * np.sqrt(ps / (pn * 10 ** (snr_db / 10.0)))


def reverb(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    rt60 = rng.uniform(0.15, 0.7)
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    ir = rng.normal(0, 1, n) * np.exp(-6.9 * t / rt60)
    ir[0] = 1.0 / rng.uniform(0.15, 0.6)
    ir = ir / np.sqrt(np.sum(ir ** 2))
    m = len(x) + n - 1
    nfft = 1 << (m - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, nfft) * np.fft.rfft(ir, nfft), nfft)[: len(x)]
    return (y * (np.std(x) / (np.std(y) + 1e-9))).astype(np.float32)


def occlude(rng: np.random.Generator, v: np.ndarray) -> np.ndarray:
    v = v.copy()
    t, h, w = v.shape
    t0 = int(rng.integers(0, t))
    t1 = t if rng.random() < 0.5 else int(rng.integers(t0, t + 1))
    hh, ww = int(rng.integers(h // 4, h // 2 + 1)), int(rng.integers(w // 4, w // 2 + 1))
    y0, x0 = int(rng.integers(0, h - hh + 1)), int(rng.integers(0, w - ww + 1))
    v[t0:t1, y0: y0 + hh, x0: x0 + ww] = int(rng.integers(0, 256))
    return v


# ------------------------------------------------------------------------------------- video augmentation
# Every training utterance is rendered once, so without these the video encoder learns its renderings faster
# than it learns to read new ones (native-models/README.md, "More video steps"). Lip-reading training
# commonly jitters the crop and mirrors it; lighting varies between real cameras as well.
@dataclass(frozen=True)
class VideoJitter:
    """One clip's change, the same for every frame: mirrored left-right, moved by (dy, dx) pixels with the
    edge pixels held, its contrast scaled by ``gain`` about the clip's mean and ``offset`` grey levels added."""

    flip: bool = False
    dy: int = 0
    dx: int = 0
    gain: float = 1.0
    offset: float = 0.0


def video_augmentation(rng: np.random.Generator, tc) -> VideoJitter | None:
    """A random jitter for a share ``tc.p_video_aug`` of clips, else None; draws nothing when the option is
    off, so runs without it replay their old random sequence."""
    if tc.p_video_aug <= 0 or rng.random() >= tc.p_video_aug:
        return None
    s = tc.video_shift_max
    return VideoJitter(flip=bool(rng.random() < 0.5), dy=int(rng.integers(-s, s + 1)), dx=int(rng.integers(-s, s + 1)),
                       gain=float(rng.uniform(*tc.video_gain_range)),
                       offset=float(rng.uniform(-tc.video_offset_max, tc.video_offset_max)))


def jitter_video(v: np.ndarray, jitter: VideoJitter) -> np.ndarray:
    """``v`` ([T, H, W] uint8 grey) changed by ``jitter``; a new array of the same shape and type."""
    if v.size == 0:
        return v.copy()
    out = v[:, :, ::-1] if jitter.flip else v
    _, h, w = out.shape
    margin = max(abs(jitter.dy), abs(jitter.dx))
    if margin:
        held = np.pad(out, ((0, 0), (margin, margin), (margin, margin)), mode="edge")
        out = held[:, margin - jitter.dy: margin - jitter.dy + h, margin - jitter.dx: margin - jitter.dx + w]
    x = out.astype(np.float32)
    mean = float(x.mean())
    return np.clip(np.rint((x - mean) * jitter.gain + mean + jitter.offset), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------- voice augmentation
# The training voices are few and synthetic; the held-out family differs from them in speed, pitch and
# channel (flite's kal is an 8 kHz voice). These perturbations widen what the audio encoder hears.
def speed_perturb(x: np.ndarray, frames: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Plays the utterance ``factor`` times faster, tempo and pitch together as a tape would, and re-times
    the mouth video to match, so the two streams stay aligned."""
    y = resample(x, SAMPLE_RATE * factor, SAMPLE_RATE)
    n_old = frames.shape[0]
    n_new = max(1, min(video_frames_for(len(y)), int(round(n_old / factor))))
    idx = np.minimum((np.arange(n_new) * factor).astype(np.int64), n_old - 1)
    return y, frames[idx]


def pad_silence(x: np.ndarray, frames: np.ndarray, lead_s: float, tail_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Silence before and after the speech, in whole video frames, the first and last frames held (the mouth
    at rest), so that the two streams stay aligned."""
    lead, tail = int(round(lead_s * FPS)), int(round(tail_s * FPS))
    per_frame = SAMPLE_RATE // FPS
    x = np.concatenate([np.zeros(lead * per_frame, np.float32), x, np.zeros(tail * per_frame, np.float32)])
    frames = np.concatenate([np.repeat(frames[:1], lead, axis=0), frames, np.repeat(frames[-1:], tail, axis=0)])
    return x, frames


def vtlp_map(freqs: np.ndarray, alpha: float, nyquist: float, boundary: float = 4800.0) -> np.ndarray:
    """Vocal tract length perturbation's frequency map (Jaitly and Hinton, 2013): linear by ``alpha`` up
    to a boundary, then a straight line that brings Nyquist back to itself, so no band leaves the signal."""
    knee = boundary * min(alpha, 1.0) / alpha
    upper = nyquist - (nyquist - boundary * min(alpha, 1.0)) / (nyquist - knee) * (nyquist - freqs)
    return np.where(freqs <= knee, freqs * alpha, upper)


def formant_warp(x: np.ndarray, alpha: float, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    """A longer or shorter vocal tract at the same tempo: the short-time spectrum's frequency axis is
    stretched by ``alpha`` (>1 reads as a smaller speaker), magnitudes interpolated, then overlap-added back
    to a waveform of the same length. Speed perturbation moves tempo, pitch and formants together; this
    moves the spectrum alone."""
    if alpha == 1.0 or len(x) < n_fft:
        return x
    window = np.hanning(n_fft + 1)[:-1]
    n_frames = 1 + (len(x) + n_fft - 1) // hop
    padded = np.zeros((n_frames - 1) * hop + n_fft, np.float64)
    padded[n_fft // 2: n_fft // 2 + len(x)] = x
    starts = np.arange(n_frames) * hop
    spec = np.fft.rfft(padded[starts[:, None] + np.arange(n_fft)] * window, axis=1)
    bins = np.fft.rfftfreq(n_fft, 1.0 / SAMPLE_RATE)
    # the source frequency each output bin reads: the inverse of the (monotone) forward map
    source = np.interp(bins, vtlp_map(bins, alpha, SAMPLE_RATE / 2), bins) / (bins[1] - bins[0])
    low = np.clip(np.floor(source).astype(np.int64), 0, len(bins) - 1)
    high = np.minimum(low + 1, len(bins) - 1)
    frac = source - low
    magnitude = (1 - frac) * np.abs(spec[:, low]) + frac * np.abs(spec[:, high])
    # phase as a phase vocoder keeps it: each source bin's instantaneous frequency, moved by the same map,
    # accumulated frame by frame, so that a warped partial stays one steady partial across frames
    omega = 2 * np.pi * bins / SAMPLE_RATE  # radians per sample at each bin's centre
    step = np.diff(np.angle(spec), axis=0, prepend=0.0) - omega * hop
    instantaneous = omega + (np.mod(step + np.pi, 2 * np.pi) - np.pi) / hop
    nearest = np.where(frac < 0.5, low, high)
    moved = vtlp_map(instantaneous[:, nearest] * SAMPLE_RATE / (2 * np.pi), alpha, SAMPLE_RATE / 2)
    advance = moved * 2 * np.pi / SAMPLE_RATE * hop
    advance[0] = 0.0  # the first frame keeps its own phases
    phase = np.angle(spec[0, nearest]) + np.cumsum(advance, axis=0)
    frames = np.fft.irfft(magnitude * np.exp(1j * phase), n=n_fft, axis=1) * window
    out = np.zeros_like(padded)
    norm = np.zeros_like(padded)
    for k, s in enumerate(starts):
        out[s: s + n_fft] += frames[k]
        norm[s: s + n_fft] += window ** 2
    out = out / np.maximum(norm, 1e-8)
    return out[n_fft // 2: n_fft // 2 + len(x)].astype(np.float32)


def random_channel(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """A random microphone and line: a smooth gain curve over frequency (a tilt and two broad bumps, within
    about 6 dB), half the time a low-pass between 3.4 and 7.5 kHz as telephone and 8 kHz voices have, and
    now and then a high-pass below 300 Hz."""
    spec = np.fft.rfft(x.astype(np.float64))
    f = np.fft.rfftfreq(len(x), 1.0 / SAMPLE_RATE)
    octave = np.log2(np.maximum(f, 50.0) / 1000.0)
    gain_db = rng.uniform(-2.0, 2.0) * octave
    for _ in range(2):
        centre, width = rng.uniform(-2.5, 2.5), rng.uniform(0.4, 1.5)
        gain_db += rng.uniform(-6.0, 6.0) * np.exp(-0.5 * ((octave - centre) / width) ** 2)
    if rng.random() < 0.5:
        cutoff = rng.uniform(3400.0, 7500.0)
        gain_db -= 60.0 * np.clip((f - cutoff) / 600.0, 0.0, 1.0)
    if rng.random() < 0.3:
        cutoff = rng.uniform(100.0, 300.0)
        gain_db -= 40.0 * np.clip((cutoff - f) / cutoff, 0.0, 1.0)
    return np.fft.irfft(spec * 10.0 ** (gain_db / 20.0), n=len(x)).astype(np.float32)


def spec_augment(mel: torch.Tensor, rng: np.random.Generator, freq_masks: int = 2, max_freq: int = 8,
                 time_masks: int = 2, max_time: int = 12) -> torch.Tensor:
    """SpecAugment's frequency and time masks on a normalised log-mel batch [B, T, n_mels] (0 is the
    training mean, so a masked cell reads as average energy). Mild: the model is small and CTC must still
    see every character."""
    out = mel.clone()
    b, t, n_mels = out.shape
    for k in range(b):
        for _ in range(freq_masks):
            w = int(rng.integers(0, max_freq + 1))
            f0 = int(rng.integers(0, max(1, n_mels - w)))
            out[k, :, f0: f0 + w] = 0.0
        for _ in range(time_masks):
            w = int(rng.integers(0, min(max_time, max(1, t // 20)) + 1))
            t0 = int(rng.integers(0, max(1, t - w)))
            out[k, t0: t0 + w, :] = 0.0
    return out


def family_weights(split: SplitLike, boost: dict[str, float]) -> np.ndarray | None:
    """Sampling probabilities over the split that weight each TTS family by ``boost`` (1 where unnamed);
    None when nothing is boosted, so uniform sampling keeps its old random sequence."""
    if not boost:
        return None
    w = np.array([float(boost.get(r["family"], 1.0)) for r in split.rows])
    return w / w.sum()


def sample_indices(rng: np.random.Generator, n: int, size: int, weights: np.ndarray | None) -> np.ndarray:
    return rng.integers(0, n, size) if weights is None else rng.choice(n, size, p=weights)


def make_example(split: SplitLike, i: int, rng: np.random.Generator, task: str, snr: float | None, noise_kind: str,
                 do_reverb: bool, video_state: str, speed: float = 1.0, channel: bool = False,
                 pad: tuple[float, float] = (0.0, 0.0), formant: float = 1.0,
                 video_jitter: VideoJitter | None = None) -> dict:
    x = split.pcm(i)
    v = split.frames(i)
    row = split.rows[i]
    # the re-timing and padding only pick and hold frames: done on frame indices, they apply to the video
    # and to its per-frame viseme labels alike
    shown = np.arange(v.shape[0])
    if speed != 1.0:
        x, shown = speed_perturb(x, shown, speed)
    if formant != 1.0:
        x = formant_warp(x, formant)
    if pad != (0.0, 0.0):  # before the channel, reverberation and noise, which the silence then carries
        x, shown = pad_silence(x, shown, *pad)
    visemes = viseme_labels(row["phones"], v.shape[0])[shown] if row.get("phones") else None
    v = v[shown]
    if video_jitter is not None:
        v = jitter_video(v, video_jitter)
    if channel:
        x = random_channel(rng, x)
    if do_reverb:
        x = reverb(rng, x)
    if snr is not None:
        if noise_kind == "white":
            noise = rng.normal(0, 1, len(x)).astype(np.float32)
        elif noise_kind == "pink":
            noise = pink_noise(rng, len(x))
        else:
            noise = babble(rng, split, len(x), i)
        x = add_noise(x, noise, snr)
    x = x * rng.uniform(0.3, 1.0) / (np.max(np.abs(x)) + 1e-6)
    if video_state == "occluded":
        v = occlude(rng, v)
    return {"pcm": x.astype(np.float32), "frames": v, "task": task, "text": row["transcript"], "visemes": visemes}


def sample_example(split: SplitLike, i: int, rng: np.random.Generator, tc, ramp: float = 1.0) -> dict:
    """Training sample with the TrainConfig's task sampling and augmentation policy (``ramp`` scales noise/reverb)."""
    tasks = list(tc.task_probs)
    task = str(rng.choice(tasks, p=np.array([tc.task_probs[t] for t in tasks]) / sum(tc.task_probs.values())))
    snr = None
    if rng.random() < tc.p_noise * ramp:
        snr = tc.snr_choices[int(rng.integers(0, len(tc.snr_choices)))]
    kind = str(rng.choice(["white", "pink", "babble", "babble"]))
    video_state = "ok"
    u = rng.random()
    if u < tc.p_video_missing:
        video_state = "missing"
        if task == "avsr":
            task = "asr"  # as the engine does: no face -> audio-only
    elif u < tc.p_video_missing + tc.p_video_occluded:
        video_state = "occluded"
    if task == "vsr":
        snr = None
    return make_example(split, i, rng, task, snr, kind, rng.random() < tc.p_reverb * ramp, video_state,
                        *voice_perturbation(rng, tc), video_jitter=video_augmentation(rng, tc))


def voice_perturbation(rng: np.random.Generator, tc) -> tuple[float, bool, tuple[float, float], float]:
    """(speed factor, random channel?, (silence before, after) in seconds, formant warp factor) under the
    TrainConfig's voice augmentation; draws nothing for an augmentation that is off, so runs without it
    replay their old random sequence."""
    speed, channel, pad, formant = 1.0, False, (0.0, 0.0), 1.0
    if tc.p_speed > 0 and rng.random() < tc.p_speed:
        speed = float(rng.uniform(*tc.speed_range))
    if tc.p_channel > 0:
        channel = bool(rng.random() < tc.p_channel)
    if tc.p_pad > 0 and rng.random() < tc.p_pad:
        pad = (float(rng.uniform(0.0, tc.pad_max)), float(rng.uniform(0.0, tc.pad_max)))
    if tc.p_formant > 0 and rng.random() < tc.p_formant:
        formant = float(rng.uniform(*tc.formant_range))
    return speed, channel, pad, formant


def collate(examples: list[dict]) -> dict:
    b = len(examples)
    n_a = max(len(e["pcm"]) for e in examples)
    n_v = max(e["frames"].shape[0] for e in examples)
    roi = examples[0]["frames"].shape[1]
    pcm = torch.zeros(b, n_a)
    frames = torch.zeros(b, n_v, roi, roi)
    for k, e in enumerate(examples):
        pcm[k, : len(e["pcm"])] = torch.from_numpy(e["pcm"])
        frames[k, : e["frames"].shape[0]] = torch.from_numpy(e["frames"].astype(np.float32))
    # per-frame viseme classes where every sample has them (-100: padding, which the loss ignores)
    visemes = None
    if all(e.get("visemes") is not None for e in examples):
        visemes = torch.full((b, n_v), -100, dtype=torch.long)
        for k, e in enumerate(examples):
            visemes[k, : len(e["visemes"])] = torch.from_numpy(e["visemes"])
    return {"pcm": pcm, "frames": frames, "visemes": visemes,
            "pcm_len": torch.tensor([len(e["pcm"]) for e in examples]),
            "frame_len": torch.tensor([e["frames"].shape[0] for e in examples]),
            "tasks": [e["task"] for e in examples], "texts": [e["text"] for e in examples]}


def build_sequences(tok: CharTokenizer, emb: torch.nn.Embedding, a_tok: torch.Tensor | None, a_len: torch.Tensor | None,
                    v_tok: torch.Tensor | None, v_len: torch.Tensor | None, tasks: list[str], texts: list[str] | None):
    """Assemble [BOS, <audio> A </audio>, <video> V </video>, prompt, transcript, EOS] per sample, right-padded.

    Returns embeds [B,S,d], labels [B,S] (-100 except transcript/EOS targets) and prefix lengths.
    """
    dev = emb.weight.device
    seqs, labels, prefix_lens = [], [], []

    def e(ids: list[int]) -> torch.Tensor:
        return emb(torch.tensor(ids, dtype=torch.long, device=dev))

    for k, task in enumerate(tasks):
        parts = [e([tok.bos])]
        if task in ("asr", "avsr"):
            parts += [e([tok.tok("<audio>")]), a_tok[k, : int(a_len[k])], e([tok.tok("</audio>")])]
        if task in ("vsr", "avsr"):
            parts += [e([tok.tok("<video>")]), v_tok[k, : int(v_len[k])], e([tok.tok("</video>")])]
        parts.append(e(tok.prompt(task)))
        prefix = torch.cat(parts, 0)
        prefix_lens.append(prefix.shape[0])
        if texts is not None:
            ids = tok.encode(texts[k])
            seq = torch.cat([prefix, e(ids)], 0)
            lab = [-100] * (prefix.shape[0] - 1) + ids + [tok.eos]
        else:
            seq, lab = prefix, [-100] * prefix.shape[0]
        seqs.append(seq)
        labels.append(torch.tensor(lab, dtype=torch.long))
    s_max = max(s.shape[0] for s in seqs)
    d = seqs[0].shape[1]
    out = torch.zeros(len(seqs), s_max, d, device=dev)
    lab_out = torch.full((len(seqs), s_max), -100, dtype=torch.long, device=dev)
    for k, (s, lab) in enumerate(zip(seqs, labels)):
        out[k, : s.shape[0]] = s
        lab_out[k, : len(lab)] = lab
    return out, lab_out, torch.tensor(prefix_lens)


def video_frames_for(n_samples: int) -> int:
    return int(np.ceil(n_samples / SAMPLE_RATE * FPS))
