"""Staged, resumable training.

    /usr/bin/python3 -m nestcap_av.train --corpus work/corpus --run work/runs/mtsk --steps 3000

Stage 1 (``lm``): pre-train the small decoder-only LM on the corpus' training text (``lm_text.txt``), then
freeze it.  Stage 2 (``av``): train encoders, per-scale projectors, LoRA (MS/SS/MSS), optional MoME, with
every (audio, video) rate pair in each step (Llama-MTSK: mean loss over scales) and task sampling per sample
(ASR / VSR / AVSR, Omni-AVSR-style weights).  Checkpoints go to ``<run>/lm.pt`` and ``<run>/last.pt``;
re-running the same command resumes from them (``--steps`` may be raised to continue).  ``<run>/log.jsonl``
records every logged step; ``<run>/state.json`` the totals (steps, seconds, samples, data).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from .config import ModelConfig, TrainConfig, dump_json, from_dict, to_dict
from .data import (
    SPECIALS,
    CharTokenizer,
    SplitLike,
    build_sequences,
    collate,
    family_weights,
    make_example,
    sample_example,
    sample_indices,
    spec_augment,
    training_set,
    video_augmentation,
    voice_perturbation,
)
from .model import AVModel, LM, av_ctc_log_probs, ctc_log_probs
from .phones import Lexicon, PhoneTokenizer


def log_line(path: str, obj: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(obj) + "\n")


def log_step(run_log: str, log, rec: dict) -> None:
    """A training step's record into the run's log.jsonl, and as a line ``[stage] key=value ...``."""
    log_line(run_log, rec)
    log(f"[{rec['stage']}] " + " ".join(f"{k}={v}" for k, v in rec.items() if k != "stage"))


def past_time_limit(tc: TrainConfig, t_start: float) -> bool:
    """Whether ``--max-minutes`` (0 = no limit) has run out since the run started."""
    return tc.max_minutes > 0 and (time.time() - t_start) / 60 > tc.max_minutes


def lr_at(step: int, tc: TrainConfig, base: float, total: int) -> float:
    if step < tc.warmup:
        return base * (step + 1) / tc.warmup
    prog = min(1.0, (step - tc.warmup) / max(1, total - tc.warmup))
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * prog)))


def measure_norms(split: SplitLike, model: AVModel, n: int = 200) -> dict:
    """Global log-mel mean/std and ROI pixel mean/std over a sample of the training split."""
    rng = np.random.default_rng(0)
    idx = rng.choice(len(split), size=min(n, len(split)), replace=False)
    mels, pix = [], []
    with torch.no_grad():
        model.audio.mel.norm.copy_(torch.tensor([0.0, 1.0]))
        for i in idx:
            x = split.pcm(int(i))
            x = x * rng.uniform(0.3, 1.0) / (np.max(np.abs(x)) + 1e-6)
            mels.append(model.audio.mel(torch.from_numpy(x)[None])[0])
            pix.append(split.frames(int(i)).astype(np.float32) / 255.0)
    m = torch.cat(mels, 0)
    p = np.concatenate([v.reshape(-1) for v in pix])
    return {"mel_mean": float(m.mean()), "mel_std": float(m.std()), "roi_mean": float(p.mean()), "roi_std": float(p.std())}


# ------------------------------------------------------------------------------------------------- stage 1
def pseudo_media(lm: LM, ids: list[int], rng: np.random.Generator, substitute: float) -> torch.Tensor:
    """Text rendered as a stand-in for encoder tokens: every character held for 1-3 frames, the frames
    average-pooled by a random rate (as the Matryoshka scales pool real features), a share of characters
    replaced (ambiguity, as lip shapes are), plus noise. Text only: no audio or video is involved."""
    chars = [int(rng.integers(len(SPECIALS), lm.cfg.vocab_size)) if rng.random() < substitute else i for i in ids]
    frames = [c for c in chars for _ in range(int(rng.integers(1, 4)))]
    e = lm.emb(torch.tensor(frames, dtype=torch.long, device=lm.emb.weight.device))
    rate = int(rng.choice([1, 2, 3, 4]))
    if rate > 1 and e.shape[0] >= rate:
        e = F.avg_pool1d(e.t().unsqueeze(0), rate, rate)[0].t()
    return e + 0.02 * torch.randn_like(e)


def lm_batch(lm: LM, tok: CharTokenizer, texts: list[str], rng: np.random.Generator, tc: TrainConfig):
    """Text pre-training batch. Plain sentences, and (share ``lm_transcription_share``) sentences laid out
    as the recognizer lays out a transcription: BOS, <audio> pseudo tokens </audio>, <video> ... </video>,
    prompt, text, EOS. The frozen LM then already knows how to read a transcript off a prefix; the AV stage
    only has to teach the encoders and projectors to speak that prefix's language."""
    tasks = list(tc.task_probs)
    probs = np.array([tc.task_probs[t] for t in tasks])
    seqs, labs = [], []
    dev = lm.emb.weight.device

    def e(x: list[int]) -> torch.Tensor:
        return lm.emb(torch.tensor(x, dtype=torch.long, device=dev))

    for text in texts:
        ids = tok.encode(text)
        task = tasks[int(rng.choice(len(tasks), p=probs / probs.sum()))]
        parts = [e([tok.bos])]
        if rng.random() < tc.lm_transcription_share:
            if task in ("asr", "avsr"):
                parts += [e([tok.tok("<audio>")]), pseudo_media(lm, ids, rng, 0.05), e([tok.tok("</audio>")])]
            if task in ("vsr", "avsr"):
                parts += [e([tok.tok("<video>")]), pseudo_media(lm, ids, rng, 0.3), e([tok.tok("</video>")])]
        parts.append(e(tok.prompt(task)))
        prefix = torch.cat(parts, 0)
        seqs.append(torch.cat([prefix, e(ids)], 0))
        labs.append(torch.tensor([-100] * (prefix.shape[0] - 1) + ids + [tok.eos]))
    s_max = max(x.shape[0] for x in seqs)
    emb = torch.zeros(len(seqs), s_max, seqs[0].shape[1], device=dev)
    labels = torch.full((len(seqs), s_max), -100, dtype=torch.long, device=dev)
    for k, (x, lab) in enumerate(zip(seqs, labs)):
        emb[k, : x.shape[0]] = x
        labels[k, : len(lab)] = lab
    return emb, labels


def pretrain_lm(lm: LM, tok: CharTokenizer, corpus: str, tc: TrainConfig, run: str, log) -> dict:
    path = os.path.join(run, "lm.pt")
    if os.path.exists(path):
        ck = torch.load(path, map_location="cpu")
        lm.load_state_dict(ck["lm"], strict=False)
        log(f"[lm] loaded pre-trained LM from {path} ({ck['info']['steps']} steps)")
        return ck["info"]
    with open(os.path.join(corpus, "lm_text.txt"), encoding="utf-8") as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    rng = np.random.default_rng(tc.seed)
    opt = torch.optim.AdamW(lm.parameters(), lr=tc.lm_lr, weight_decay=0.01)
    t0 = time.time()
    loss_v = float("nan")
    for step in range(tc.lm_steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, tc, tc.lm_lr, tc.lm_steps)
        batch = [lines[int(i)] for i in rng.integers(0, len(lines), tc.lm_batch)]
        emb, labels = lm_batch(lm, tok, batch, rng, tc)
        logits, _, _, _ = lm(emb)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
        opt.step()
        loss_v = float(loss)
        if step % 50 == 0 or step == tc.lm_steps - 1:
            log(f"[lm] step {step} loss {loss_v:.3f} ({time.time() - t0:.0f} s)")
            log_line(os.path.join(run, "log.jsonl"), {"stage": "lm", "step": step, "loss": loss_v, "t": time.time() - t0})
    info = {"steps": tc.lm_steps, "batch": tc.lm_batch, "seconds": round(time.time() - t0, 1), "final_loss": loss_v,
            "text": os.path.join(corpus, "lm_text.txt"), "lines": len(lines), "transcription_share": tc.lm_transcription_share}
    torch.save({"lm": lm.state_dict(), "info": info}, path)
    return info


class StageCheckpoint:
    """A resumable stage's checkpoint: its weights under ``key``, its progress, and the optimizer's moments
    until the stage is done (a finished stage is loaded, not repeated, and needs none)."""

    def __init__(self, path: str, key: str, weights, restore, opt: torch.optim.Optimizer):
        self.path, self.key, self.weights, self.restore, self.opt = path, key, weights, restore, opt

    def load(self, state: dict, log, what: str) -> dict:
        if not os.path.exists(self.path):
            return state
        ck = torch.load(self.path, map_location="cpu")
        self.restore(ck[self.key])
        state = ck["state"]
        if "opt" in ck and not state["done"]:
            self.opt.load_state_dict(ck["opt"])
        log(f"{what} at step {state['step']} ({'done' if state['done'] else 'resuming'})")
        return state

    def save(self, state: dict, done: bool) -> None:
        state["done"] = done
        ck = {self.key: self.weights(), "state": state, **({} if done else {"opt": self.opt.state_dict()})}
        torch.save(ck, self.path + ".tmp")
        os.replace(self.path + ".tmp", self.path)


def clipped_step(opt: torch.optim.Optimizer, loss: torch.Tensor, params: list) -> None:
    """One optimizer step with the gradient norm clipped to 1; a non-finite loss or gradient skips it."""
    opt.zero_grad()
    if torch.isfinite(loss):
        loss.backward()
        if torch.isfinite(torch.nn.utils.clip_grad_norm_(params, 1.0)):
            opt.step()


def advance(state: dict, t_prev: float, samples: int) -> float:
    """Counts one finished step (time, steps, samples) in a stage's state; returns the time it ended."""
    now = time.time()
    state["seconds"] += now - t_prev
    state["step"] += 1
    state["samples"] += samples
    return now


def resolve_device(choice: str) -> str:
    """'auto' becomes 'cuda' where PyTorch sees a GPU, else 'cpu'; asking for CUDA without one is an error."""
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: PyTorch sees no CUDA GPU here (torch.cuda.is_available() is False)")
    if choice not in ("cpu", "cuda"):
        raise SystemExit(f"--device {choice}: expected auto, cpu or cuda")
    return choice


def on_device(batch: dict, device: str) -> dict:
    """A collated batch with its tensors on the training device (samples are made on the CPU)."""
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


# ------------------------------------------------------------------------------------------------- stage 2
def pretrain_encoders(model: AVModel, tok: CharTokenizer, split: SplitLike, tc: TrainConfig, run: str, log,
                      t_start: float) -> dict:
    """CTC-only training of both encoders, or of one (``enc_modalities`` a or v), with no LM pass, so a step
    costs a fraction of an AV step; the AV stage's noise, reverberation and occlusion policy. Checkpoints to
    ``<run>/enc.pt``; re-running resumes, and a finished stage is loaded, not repeated."""
    path = os.path.join(run, "enc.pt")
    state = {"step": 0, "seconds": 0.0, "samples": 0, "done": False, "modalities": tc.enc_modalities}
    audio_only, video_only = tc.enc_modalities == "a", tc.enc_modalities == "v"
    params = (model.audio_parameters() if audio_only else model.video_parameters() if video_only
              else model.encoder_parameters())
    opt = torch.optim.AdamW(params, lr=tc.enc_lr, weight_decay=0.01)
    checkpoint = StageCheckpoint(path, "model", model.state_dict, lambda w: model.load_state_dict(w, strict=False), opt)
    state = checkpoint.load(state, log, "[enc] loaded encoder stage")
    if state["done"] or tc.enc_steps <= 0:
        return state

    run_log = os.path.join(run, "log.jsonl")
    enc_tc = dataclasses.replace(tc, warmup=min(tc.warmup, max(1, tc.enc_steps // 10)))
    t_prev = time.time()
    model.train()
    n = len(split)
    weights = family_weights(split, tc.family_boost)
    audio_phones = model.ctc_p is not None and tc.phone_ctc > 0 and not video_only
    video_phones = model.ctc_vp is not None and tc.video_phone_ctc > 0 and not audio_only
    phones = PhoneTargets(tc.corpus) if audio_phones or video_phones else None
    video_visemes = model.viseme_v is not None and tc.video_viseme > 0 and not audio_only
    while state["step"] < tc.enc_steps:
        step = state["step"]
        rng = np.random.default_rng([tc.seed, 10_000_000 + step])
        idx = sample_indices(rng, n, tc.enc_batch, weights)
        b = on_device(collate([sample_example(split, int(i), rng, tc, 1.0) for i in idx]), tc.device)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, enc_tc, tc.enc_lr, tc.enc_steps)
        mel_augment = (lambda mel, r=rng: spec_augment(mel, r)) if tc.spec_augment else None
        lp = lvp = lvis = None
        if audio_only:
            enc_a, a_len = encode_audio(model, b, mel_augment)
            loss = la = ctc_loss(model.ctc_a, tok, b["texts"], enc_a, a_len)
            if audio_phones:
                lp = phones.loss(model.ctc_p, b["texts"], enc_a, a_len)
                loss = loss + tc.phone_ctc * lp
        elif video_only:
            v_len = b["frame_len"]
            enc_v = model.video(b["frames"], v_len)
            loss = lv = ctc_loss(model.ctc_v, tok, b["texts"], enc_v, v_len)
        else:
            enc_a, a_len, enc_v, v_len = encode_batch(model, b, frozen=False, mel_augment=mel_augment)
            la, lv = ctc_losses(model, tok, b["texts"], enc_a, a_len, enc_v, v_len)
            loss = la + lv
            if audio_phones:
                lp = phones.loss(model.ctc_p, b["texts"], enc_a, a_len)
                loss = loss + tc.phone_ctc * lp
        if video_phones:
            lvp = phones.loss(model.ctc_vp, b["texts"], enc_v, v_len)
            loss = loss + tc.video_phone_ctc * lvp
        if video_visemes and b["visemes"] is not None:
            lvis = F.cross_entropy(model.viseme_v(enc_v).transpose(1, 2), b["visemes"][:, : enc_v.shape[1]],
                                   ignore_index=-100)
            loss = loss + tc.video_viseme * lvis
        clipped_step(opt, loss, params)
        t_prev = advance(state, t_prev, len(idx))
        if step % tc.log_every == 0 or state["step"] == tc.enc_steps:
            rec = {"stage": "enc", "step": step, "t": round(state["seconds"], 1),
                   **({} if video_only else {"ctc_a": round(la.item(), 4)}),
                   **({} if audio_only else {"ctc_v": round(lv.item(), 4)}),
                   **({} if lp is None else {"ctc_p": round(lp.item(), 4)}),
                   **({} if lvp is None else {"ctc_vp": round(lvp.item(), 4)}),
                   **({} if lvis is None else {"viseme": round(lvis.item(), 4)})}
            log_step(run_log, log, rec)
        stop = past_time_limit(tc, t_start)
        if state["step"] % tc.ckpt_every == 0 or stop:
            checkpoint.save(state, False)
        if stop:
            log(f"[enc] time limit reached at step {state['step']}; re-run to resume")
            raise SystemExit(0)
    checkpoint.save(state, True)
    return state


# ------------------------------------------------------------------------------------------------- stage 4
PHONE_HEAD_PREFIX = "phones."  # the audio-visual phone head's tensors in the stage checkpoint


def fusion_weights(model: AVModel) -> dict:
    """The stage's weights: the audio-visual head's, then the audio-visual phone head's, prefixed."""
    weights = dict(model.ctc_av.state_dict())
    if model.ctc_avp is not None:
        weights.update({PHONE_HEAD_PREFIX + k: v for k, v in model.ctc_avp.state_dict().items()})
    return weights


def restore_fusion(model: AVModel, weights: dict) -> None:
    model.ctc_av.load_state_dict({k: v for k, v in weights.items() if not k.startswith(PHONE_HEAD_PREFIX)})
    if model.ctc_avp is not None:
        model.ctc_avp.load_state_dict({k[len(PHONE_HEAD_PREFIX):]: v for k, v in weights.items()
                                       if k.startswith(PHONE_HEAD_PREFIX)})


def fusion_example(split: SplitLike, i: int, rng: np.random.Generator, tc: TrainConfig) -> dict:
    """An audio-visual sample for the fusion head: noisy audio (babble most often, the hardest case) with
    the face in view, now and then occluded (a chunk without a face never reaches the head)."""
    snr = None
    if rng.random() < tc.fusion_p_noise:
        snr = tc.fusion_snr_choices[int(rng.integers(0, len(tc.fusion_snr_choices)))]
    kind = str(rng.choice(["white", "pink", "babble", "babble"]))
    video_state = "occluded" if rng.random() < tc.p_video_occluded else "ok"
    return make_example(split, i, rng, "avsr", snr, kind, rng.random() < tc.p_reverb, video_state,
                        *voice_perturbation(rng, tc), video_jitter=video_augmentation(rng, tc))


def train_fusion(model: AVModel, tok: CharTokenizer, split: SplitLike, tc: TrainConfig, run: str, log,
                 t_start: float) -> dict:
    """CTC training of the audio-visual CTC head alone (and of the audio-visual phone head beside it, its loss
    added, where the model has the phone head), everything else frozen (the LM's prompts, projectors
    and adapters are untouched, so every other output of the model stays as it was). Checkpoints to
    ``<run>/fusion.pt``; re-running resumes, and a finished stage is loaded, not repeated."""
    path = os.path.join(run, "fusion.pt")
    state = {"step": 0, "seconds": 0.0, "samples": 0, "done": False}
    head = model.ctc_av
    if head is None or tc.fusion_steps <= 0:
        return state
    model.freeze_all_but_av_ctc()
    phone_head = model.ctc_avp
    phones = PhoneTargets(tc.corpus) if phone_head is not None else None
    params = list(head.parameters()) + ([] if phone_head is None else list(phone_head.parameters()))
    opt = torch.optim.AdamW(params, lr=tc.fusion_lr, weight_decay=0.01)
    checkpoint = StageCheckpoint(path, "head", lambda: fusion_weights(model), lambda w: restore_fusion(model, w), opt)
    state = checkpoint.load(state, log, "[fusion] loaded")
    if state["done"] and state["step"] >= tc.fusion_steps:
        return state

    run_log = os.path.join(run, "log.jsonl")
    fusion_tc = dataclasses.replace(tc, warmup=min(tc.warmup, max(1, tc.fusion_steps // 10)))
    t_prev = time.time()
    model.eval()
    head.train()
    n = len(split)
    while state["step"] < tc.fusion_steps:
        step = state["step"]
        rng = np.random.default_rng([tc.seed, 20_000_000 + step])
        idx = rng.integers(0, n, tc.fusion_batch)
        b = on_device(collate([fusion_example(split, int(i), rng, tc) for i in idx]), tc.device)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, fusion_tc, tc.fusion_lr, tc.fusion_steps)
        with torch.no_grad():
            enc_a, a_len, enc_v, v_len = encode_batch(model, b, frozen=True)
        lens = torch.minimum(a_len, v_len)
        loss = l_av = ctc_loss_of(av_ctc_log_probs(model, enc_a, enc_v, lens), tok, b["texts"], lens)
        if phones is not None:
            l_avp = phones.loss_of(av_ctc_log_probs(model, enc_a, enc_v, lens, phones=True), b["texts"], lens)
            loss = loss + l_avp
        clipped_step(opt, loss, params)
        t_prev = advance(state, t_prev, len(idx))
        if step % tc.log_every == 0 or state["step"] == tc.fusion_steps:
            rec = {"stage": "fusion", "step": step, "t": round(state["seconds"], 1), "ctc_av": round(l_av.item(), 4),
                   **({} if phones is None else {"ctc_avp": round(l_avp.item(), 4)})}
            log_step(run_log, log, rec)
        stop = past_time_limit(tc, t_start)
        if state["step"] % tc.ckpt_every == 0 or stop:
            checkpoint.save(state, False)
        if stop:
            log(f"[fusion] time limit reached at step {state['step']}; re-run to resume")
            break
    else:
        checkpoint.save(state, True)
    return state


def batches_for_epoch(lengths: np.ndarray, batch: int, seed: int, epoch: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed * 1000 + epoch)
    order = np.argsort(lengths + rng.uniform(0, 8000, len(lengths)), kind="stable")  # noisy length bucketing
    bs = [order[i: i + batch] for i in range(0, len(order) - batch + 1, batch)]
    rng.shuffle(bs)
    return bs


def ctc_loss(head: torch.nn.Module, tok: CharTokenizer, texts: list[str], enc: torch.Tensor,
             lens: torch.Tensor) -> torch.Tensor:
    """Character CTC on an encoder's 25 Hz outputs, two symbols per frame so fast speech stays alignable;
    mean loss per target character."""
    return ctc_loss_of(ctc_log_probs(head, enc), tok, texts, lens)


def ctc_loss_of(log_probs: torch.Tensor, tok: CharTokenizer, texts: list[str], lens: torch.Tensor) -> torch.Tensor:
    """The same for any head's [B, 2T, V] log-probabilities, ``lens`` counting 25 Hz frames."""
    dev = log_probs.device
    tgt = [tok.encode(t) for t in texts]
    t_ = log_probs.shape[1] // 2
    return F.ctc_loss(log_probs.transpose(0, 1), torch.tensor([c for t in tgt for c in t], device=dev),
                      2 * lens.clamp(max=t_), torch.tensor([len(t) for t in tgt], device=dev), blank=tok.pad,
                      zero_infinity=True)


class PhoneTargets:
    """Phone CTC targets from the corpus's pronunciation lexicon; a sample with a word the lexicon lacks
    (about 1 in 170) sits out the phone loss rather than learning a wrong target."""

    def __init__(self, corpus: str):
        self.lexicon = Lexicon.for_corpus(corpus)
        self.tok = PhoneTokenizer()

    def loss(self, head: torch.nn.Module, texts: list[str], enc: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
        return self.loss_of(ctc_log_probs(head, enc), texts, lens)

    def loss_of(self, log_probs: torch.Tensor, texts: list[str], lens: torch.Tensor) -> torch.Tensor:
        """For any phone head's [B, 2T, P] log-probabilities, ``lens`` counting 25 Hz frames."""
        phones = [self.lexicon.transcript(t) for t in texts]
        keep = [i for i, p in enumerate(phones) if p]
        if not keep:
            return log_probs.sum() * 0.0
        idx = torch.tensor(keep, device=log_probs.device)
        return ctc_loss_of(log_probs[idx], self.tok, [phones[i] for i in keep], lens[idx])


def ctc_losses(model: AVModel, tok: CharTokenizer, texts: list[str], enc_a: torch.Tensor, a_len: torch.Tensor,
               enc_v: torch.Tensor, v_len: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return ctc_loss(model.ctc_a, tok, texts, enc_a, a_len), ctc_loss(model.ctc_v, tok, texts, enc_v, v_len)


def encode_audio(model: AVModel, b: dict, mel_augment=None) -> tuple[torch.Tensor, torch.Tensor]:
    a_len = model.audio.out_len(b["pcm_len"])
    return model.audio(b["pcm"], a_len, mel_augment, b["pcm_len"]), a_len


def encode_batch(model: AVModel, b: dict, frozen: bool,
                 mel_augment=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    v_len = b["frame_len"]
    with torch.set_grad_enabled(not frozen and torch.is_grad_enabled()):
        enc_a, a_len = encode_audio(model, b, mel_augment)
        enc_v = model.video(b["frames"], v_len)
    return enc_a, a_len, enc_v, v_len


def av_losses(model: AVModel, tok: CharTokenizer, b: dict, scales: list[int], mc: ModelConfig, tc: TrainConfig):
    enc_a, a_len, enc_v, v_len = encode_batch(model, b, tc.freeze_encoders)
    tasks = b["tasks"]
    dev = enc_a.device
    w = torch.tensor([tc.task_weights[t] for t in tasks], device=dev)
    out: dict[str, torch.Tensor] = {}
    total = torch.zeros((), device=dev)
    if mc.ctc_weight > 0 and not tc.freeze_encoders:
        la, lv = ctc_losses(model, tok, b["texts"], enc_a, a_len, enc_v, v_len)
        out["ctc_a"], out["ctc_v"] = la.detach(), lv.detach()
        total = total + mc.ctc_weight * (la + 0.5 * lv)
    lm_total = torch.zeros((), device=dev)
    for k in scales:
        ra, rv = mc.scales[k]
        at, vt = model.audio_tokens(enc_a, k), model.video_tokens(enc_v, k)
        emb, labels, _ = build_sequences(tok, model.lm.emb, at, torch.div(a_len, ra, rounding_mode="floor").clamp(max=at.shape[1]),
                                         vt, torch.div(v_len, rv, rounding_mode="floor").clamp(max=vt.shape[1]), tasks, b["texts"])
        logits, _, hidden, aux = model.lm(emb, lora=model.lora.for_scale(k), want_hidden=mc.sink_loss > 0)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100, reduction="none")
        ce = ce.view(labels.shape)
        valid = (labels != -100).float()
        per = (ce * valid).sum(1) / valid.sum(1).clamp(min=1)
        loss_k = (per * w).sum() / w.sum()
        out[f"ce_s{k}"] = loss_k.detach()
        if mc.sink_loss > 0 and len(hidden) > 2:
            # decorrelate BOS from the other (non-pad) tokens in intermediate layers
            seq_valid = torch.zeros(labels.shape, device=dev)
            lens = (labels != -100).long().cumsum(1).argmax(1) + 1
            for j, n in enumerate(lens):
                seq_valid[j, 1: int(n)] = 1.0
            sink = torch.zeros((), device=dev)
            for h in hidden[1:-1]:
                cos = F.cosine_similarity(h[:, :1], h, dim=-1) ** 2
                sink = sink + (cos * seq_valid).sum() / seq_valid.sum()
            sink = sink / (len(hidden) - 2)
            out[f"sink_s{k}"] = sink.detach()
            loss_k = loss_k + mc.sink_loss * sink
        if mc.mome:
            loss_k = loss_k + 0.01 * aux
        lm_total = lm_total + loss_k
    total = total + lm_total / len(scales)
    out["loss"] = total
    return out


def lineage(tc: TrainConfig) -> dict | None:
    """What the seeded weights went through: the seeding runs' own records, recursively (provenance).
    A resumed run keeps the record it started with, so its seeding runs need not be on this machine (a run
    unpacked from checkpoints/ has only itself)."""
    if not tc.init_from:
        return None
    own = os.path.join(tc.run_dir, "state.json")
    if os.path.exists(own):
        with open(own, encoding="utf-8") as f:
            recorded = json.load(f).get("seeded_from")
        if recorded is not None:
            return recorded

    def record(run: str, nested: bool) -> dict:
        with open(os.path.join(run, "state.json"), encoding="utf-8") as f:
            st = json.load(f)
        seeds = st.get("seeded_from")
        if not nested and seeds is not None:
            seeds = {role: seed_name(node) for role, node in seeds.items()}
        return {"run": run, "state": st.get("state"), "encoders": st.get("encoders"), "train": st.get("train"),
                "seeded_from": seeds}

    # The adapters' seeds are named, not nested: nesting both records repeated the common ancestors, and the
    # record doubled with every generation (2.4 MB by run j). Their records stay in the encoders' chain or
    # in the packed checkpoints' logs.
    out = {"lm_and_encoders": record(tc.init_from, nested=True)}
    if tc.init_adapters_from:
        out["adapters"] = record(tc.init_adapters_from, nested=False)
    return out


def seed_name(node: dict | str) -> str:
    """The run a ``seeded_from`` entry names: a nested record's ``run``, or the name itself."""
    return node if isinstance(node, str) else node["run"]


def flat_lineage(record: dict | None) -> dict | None:
    """``lineage``'s nested record with each seeding run's record once: ``seeded_from`` names the runs by role
    and ``runs`` holds their records, whose own ``seeded_from`` name runs the same way (an entry that is a
    name already, as the adapters' seeds are, stays that name). Runs seeded both
    weights and adapters from the same ancestors, so the nested record repeats them and doubles with each
    generation; a run recorded at two different states (resumed between its descendants) is kept twice,
    the second keyed ``<run>@<AV step>``."""
    if record is None:
        return None
    runs: dict[str, dict] = {}

    def key_of(node: dict) -> str:
        entry = {k: v for k, v in node.items() if k not in ("run", "seeded_from")}
        entry["seeded_from"] = names(node.get("seeded_from"))
        key, collisions = node["run"], 0
        while key in runs and runs[key] != entry:
            collisions += 1
            key = f"{node['run']}@{(node.get('state') or {}).get('step')}" + (f"#{collisions}" if collisions > 1 else "")
        runs.setdefault(key, entry)
        return key

    def names(roles: dict | None) -> dict | None:
        return None if roles is None else {role: node if isinstance(node, str) else key_of(node)
                                           for role, node in roles.items() if isinstance(node, (dict, str))}

    return {"seeded_from": names(record), "runs": runs}


def without_resized(model: torch.nn.Module, seed: dict) -> tuple[dict, list[str]]:
    """Seed tensors minus those whose shape differs in ``model`` (a part resized since, say a wider audio
    encoder, starts fresh while everything else is seeded), and the names left out."""
    own = model.state_dict()
    resized = sorted(k for k, v in seed.items() if k in own and own[k].shape != v.shape)
    return {k: v for k, v in seed.items() if k not in resized}, resized


def identity_start_added_blocks(model: AVModel, missing: list[str], resized: list[str]) -> list[str]:
    """Encoder blocks that the seeding run lacked start as the identity (their attention output and second
    feed-forward layer zeroed, so both residual branches add nothing), as an added convolution module does:
    deepening a trained encoder leaves its features, and so its CTC heads, as they were at the first step.
    A resized encoder starts fresh as a whole and keeps its usual initialisation. Returns the blocks so
    started."""
    started = []
    for name in ("audio", "video"):
        if any(k.startswith(f"{name}.") for k in resized):
            continue
        for i, block in enumerate(getattr(model, name).blocks):
            if f"{name}.blocks.{i}.o.weight" in missing:
                with torch.no_grad():
                    for layer in (block.o, block.fc2):
                        layer.weight.zero_()
                        layer.bias.zero_()
                started.append(f"{name}.blocks.{i}")
    return started


def build_model(mc: ModelConfig) -> AVModel:
    return AVModel(mc)


def train(tc: TrainConfig, mc: ModelConfig, log=print, lm_from: str | None = None) -> dict:
    t_start = time.time()
    torch.set_num_threads(tc.threads)
    torch.manual_seed(tc.seed)
    os.makedirs(tc.run_dir, exist_ok=True)
    tok = CharTokenizer()
    cfg_path = os.path.join(tc.run_dir, "config.json")
    if os.path.exists(cfg_path):  # resume: model config and most of train config come from the run
        with open(cfg_path, encoding="utf-8") as f:
            saved = json.load(f)
        mc = from_dict(ModelConfig, saved["model"])
        # the run directory is where the run is now: a copied run trains on in its copy, not its original
        keep = {"run_dir": tc.run_dir, "steps": tc.steps, "enc_steps": tc.enc_steps, "fusion_steps": tc.fusion_steps,
                "max_minutes": tc.max_minutes, "threads": tc.threads, "device": tc.device}
        if tc.adapter_lr_mult != 1.0:
            keep["adapter_lr_mult"] = tc.adapter_lr_mult
        tc = from_dict(TrainConfig, saved["train"])
        for k, v in keep.items():
            setattr(tc, k, v)
    mc.vocab_size = len(tok)
    if tc.fusion_steps > 0 and mc.av_ctc_dim <= 0:
        raise SystemExit(f"{tc.run_dir} was created without the audio-visual CTC head, so --fusion-steps has "
                         f"nothing to train; start a new run seeded from it: --init-from {tc.run_dir} "
                         f"--init-adapters-from {tc.run_dir} --freeze-encoders --steps 0 --fusion-steps N")
    split = training_set(tc.corpus, mc.roi, tc.extra_splits)
    model = build_model(mc)
    init = None
    if tc.init_from and not os.path.exists(os.path.join(tc.run_dir, "last.pt")):
        # the seeded weights were trained on the earlier run's input normalisation: keep it
        with open(os.path.join(tc.init_from, "config.json"), encoding="utf-8") as f:
            init_norms = json.load(f)["norms"]
        seeded = ("lm.", "audio.", "video.", "ctc_a.", "ctc_v.", "ctc_p.", "ctc_vp.", "viseme_v.")
        init = {k: v for k, v in torch.load(os.path.join(tc.init_from, "last.pt"), map_location="cpu")["model"].items()
                if k.startswith(seeded)}
        if tc.init_adapters_from:  # warm start for a model that is not part of an equal-budget comparison
            adapters = ("proj_a.", "proj_v.", "lora.", "lm.mome.")
            init.update({k: v for k, v in torch.load(os.path.join(tc.init_adapters_from, "last.pt"),
                                                     map_location="cpu")["model"].items()
                         if k.startswith(adapters)})
    if not os.path.exists(cfg_path):
        norms = init_norms if init is not None else measure_norms(split, model)
        mc.roi_mean, mc.roi_std = round(norms["roi_mean"], 4), round(norms["roi_std"], 4)
        model = build_model(mc)
        model.audio.mel.norm.copy_(torch.tensor([norms["mel_mean"], norms["mel_std"]]))
        dump_json({"model": to_dict(mc), "train": to_dict(tc), "norms": norms}, cfg_path)
    else:
        with open(cfg_path, encoding="utf-8") as f:
            norms = json.load(f)["norms"]
        model.audio.mel.norm.copy_(torch.tensor([norms["mel_mean"], norms["mel_std"]]))
    if lm_from and not os.path.exists(os.path.join(tc.run_dir, "lm.pt")):
        import shutil

        shutil.copy(lm_from, os.path.join(tc.run_dir, "lm.pt"))
    if init is not None:
        init, resized = without_resized(model, init)
        missing, unexpected = model.load_state_dict(init, strict=False)
        log(f"[init] weights from {tc.init_from}; new: {missing}; dropped: {unexpected}; resized: {resized}")
        log(f"[init] added blocks starting as the identity: {identity_start_added_blocks(model, missing, resized)}")
        lm_path = os.path.join(tc.run_dir, "lm.pt")
        if not os.path.exists(lm_path):
            with open(os.path.join(tc.init_from, "state.json"), encoding="utf-8") as f:
                init_lm_info = json.load(f)["lm"]
            torch.save({"lm": model.lm.state_dict(), "info": {**init_lm_info, "from": tc.init_from}}, lm_path)
    tc.device = resolve_device(tc.device)
    model.to(tc.device)
    log(f"[device] training on {tc.device}" + (f" ({torch.cuda.get_device_name()})" if tc.device == "cuda" else ""))
    lm_info = pretrain_lm(model.lm, tok, tc.corpus, tc, tc.run_dir, log)
    model.freeze_lm()
    enc_info = pretrain_encoders(model, tok, split, tc, tc.run_dir, log, t_start)
    if tc.freeze_encoders:
        model.freeze_encoders()
    params = [p for p in model.parameters() if p.requires_grad]
    is_adapter = ("proj_a.", "proj_v.", "lora.", "lm.mome.")
    groups = [{"params": [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith(is_adapter)], "mult": 1.0},
              {"params": [p for n, p in model.named_parameters() if p.requires_grad and n.startswith(is_adapter)],
               "mult": tc.adapter_lr_mult}]
    opt = torch.optim.AdamW(groups, lr=tc.lr, weight_decay=0.01)
    state = {"step": 0, "seconds": 0.0, "samples": 0, "epoch": 0, "batch_in_epoch": 0}
    # Fresh Adam moments on resume take full-size steps at once; warm the rate up again instead.
    rewarm_from: int | None = None
    last = os.path.join(tc.run_dir, "last.pt")
    if os.path.exists(last):
        ck = torch.load(last, map_location="cpu")
        missing, unexpected = model.load_state_dict(ck["model"], strict=False)
        state = ck["state"]
        if missing or unexpected:
            log(f"[av] checkpoint from an earlier model version: new {missing}, dropped {unexpected}")
            state.setdefault("model_changes", []).append({"at_step": state["step"], "new": missing, "dropped": unexpected})
        if "opt" not in ck:  # a portable checkpoint (nestcap_av.portable) keeps no optimizer moments
            log("[av] checkpoint has no optimizer state, starting fresh Adam moments")
            rewarm_from = state["step"]
        else:
            try:
                opt.load_state_dict(ck["opt"])
            except ValueError:  # parameter grouping changed (e.g. adapter_lr_mult introduced): fresh moments
                log("[av] optimizer state not compatible, starting fresh Adam moments")
                rewarm_from = state["step"]
        log(f"[av] resumed at step {state['step']} ({state['seconds']:.0f} s trained)")
    n_scales = len(mc.scales)
    lengths = np.array([r["audio_len"] for r in split.rows])
    batches = batches_for_epoch(lengths, tc.batch, tc.seed, state["epoch"])
    t_prev = time.time()
    run_log = os.path.join(tc.run_dir, "log.jsonl")
    fusion_info: dict | None = None

    def save() -> None:
        ck = {"model": model.state_dict(), "opt": opt.state_dict(), "state": state}
        torch.save(ck, last + ".tmp")
        os.replace(last + ".tmp", last)
        info = {"model": to_dict(mc), "train": to_dict(tc), "lm": lm_info, "encoders": enc_info, "state": state,
                "fusion": fusion_info, "seeded_from": lineage(tc), "norms": norms,
                "corpus_manifest": os.path.join(tc.corpus, "manifest.json")}
        dump_json(info, os.path.join(tc.run_dir, "state.json"))

    model.train()
    while state["step"] < tc.steps:
        step = state["step"]
        if state["batch_in_epoch"] >= len(batches):
            state["epoch"] += 1
            state["batch_in_epoch"] = 0
            batches = batches_for_epoch(lengths, tc.batch, tc.seed, state["epoch"])
        idx = batches[state["batch_in_epoch"]]
        rng = np.random.default_rng([tc.seed, step])
        ramp = min(1.0, (step + 1) / max(1, tc.noise_ramp_steps))
        b = on_device(collate([sample_example(split, int(i), rng, tc, ramp) for i in idx]), tc.device)
        if tc.fixed_scale >= 0:
            scales = [tc.fixed_scale]
        elif tc.scales_per_step > 0:
            scales = sorted(rng.choice(n_scales, size=tc.scales_per_step, replace=False).tolist())
        else:
            scales = list(range(n_scales))
        rewarm = 1.0 if rewarm_from is None else min(1.0, (step - rewarm_from + 1) / tc.warmup)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, tc, tc.lr, tc.steps) * g.get("mult", 1.0) * rewarm
        out = av_losses(model, tok, b, scales, mc, tc)
        opt.zero_grad()
        if torch.isfinite(out["loss"]):
            out["loss"].backward()
            gnorm = torch.nn.utils.clip_grad_norm_(params, 1.0)
            if torch.isfinite(gnorm):
                opt.step()
            else:
                state["skipped"] = state.get("skipped", 0) + 1
        else:
            state["skipped"] = state.get("skipped", 0) + 1
        now = time.time()
        state["seconds"] += now - t_prev
        t_prev = now
        state["step"] += 1
        state["samples"] += len(idx)
        state["batch_in_epoch"] += 1
        if step % tc.log_every == 0 or state["step"] == tc.steps:
            rec = {"stage": "av", "step": step, "t": round(state["seconds"], 1),
                   **{k: round(v.item(), 4) for k, v in out.items()}}
            log_step(run_log, log, rec)
        stop = past_time_limit(tc, t_start)
        if state["step"] % tc.ckpt_every == 0 or state["step"] == tc.steps or stop:
            save()
        if stop:
            log(f"[av] time limit reached at step {state['step']}")
            break
    save()
    if state["step"] >= tc.steps and model.ctc_av is not None:
        fusion_info = train_fusion(model, tok, split, tc, tc.run_dir, log, t_start)
        save()
    return state


def snr_text(choices: tuple[float | None, ...]) -> str:
    return ",".join("clean" if v is None else f"{v:g}" for v in choices)


def snr_choices_from(text: str) -> tuple[float | None, ...]:
    """``--snr``'s list: dB values, and ``clean`` for a draw without noise."""
    choices: list[float | None] = []
    for item in (v.strip() for v in text.split(",")):
        if item == "clean":
            choices.append(None)
            continue
        try:
            choices.append(float(item))
        except ValueError:
            raise SystemExit(f"--snr: {item!r} is neither a number of dB nor 'clean'") from None
    return tuple(choices)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=TrainConfig.corpus)
    ap.add_argument("--run", default=TrainConfig.run_dir)
    ap.add_argument("--steps", type=int, default=TrainConfig.steps)
    ap.add_argument("--batch", type=int, default=TrainConfig.batch)
    ap.add_argument("--lm-steps", type=int, default=TrainConfig.lm_steps)
    ap.add_argument("--lm-from", default=None, help="reuse a pre-trained LM checkpoint (lm.pt) from another run")
    ap.add_argument("--max-minutes", type=float, default=0.0)
    ap.add_argument("--adapter-lr-mult", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                    help="where to train: auto = CUDA when PyTorch sees a GPU, else the CPU")
    ap.add_argument("--lora", default=ModelConfig.lora_variant, choices=["MS", "SS", "MSS"])
    ap.add_argument("--mome", action="store_true")
    ap.add_argument("--sink", type=float, default=0.0)
    ap.add_argument("--compression", default="avg", choices=["avg", "stack"])
    ap.add_argument("--fixed-scale", type=int, default=-1)
    ap.add_argument("--scales-per-step", type=int, default=0)
    ap.add_argument("--roi", type=int, default=32)
    ap.add_argument("--tiny", action="store_true", help="tiny dimensions for smoke tests")
    ap.add_argument("--ckpt-every", type=int, default=TrainConfig.ckpt_every)
    ap.add_argument("--noise-ramp-steps", type=int, default=TrainConfig.noise_ramp_steps,
                    help="steps over which the share of noisy/reverberant samples ramps up (curriculum)")
    ap.add_argument("--lm-transcription-share", type=float, default=TrainConfig.lm_transcription_share,
                    help="share of LM pre-training sentences laid out as transcriptions of a pseudo-media prefix")
    ap.add_argument("--lm-pos-scale", type=float, default=ModelConfig.lm_pos_scale,
                    help="weight of the LM's sinusoidal positions relative to token embeddings")
    ap.add_argument("--lora-rank", type=int, default=ModelConfig.lora_rank, help="rank of each LoRA adapter")
    ap.add_argument("--enc-steps", type=int, default=TrainConfig.enc_steps,
                    help="CTC-only encoder pre-training steps before the AV stage (0 = none)")
    ap.add_argument("--enc-batch", type=int, default=TrainConfig.enc_batch)
    ap.add_argument("--enc-lr", type=float, default=TrainConfig.enc_lr)
    ap.add_argument("--enc-modalities", default=TrainConfig.enc_modalities, choices=["av", "a", "v"],
                    help="encoders the CTC-only stage trains: both, the audio encoder alone or the video encoder alone")
    ap.add_argument("--audio-dim", type=int, default=0, help="width of the audio encoder (0 = default or seeded)")
    ap.add_argument("--audio-layers", type=int, default=0,
                    help="blocks of the audio encoder (0 = default or seeded); blocks a seeding run of the same width "
                         "lacks start as the identity")
    ap.add_argument("--audio-cmn", action="store_true",
                    help="take each utterance's mean log-mel per bin out inside the graph (over its speech frames); "
                         "a seeded run keeps its own setting unless this turns it on")
    ap.add_argument("--video-layers", type=int, default=0,
                    help="blocks of the video encoder (0 = default or seeded); blocks a seeding run lacks start as "
                         "the identity")
    ap.add_argument("--video-grid", type=int, default=0, choices=[0, 2, 4],
                    help="spatial grid the lip front end pools to (0 = default or seeded); a new grid's linear layer starts fresh")
    ap.add_argument("--freeze-encoders", action="store_true",
                    help="AV stage trains projectors, LoRA and MoME only (as Llama-MTSK on its frozen encoders)")
    ap.add_argument("--init-from", default="",
                    help="run directory whose LM and encoders (weights, dimensions, normalisation) seed this run; "
                         "projectors, LoRA and MoME start fresh")
    ap.add_argument("--init-adapters-from", default="",
                    help="with --init-from: a run whose projectors, LoRA and MoME seed this run's (a warm start)")
    ap.add_argument("--encoder-conv-kernel", type=int, default=ModelConfig.encoder_conv_kernel,
                    help="depthwise kernel of a convolution module after each encoder block (0 = none)")
    ap.add_argument("--fusion-steps", type=int, default=TrainConfig.fusion_steps,
                    help="steps of the audio-visual CTC head after the AV stage, all else frozen (0 = none)")
    ap.add_argument("--fusion-dim", type=int, default=128, help="width of the audio-visual CTC head")
    ap.add_argument("--p-speed", type=float, default=TrainConfig.p_speed,
                    help="share of training samples played faster or slower (tempo and pitch together)")
    ap.add_argument("--speed-range", default="0.88,1.12", help="lowest,highest speed factor")
    ap.add_argument("--p-formant", type=float, default=TrainConfig.p_formant,
                    help="share of training samples whose spectrum is stretched at the same tempo (vocal tract length)")
    ap.add_argument("--formant-range", default="0.9,1.1", help="lowest,highest spectrum stretch factor")
    ap.add_argument("--p-channel", type=float, default=TrainConfig.p_channel,
                    help="share of training samples through a random channel (EQ curve, low- or high-pass)")
    ap.add_argument("--p-pad", type=float, default=TrainConfig.p_pad,
                    help="share of training samples with silence before and after the speech, as the engine's chunks")
    ap.add_argument("--pad-max", type=float, default=TrainConfig.pad_max,
                    help="longest silence on either side, in seconds")
    ap.add_argument("--p-video-aug", type=float, default=TrainConfig.p_video_aug,
                    help="share of training clips mirrored, moved, and changed in contrast and brightness")
    ap.add_argument("--video-shift-max", type=int, default=TrainConfig.video_shift_max,
                    help="largest move of an augmented clip, in pixels of the mouth crop, each axis")
    ap.add_argument("--p-noise", type=float, default=TrainConfig.p_noise,
                    help="share of training samples (AV and encoder stages) given additive white, pink or babble noise")
    ap.add_argument("--snr", default=snr_text(TrainConfig.snr_choices),
                    help="comma-separated SNRs in dB that a noisy sample draws from, uniformly; 'clean' draws no noise")
    ap.add_argument("--spec-augment", action="store_true", help="SpecAugment masks in the encoder stage")
    ap.add_argument("--extra-split", action="append", default=[],
                    help="a corpus split to train on besides train, every stage (e.g. train_extra: WordNet's sentences)")
    ap.add_argument("--phone-ctc", type=float, default=TrainConfig.phone_ctc,
                    help="weight of a phone CTC head's loss in the encoder stage (0 = none; the head is seeded "
                         "from --init-from when that run has one)")
    ap.add_argument("--video-phone-ctc", type=float, default=TrainConfig.video_phone_ctc,
                    help="weight of a phone CTC head's loss on the video encoder in the encoder stage (0 = none; "
                         "training only, like the video encoder's character head)")
    ap.add_argument("--video-viseme", type=float, default=TrainConfig.video_viseme,
                    help="weight of a per-frame viseme classifier's loss on the video encoder in the encoder stage "
                         "(0 = none; training only; the labels come from the corpus's phone timings)")
    ap.add_argument("--family-boost", action="append", default=[],
                    help="family=weight: oversample a training TTS family in the encoder stage (e.g. festival=2)")
    a = ap.parse_args()
    lo, hi = (float(v) for v in a.speed_range.split(","))
    formant_lo, formant_hi = (float(v) for v in a.formant_range.split(","))
    boost = {k: float(v) for k, v in (item.split("=", 1) for item in a.family_boost)}
    snrs = snr_choices_from(a.snr)
    tc = TrainConfig(corpus=a.corpus, run_dir=a.run, steps=a.steps, batch=a.batch, lm_steps=a.lm_steps,
                     max_minutes=a.max_minutes, threads=a.threads, device=a.device, fixed_scale=a.fixed_scale,
                     scales_per_step=a.scales_per_step, ckpt_every=a.ckpt_every,
                     adapter_lr_mult=a.adapter_lr_mult, noise_ramp_steps=a.noise_ramp_steps,
                     lm_transcription_share=a.lm_transcription_share, enc_steps=a.enc_steps,
                     enc_batch=a.enc_batch, enc_lr=a.enc_lr, enc_modalities=a.enc_modalities,
                     freeze_encoders=a.freeze_encoders, fusion_steps=a.fusion_steps,
                     init_from=a.init_from, init_adapters_from=a.init_adapters_from, p_speed=a.p_speed,
                     speed_range=(lo, hi), p_formant=a.p_formant, formant_range=(formant_lo, formant_hi),
                     p_channel=a.p_channel, p_pad=a.p_pad, pad_max=a.pad_max, p_video_aug=a.p_video_aug,
                     video_shift_max=a.video_shift_max,
                     spec_augment=a.spec_augment, p_noise=a.p_noise, snr_choices=snrs,
                     extra_splits=tuple(a.extra_split), phone_ctc=a.phone_ctc,
                     video_phone_ctc=a.video_phone_ctc, video_viseme=a.video_viseme, family_boost=boost)
    mc = ModelConfig(lora_variant=a.lora, mome=a.mome, sink_loss=a.sink, compression=a.compression, roi=a.roi,
                     lora_rank=a.lora_rank, lm_pos_scale=a.lm_pos_scale,
                     encoder_conv_kernel=a.encoder_conv_kernel)
    # dimensions of the seeded parts come from that run; the options given here apply on top. A resumed run
    # has its own config (train() reads it), and its seeding runs need not be on this machine (portable).
    if a.init_from and not os.path.exists(os.path.join(a.run, "config.json")):
        with open(os.path.join(a.init_from, "config.json"), encoding="utf-8") as f:
            base = from_dict(ModelConfig, json.load(f)["model"])
        base.lora_variant, base.mome, base.sink_loss, base.compression = mc.lora_variant, mc.mome, mc.sink_loss, mc.compression
        base.lora_rank = a.lora_rank
        base.encoder_conv_kernel = a.encoder_conv_kernel or base.encoder_conv_kernel
        base.av_ctc_dim = 0  # the audio-visual CTC head is never seeded: a run has one only if it trains one
        mc = base
    if a.tiny:
        tc.log_every = 1
        mc.lora_rank = 4
        if not a.init_from:  # a seeded tiny run keeps its seed's dimensions
            mc.audio_dim = mc.video_dim = 32
            mc.lm_dim, mc.lm_ff, mc.lm_layers = 64, 128, 2
            mc.audio_layers = mc.video_layers = 1
    # a resized audio encoder starts fresh (the seeding skips tensors whose shape changed); added video blocks too
    mc.audio_dim = a.audio_dim or mc.audio_dim
    mc.audio_layers = a.audio_layers or mc.audio_layers
    mc.audio_cmn = a.audio_cmn or mc.audio_cmn
    mc.video_layers = a.video_layers or mc.video_layers
    mc.video_grid = a.video_grid or mc.video_grid
    if a.fixed_scale >= 0:
        mc.lora_variant = "MS"
    if a.phone_ctc > 0 or a.video_phone_ctc > 0:
        mc.phone_vocab = len(PhoneTokenizer())
    if a.video_phone_ctc > 0:
        mc.video_phone_head = True
    if a.video_viseme > 0:
        mc.video_viseme_head = True
    if a.fusion_steps > 0:
        mc.av_ctc_dim = a.fusion_dim if not a.tiny else 32
    train(tc, mc, lm_from=a.lm_from)


if __name__ == "__main__":
    main()
