"""Evaluation report (EVAL.md + eval.json) on sentences never seen in training.

    /usr/bin/python3 -m nestcap_av.evaluate --run work/runs/mtsk --bundle nestcap-av-small --limit 300 \
        [--fixed s0=work/runs/fixed_s0 --fixed s3=work/runs/fixed_s3] [--pool-baseline work/runs/fixed_s0] \
        [--compare "MS=work/runs/ms" --compare "SS=work/runs/ss" --compare "MSS+MoME=work/runs/mss_mome" ...]

Decoding in PyTorch (the graphs are checked against PyTorch by the parity test), as the engine decodes by
default: CTC prefix beam search with the look-ahead word LM, its N best rescored by the LM (video-only:
greedy), at weights chosen on development utterances; section 1c compares the LM-driven searches (greedy
and beam search with the KV cache).
WER: lower case, punctuation stripped, word-level Levenshtein summed over the set.  Noise: babble made of
other evaluation utterances at 10, 0 and -5 dB SNR (seeded).  VSR does not depend on audio noise, so it is
decoded once per utterance and reported for every noise column.  The report's tables follow Table 1 of
Llama-MTSK (rows: method/condition, columns: (audio, video) rate pairs).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .config import FPS, NO_REPEAT_NGRAM, SAMPLE_RATE, dump_json
from .data import CharTokenizer, Split, make_example
from .decoding import (
    DECODING_METHODS,
    DEFAULT_CTC_WEIGHT,
    audio_ctc,
    audio_visual_ctc,
    beam_search,
    ctc_greedy,
    ctc_prefix_beam,
    fused_phone_nbest,
    greedy,
    mean_top_probability,
    parse_video_fusion,
    phone_nbest,
    rescore,
    VideoFusion,
)
from .export import default_decoding, load_run, prefix_embeds
from .model import AVModel, av_ctc_log_probs, compress, ctc_log_probs
from .train import flat_lineage
from .phones import Lexicon, PhoneticWordLM
from .speedvote import SpeedVote, check_speed_vote, frames_at, parse_speed_vote, play_at, vote
from .wordlm import WordLM

NOISES: list[tuple[str, float | None]] = [("clean", None), ("10dB", 10.0), ("0dB", 0.0), ("-5dB", -5.0)]
TASKS = ["asr", "vsr", "avsr"]
# the CTC heads' and the searches' own rows (scale-independent, not a decoding of the model)
HEAD_ROWS = ("ctc/", "search/", "charsearch/", "avctc/", "avsearch/", "avcharsearch/", "avfused/")
TASK_NAME = {"asr": "audio-only", "vsr": "video-only", "avsr": "audio-visual"}
REFERENCE = "MSS, baselines' budget"
POOLING = "training-free pooling (fixed (2,2) model pooled harder)"
SHIPPED = "single model (shipped)"
# silence the engine keeps either side of a voice-activity span (electron/engine/caption-engine.ts,
# paddingSeconds); the corpus trims its utterances, so the main tables never see any
ENGINE_CHUNK_PADDING_S = 0.15


def edit_distance(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


class WER:
    def __init__(self) -> None:
        self.err = 0
        self.words = 0
        self.utterances = 0

    def add(self, ref: str, hyp: str) -> None:
        r, h = ref.split(), hyp.split()
        self.err += edit_distance(r, h)
        self.words += len(r)
        self.utterances += 1

    @property
    def value(self) -> float:
        return 100.0 * self.err / max(1, self.words)


class Scores:
    """WER per key over the whole set, and per voice group for the rows that name one."""

    def __init__(self) -> None:
        self.all: dict[str, WER] = {}
        self.by_voice: dict[str, dict[str, WER]] = {}

    def add(self, key: str, ref: str, voice: str | None, hyp: str) -> None:
        self.all.setdefault(key, WER()).add(ref, hyp)
        if voice is not None:
            self.by_voice.setdefault(voice, {}).setdefault(key, WER()).add(ref, hyp)


def voice_group(row: dict) -> str:
    """The voice a seen/held-out row is reported under: espeak-ng's voices and variants pooled into one group
    (dozens of draws, a few utterances each), festival's and flite's by voice."""
    return row["family"] if row["family"] == "espeak" else f"{row['family']}:{row['voice']}"


def scale_tokens(model: AVModel, fa, fv, k: int, pool_from: int | None = None):
    """Tokens for scale k; with ``pool_from`` = j, use scale j's projector at scale k's rates (training-free pooling)."""
    if pool_from is None:
        return model.audio_tokens(fa, k), model.video_tokens(fv, k), model.lora.for_scale(k)
    ra, rv = model.cfg.scales[k]
    at = model.proj_a[pool_from](compress(fa, ra, model.cfg.compression))
    vt = model.proj_v[pool_from](compress(fv, rv, model.cfg.compression))
    return at, vt, model.lora.for_scale(pool_from)


def other_speeds(model: AVModel, tok: CharTokenizer, ex: dict, speed_vote: SpeedVote, phonetic,
                 ctc_weight: float, word_lm: WordLM | None, word_weight: float) -> dict[str, list[list[str]]]:
    """The speed vote's other ballots: per task with audio, the words of the search's best at each extra speed
    (the head the task's own search takes: phones where the model has them, audio-visual with video).
    The engine also skips a speed that leaves less audio than one token or fewer lip frames than one video
    token; the evaluation's utterances are seconds long, far from either."""
    speeds, width, _ = speed_vote
    ballots: dict[str, list[list[str]]] = {"asr": [], "avsr": []}
    for speed in speeds:
        fa = model.audio(torch.from_numpy(play_at(ex["pcm"], speed))[None])
        fv = model.video(torch.from_numpy(frames_at(ex["frames"], speed).astype(np.float32))[None])
        for task in ballots:
            # without an audio-visual head, audio-visual chunks search what audio-only ones do (as the engine)
            audio_visual = task == "avsr" and model.ctc_av is not None
            if phonetic is not None and model.ctc_p is not None and (not audio_visual or model.ctc_avp is not None):
                lp = (av_ctc_log_probs(model, fa, fv, phones=True) if audio_visual else ctc_log_probs(model.ctc_p, fa))
                nbest = phone_nbest(lp[0].numpy().astype(np.float64), phonetic, tok, width, ctc_weight, word_weight)
            else:
                lp = audio_visual_ctc(model, fa, fv) if audio_visual else audio_ctc(model, fa)
                nbest = ctc_prefix_beam(lp, tok, width, ctc_weight, word_lm, word_weight)
            if nbest:  # a search that finds nothing casts no ballot, as in the engine
                ballots[task].append(tok.decode(nbest[0].tokens).split())
    return ballots


@torch.no_grad()
def evaluate_model(model: AVModel, split: Split, n: int, scales: list[int], tasks: list[str], noises, seed: int = 99,
                   pool_from: int | None = None, log=print, label: str = "",
                   ctc_weight: float = DEFAULT_CTC_WEIGHT, first: int = 0, word_lm: WordLM | None = None,
                   word_weight: float = 0.0, method: str = "rescore", beams: int = 8, pad: float = 0.0,
                   phonetic=None, search_beams: int | None = None,
                   scale_search: dict[int, tuple[int, int]] | None = None,
                   speed_vote: SpeedVote | None = None, video_fusion: VideoFusion | None = None) -> dict:
    """WER per scale/task/noise over utterances ``first`` .. ``first + n - 1``, decoded as the engine does.
    ``method``: "rescore" (CTC prefix beam search with the word LM over ``search_beams`` prefixes, default
    ``beams``, its ``beams`` best rescored by the LM),
    "greedy" or "beam" (the LM's search, with ``beams``).  Tasks with audio use the audio CTC at
    ``ctc_weight`` (0 = the LM alone, greedy or beam), every task the look-ahead word LM at ``word_weight``
    (0 = none); video-only, with no CTC, decodes greedily under "rescore"; audio-visual uses the audio-visual
    CTC head where the model has one.  ``ctc/<noise>`` is the audio CTC head's own greedy output
    (scale-independent), the encoder's accuracy without the LM; ``search/<noise>`` the search's best without
    the LM; ``avctc/`` and ``avsearch/`` the same for the audio-visual head.  ``by_voice`` repeats the clean
    keys per voice group (``voice_group``).  ``pad``: seconds of silence added before and after each utterance.
    ``phonetic`` (a phones.PhoneticWordLM), with a model that has the phone head: audio-only chunks search the
    phone head instead (as the engine does with such a bundle); ``charsearch/`` keeps the character search's best;
    audio-visual ones likewise the audio-visual phone head where the model has one (``avcharsearch/``).
    ``scale_search`` (rescore only): scale index -> (search beams, beams rescored) where a scale searches
    narrower and rescores fewer than the rest (the engine's per-scale budget); the ``search/`` keys are the
    default width's.  ``speed_vote`` (rescore only): at the scales it names (all where it names none) each task
    with audio also searches the chunk played at each extra speed (speedvote.py), and its rescored transcript is
    voted word by word with those searches' bests, as the engine does with the manifest's
    ``decoding.default.speed_vote``.  ``video_fusion`` (rescore, with the phone heads of both kinds): where the
    audio-visual phone head is unsure of a chunk, its N best are pooled with the video phone head's and ranked by
    both (decoding.VideoFusion), as the engine does with ``decoding.default.video_fusion``; ``avfused/`` keeps the
    best of what audio-visual chunks then rescore, ``avsearch/`` the audio-visual search's own best, and
    ``fused_share`` the share of chunks fused per noise."""
    if method not in DECODING_METHODS:
        raise ValueError(f"decoding method {method!r} is not one of {DECODING_METHODS}")
    tok = CharTokenizer()
    width = search_beams or beams
    scale_search = (scale_search or {}) if method == "rescore" else {}
    for k, (w_k, b_k) in scale_search.items():
        if not 0 <= k < len(model.cfg.scales) or not 1 <= b_k <= w_k:
            raise ValueError(f"scale_search {k}: ({w_k}, {b_k}) needs a scale of the model and 1 <= beams <= search beams")
    speed_vote = speed_vote if method == "rescore" and ctc_weight > 0 else None
    if speed_vote:
        check_speed_vote(speed_vote)
        speed_vote = speed_vote if any(speed_vote.votes_at(k) for k in scales) else None
    scores = Scores()
    fused_chunks: dict[str, int] = {}
    timing: dict = {}
    media_s = 0.0
    t_start = time.time()
    for i in range(first, first + n):
        for noise_name, snr in noises:
            rng = np.random.default_rng([seed, i, int(1000 + (snr or 99))])
            ex = make_example(split, i, rng, "avsr", snr, "babble", False, "ok", pad=(pad, pad))
            voice = voice_group(split.rows[i]) if noise_name == noises[0][0] else None
            if noise_name == noises[0][0]:
                media_s += len(ex["pcm"]) / SAMPLE_RATE
            t0 = time.time()
            fa = model.audio(torch.from_numpy(ex["pcm"])[None])
            fv = model.video(torch.from_numpy(ex["frames"].astype(np.float32))[None])
            ctc = audio_ctc(model, fa)
            # audio-visual chunks search the audio-visual CTC head where the model has one
            ctc_av = audio_visual_ctc(model, fa, fv) if model.ctc_av is not None else ctc
            search = method == "rescore" and ctc_weight > 0
            phones = search and phonetic is not None and model.ctc_p is not None
            phones_av = phones and model.ctc_avp is not None
            phone_lp = ctc_log_probs(model.ctc_p, fa)[0].numpy().astype(np.float64) if phones else None
            phone_lp_av = av_ctc_log_probs(model, fa, fv, phones=True)[0].numpy().astype(np.float64) if phones_av else None
            # video-only hears no noise: its phone head is searched once per utterance
            phones_v = search and phonetic is not None and model.ctc_vp is not None and noise_name == noises[0][0]
            # unsure audio-visual chunks also search it, under every noise
            can_fuse = video_fusion is not None and phones_av and model.ctc_vp is not None
            fuse = can_fuse and mean_top_probability(phone_lp_av) < video_fusion.below_confidence
            fused_chunks[noise_name] = fused_chunks.get(noise_name, 0) + int(fuse)
            phone_lp_v = (ctc_log_probs(model.ctc_vp, fv)[0].numpy().astype(np.float64) if phones_v or fuse
                          else None)
            searched: dict[int, dict] = {}

            def searches(w: int) -> dict:
                """The N best of a ``w``-wide search, unsliced, by what each task rescores (``asr``, ``avsr``: spelled
                where the phone heads are searched; ``vsr``: the video phone head's, spelled, or None) and the
                character searches beside them (``char``, ``char_av``): they depend on the CTC output alone, so each
                width searches once per head for every scale."""
                if w not in searched:
                    char = ctc_prefix_beam(ctc, tok, w, ctc_weight, word_lm, word_weight)
                    spelled = phone_nbest(phone_lp, phonetic, tok, w, ctc_weight, word_weight) if phones else char
                    # without an audio-visual head, audio-visual chunks search what audio-only ones do (as the engine)
                    char_av = char if ctc_av is ctc else ctc_prefix_beam(ctc_av, tok, w, ctc_weight, word_lm, word_weight)
                    spelled_av = (spelled if ctc_av is ctc else phone_nbest(phone_lp_av, phonetic, tok, w, ctc_weight,
                                                                             word_weight) if phones_av else char_av)
                    fused_av = (fused_phone_nbest(phone_lp_av, phone_lp_v, phonetic, tok, w, ctc_weight, word_weight,
                                                  video_fusion.weight) if fuse else spelled_av)
                    spelled_v = phone_nbest(phone_lp_v, phonetic, tok, w, ctc_weight, word_weight) if phones_v else None
                    searched[w] = {"char": char, "asr": spelled, "char_av": char_av, "avsr": fused_av, "vsr": spelled_v,
                                   "avsr_alone": spelled_av}
                return searched[w]

            found = searches(width) if search else {}
            char_nbest, nbest, char_nbest_av, nbest_av, nbest_v, fused_nbest_av = (
                found.get(key) for key in ("char", "asr", "char_av", "avsr_alone", "vsr", "avsr"))
            voters = other_speeds(model, tok, ex, speed_vote, phonetic, ctc_weight, word_lm, word_weight) if speed_vote else None
            t_enc = time.time() - t0
            scores.add(f"ctc/{noise_name}", ex["text"], voice, ctc_greedy(ctc, tok))
            if nbest is not None:  # the search's best without the LM (the engine's ctc-search, live partials)
                scores.add(f"search/{noise_name}", ex["text"], voice, tok.decode(nbest[0].tokens))
                if phones:
                    scores.add(f"charsearch/{noise_name}", ex["text"], voice, tok.decode(char_nbest[0].tokens))
            if nbest_v is not None:
                scores.add(f"vsearch/{noise_name}", ex["text"], voice, tok.decode(nbest_v[0].tokens))
            if ctc_av is not ctc:
                scores.add(f"avctc/{noise_name}", ex["text"], voice, ctc_greedy(ctc_av, tok))
                if nbest_av is not None:
                    scores.add(f"avsearch/{noise_name}", ex["text"], voice, tok.decode(nbest_av[0].tokens))
                    if can_fuse:
                        scores.add(f"avfused/{noise_name}", ex["text"], voice, tok.decode(fused_nbest_av[0].tokens))
                    if phones_av:
                        scores.add(f"avcharsearch/{noise_name}", ex["text"], voice,
                                   tok.decode(char_nbest_av[0].tokens))
            for k in scales:
                at, vt, lora = scale_tokens(model, fa, fv, k, pool_from)
                for task in tasks:
                    if task == "vsr" and noise_name != noises[0][0]:
                        continue
                    t1 = time.time()
                    max_len = int(25 * len(ex["pcm"]) / SAMPLE_RATE) + 10  # <= 25 characters per second
                    prefix = prefix_embeds(model, tok, at, vt, task)
                    audio_ctc_or_none = None if task == "vsr" else ctc_av if task == "avsr" else ctc
                    if search and (task != "vsr" or phones_v):
                        w_k, b_k = scale_search.get(k, (width, beams))
                        task_nbest = searches(w_k)[task][:b_k]
                        hyp = tok.decode(rescore(model, tok, prefix, lora, task_nbest, ctc_weight, word_weight))
                        if voters is not None and task in voters and speed_vote.votes_at(k):
                            hyp = " ".join(vote(hyp.split(), voters[task]))
                    elif method == "beam" and beams > 1:
                        hyp = beam_search(model, tok, prefix, lora, beams, max_len, audio_ctc_or_none, ctc_weight,
                                          word_lm=word_lm, word_weight=word_weight)
                    else:
                        hyp = greedy(model, tok, prefix, lora, max_len, audio_ctc_or_none, ctc_weight, word_lm=word_lm,
                                     word_weight=word_weight)
                    key = f"s{k}/{task}/{noise_name}"
                    scores.add(key, ex["text"], voice, hyp)
                    if noise_name == noises[0][0]:
                        tk = f"s{k}/{task}"
                        timing[tk] = timing.get(tk, 0.0) + (time.time() - t1) + t_enc
        if (i + 1 - first) % 25 == 0:
            log(f"[eval{label}] {i + 1 - first}/{n} utterances ({time.time() - t_start:.0f} s)")
    out = {"n_utterances": n, "first_utterance": first, "ctc_weight": ctc_weight, "word_weight": word_weight,
           "method": method, "beams": beams, **({"search_beams": width} if method == "rescore" else {}),
           **({"scale_search": {f"s{k}": {"search_beams": w_k, "beams": b_k} for k, (w_k, b_k) in sorted(scale_search.items())}}
              if scale_search else {}),
           **({"speed_vote": speed_vote.to_json()} if speed_vote else {}),
           **({"video_fusion": {**video_fusion.to_json(),
                                "fused_share": {k: round(v / n, 3) for k, v in fused_chunks.items()}}}
              if video_fusion and any(k.startswith("avfused/") for k in scores.all) else {}),
           "padding_seconds": pad,
           "media_seconds": round(media_s, 1), "wer": {}, "words": {}, "rtf_pytorch": {}}
    for key, w in scores.all.items():
        out["wer"][key] = round(w.value, 2)
        out["words"][key] = w.words
    for k in scales:
        for task in tasks:
            for noise_name, _ in noises[1:]:
                if task == "vsr":
                    out["wer"][f"s{k}/vsr/{noise_name}"] = out["wer"][f"s{k}/vsr/{noises[0][0]}"]
    for tk, t in timing.items():
        out["rtf_pytorch"][tk] = round(t / max(media_s, 1e-6), 4)
    out["by_voice"] = {g: {"utterances": max(w.utterances for w in keys.values()),
                           "words": max(w.words for w in keys.values()),
                           "wer": {key: round(w.value, 2) for key, w in keys.items()}}
                       for g, keys in sorted(scores.by_voice.items())}
    return out


class _Counter:
    def __init__(self) -> None:
        self.macs = 0

    def hook(self, mod: nn.Module, inp, out) -> None:
        if isinstance(mod, nn.Linear):
            self.macs += out.numel() * mod.in_features
        elif isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            k = int(np.prod(mod.kernel_size)) * mod.in_channels // mod.groups
            self.macs += out.numel() * k


@torch.no_grad()
def flops_per_second(model: AVModel) -> dict:
    """Analytical FLOPs (2 x multiply-adds of conv/linear layers + attention) per second of media, per scale."""
    cfg = model.cfg
    counter = _Counter()
    hooks = [m.register_forward_hook(counter.hook) for m in model.modules()
             if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))]
    secs = 10
    pcm = torch.zeros(1, SAMPLE_RATE * secs)
    fa = model.audio(pcm)
    stft_macs = model.audio.mel.basis.shape[0] * cfg.n_fft * (1 + (pcm.shape[1] - cfg.n_fft) // cfg.hop)
    a_enc = counter.macs + stft_macs
    counter.macs = 0
    fv = model.video(torch.zeros(1, FPS * secs, cfg.roi, cfg.roi))
    v_enc = counter.macs
    out = {}
    tok = CharTokenizer()
    chars_per_s = 15.0  # typical transcript rate of the corpus (characters incl. spaces per second)
    for k in range(len(cfg.scales)):
        counter.macs = 0
        at, vt = model.audio_tokens(fa, k), model.video_tokens(fv, k)
        proj = counter.macs
        row = {}
        for task in TASKS:
            pre = prefix_embeds(model, tok, at, vt, task)
            s_pre = pre.shape[1]
            n_txt = int(chars_per_s * secs)
            counter.macs = 0
            model.lm(torch.cat([pre, torch.zeros(1, n_txt, cfg.lm_dim)], 1), None, model.lora.for_scale(k))
            total = s_pre + n_txt
            attn = cfg.lm_layers * 2 * cfg.lm_dim * total * (total + 1) / 2  # QK^T and AV, causal
            lm_macs = counter.macs + attn
            enc = (a_enc if task != "vsr" else 0) + (v_enc if task != "asr" else 0)
            row[task] = {"lm_tokens_per_second": round(s_pre / secs, 2),
                         "lm_gflops_per_second": round(2 * lm_macs / secs / 1e9, 4),
                         "encoder_gflops_per_second": round(2 * enc / secs / 1e9, 4),
                         "projector_gflops_per_second": round(2 * proj / secs / 1e9, 5),
                         "total_gflops_per_second": round(2 * (lm_macs + enc + proj) / secs / 1e9, 4)}
        out[f"s{k}"] = row
    for h in hooks:
        h.remove()
    return out


SWEEP_NOISES = [NOISES[0], NOISES[2]]


def sweep_key(ctc_weight: str, word_weight: str) -> str:
    return f"{ctc_weight}/{word_weight}"


def chosen_weights(ctc_arg: str, word_arg: str, sweep: dict | None) -> tuple[float, float]:
    """(CTC weight, word-LM weight): each as given, or for 'auto' the swept pair with the lowest mean
    development WER over the sweep's scales, tasks and noises (among pairs that agree with a fixed one)."""
    fixed_ctc = None if ctc_arg == "auto" else float(ctc_arg)
    fixed_word = None if word_arg == "auto" else float(word_arg)
    pairs = {}
    for key, wer in (sweep or {}).get("wer", {}).items():
        cw, ww = (float(x) for x in key.split("/"))
        if (fixed_ctc is None or cw == fixed_ctc) and (fixed_word is None or ww == fixed_word):
            rows = [wer[k] for k in wer if not k.startswith(HEAD_ROWS)]  # the decoded rows only
            pairs[(cw, ww)] = sum(rows) / len(rows)
    if not pairs:
        return (DEFAULT_CTC_WEIGHT if fixed_ctc is None else fixed_ctc), (0.0 if fixed_word is None else fixed_word)
    return min(pairs, key=pairs.get)


def budget(run: str, info: dict) -> dict:
    """What a compared run trained: its AV steps and samples, and whether its encoders learned too."""
    st = info["state"]
    return {"run": run, "steps": st["step"], "samples": st["samples"], "seconds": round(st["seconds"]),
            "threads": info["train"].get("threads"), "scales_per_step": info["train"].get("scales_per_step"),
            "frozen_encoders": bool(info["train"].get("freeze_encoders")),
            "encoders_from": encoder_origin(run, info),
            "seeded_adapters": bool(info["train"].get("init_adapters_from"))}


def shipped_training(training: dict) -> str:
    """What the shipped model's AV stage and audio-visual CTC head trained, in a sentence."""
    steps = training["state"]["step"]
    adapters = (training.get("seeded_from") or {}).get("adapters")
    if steps == 0 and adapters:  # a run that only adds a stage on top of its seed's projectors and LoRA
        text = (f"The shipped model (tables 1 and 2) took its projectors and LoRA from {adapters['run']} "
                f"({adapters['state']['step']} AV steps"
                + (", themselves seeded from an earlier run)" if adapters.get("seeded_from") else ")"))
    else:
        text = (f"The shipped model (tables 1 and 2) trained {steps} AV steps"
                + (", its projectors and LoRA seeded from an earlier run" if adapters else ""))
    fusion = training.get("fusion")
    if fusion and fusion.get("step"):
        text += f", then {fusion['step']} steps of its audio-visual CTC head alone"
    if (training.get("seeded_from") or {}).get("lm_and_encoders"):
        text += f"; its encoders were last trained in {encoder_origin(training.get('run', 'this run'), training)}"
    return text


def encoder_origin(run: str, info: dict) -> str:
    """The run whose training last changed these encoders: followed back through seeded runs that froze them
    (an AV stage on frozen encoders, a head trained alone) to the one that trained them."""
    record = {**info, "run": run}
    while True:
        train = record.get("train") or record.get("train_config") or {}  # eval.json names it train_config
        trained_here = (record.get("encoders") or {}).get("step") or not train.get("freeze_encoders")
        parent = (record.get("seeded_from") or {}).get("lm_and_encoders")
        if trained_here or not parent:
            return record["run"]
        record = parent


def encoder_sources(budgets: dict[str, dict], shipped_encoders: str | None) -> str:
    """Whose frozen encoders the compared rows trained on, said plainly when they are not the shipped model's."""
    sources = sorted({bd.get("encoders_from") for bd in budgets.values()} - {None})
    if not sources:
        return "on frozen encoders"
    named = ", ".join(sources)
    if shipped_encoders is not None and sources == [shipped_encoders]:
        return f"on the shipped model's frozen LM and encoders ({named})"
    return (f"on the frozen LM and encoders of {named}" + (f", not the shipped model's ({shipped_encoders}): these "
            "rows compare designs with one another; set against the shipped model they differ in encoders too"
            if shipped_encoders else ""))


def fmt(v) -> str:
    return "–" if v is None else f"{v:.1f}"


def method_name(block: dict) -> str:
    method, beams = block.get("method", "greedy"), block.get("beams", 1)
    width = block.get("search_beams", beams)
    per_scale = ", ".join(f"{k}: {v['search_beams']}/{v['beams']}" for k, v in block.get("scale_search", {}).items())
    return {"rescore": f"CTC + word-LM beam {width}, LM rescoring" + ("" if width == beams else f" of {beams}")
                       + (f" ({per_scale})" if per_scale else "") + speed_vote_name(block),
            "greedy": "joint greedy",
            "beam": f"joint beam {beams}"}[method]


def speed_vote_name(block: dict) -> str:
    vote = block.get("speed_vote")
    if not vote:
        return ""
    where = f" at {', '.join(vote['scales'])}" if vote.get("scales") else ""
    return f", voted with speeds {'/'.join(f'{s:g}' for s in vote['speeds'])}{where}"


def decoding_description(block: dict) -> str:
    w, ww = block["ctc_weight"], block.get("word_weight", 0)
    words = (f" The look-ahead word LM (a word bigram over the training text's words and Debian's wamerican word list, "
             f"scored one character at a time) at weight {ww}." if ww else "")
    # audio-visual rows search the audio-visual CTC head where the model has one (its own rows are then present)
    head = ("the audio encoder's CTC head (audio-visual: the audio-visual CTC head over both encoders)"
            if any(k.startswith("avctc/") for k in block["wer"]) else "the audio encoder's CTC head")
    if any(k.startswith("charsearch/") for k in block["wer"]):
        head = head.replace("the audio encoder's CTC head", "the audio encoder's phone CTC head (audio-only; its "
                            "word LM over the lexicon's pronunciations, each transcript spelled by the word LM) or "
                            "character CTC head", 1)
    if any(k.startswith("avcharsearch/") for k in block["wer"]):
        head = head.replace("the audio-visual CTC head over both encoders", "the audio-visual phone CTC head over "
                            "both encoders, searched and spelled the same way", 1)
    if block.get("method") == "rescore":
        width = block.get("search_beams", block["beams"])
        per_scale = "; ".join(f"{k} searches {v['search_beams']} and rescores {v['beams']}"
                              for k, v in block.get("scale_search", {}).items())
        return (f"Decoding: CTC prefix beam search over {head} with {width} beams, ranked by "
                f"{w} log p_CTC + {ww} log p_words; the {block['beams']} best transcripts it ends with are rescored by the LM "
                f"in one batched call, and the best by {1 - w:g} log p_LM + {w} log p_CTC + {ww} log p_words wins"
                + (f". Coarser scales spend less (written search/rescored in row labels): {per_scale}" if per_scale else "")
                + speed_vote_description(block) + ". " + video_fusion_description(block)
                + ("Video-only searches the video encoder's phone CTC head the same way (its N best spelled, then "
                   "rescored by the LM reading the video tokens)."
                   if any(k.startswith("vsearch/") for k in block["wer"]) else
                   "Video-only decodes greedily with the KV cache, at most 25 characters per second of media + 10.")
                + words)
    return (f"Decoding: {method_name(block)} with the KV cache, at most 25 characters per second of media + 10; wherever "
            f"there is audio, jointly with {head} at weight {w} (each step ranks the LM's top "
            f"candidates by (1 - w) log p_LM + w log p_CTC).{words}")


def video_fusion_description(block: dict) -> str:
    fusion = block.get("video_fusion")
    if not fusion:
        return ""
    return (f"Where the audio-visual phone head is unsure of a chunk (its likeliest symbol's probability, averaged over "
            f"the frames, below {fusion['below_confidence']}), its N best are pooled with the video phone head's search "
            f"and ranked by log P_AV + {fusion['weight']} log P_video of each pronunciation sequence (the forward "
            "algorithm under each head) + the word LM, before the LM rescores them. ")


def speed_vote_description(block: dict) -> str:
    vote = block.get("speed_vote")
    if not vote:
        return ""
    speeds = ", ".join(f"{s:g}" for s in vote["speeds"])
    where = f"at {', '.join(vote['scales'])}" if vote.get("scales") else "at every scale"
    return (f". Then the speed vote ({where}): the chunk is also searched played at {speeds} times its speed (resampled, "
            f"the lip frames picked to match; {vote['search_beams']} beams each, no LM), and each word of the rescored "
            "transcript is replaced or dropped where more of those searches' bests agree on something else than agree "
            "with it")


def clean_cells(block: dict, decoded: dict, task: str, n_scales: int) -> str:
    """A row's clean WER per scale, "–" at the scales the compared ``decoded`` block did not decode."""
    keys = [f"s{k}/{task}/clean" for k in range(n_scales)]
    return " | ".join(fmt(block["wer"].get(key)) if key in decoded["wer"] else "–" for key in keys)


def voice_table(block: dict, n_scales: int) -> list[str]:
    """Clean WER per voice group: where the errors come from, which the pooled tables hide."""
    last = n_scales - 1
    cols = [("CTC head alone", "ctc/clean"), ("audio-only (finest)", "s0/asr/clean"),
            ("audio-visual (finest)", "s0/avsr/clean"), (f"audio-visual (s{last})", f"s{last}/avsr/clean")]
    lines = ["| voice | utterances | words | " + " | ".join(c for c, _ in cols) + " |", "|---|---|---|" + "---|" * len(cols)]
    for group, g in block.get("by_voice", {}).items():
        lines.append(f"| {group} | {g['utterances']} | {g['words']} | " + " | ".join(fmt(g["wer"].get(k)) for _, k in cols) + " |")
    return lines


def render_md(ev: dict) -> str:
    sc = ev["scales"]
    head = "| | " + " | ".join(f"({a},{v})" for a, v in sc) + " |\n|---|" + "---|" * len(sc) + "\n"
    lines = [f"# Evaluation: {ev['bundle']}", "",
             f"Produced by `{ev['command']}` on {ev['date']} (commit {ev['git_commit']}), machine: {ev['machine']}."
             + (f" Decoded in {ev['measured_in']}, exported from the same run (the export is deterministic), and "
                "written into this bundle by `--from-report`." if "measured_in" in ev else ""),
             decoding_description(ev["main"]) + " Every row of every table decodes the same way; sections 1b, 1c and 3b "
             "compare the decoders.",
             "WER: lower case, punctuation stripped, word-level Levenshtein summed over the set.", "",
             f"Test sentences: never used in training or LM pre-training (hash split of the fortunes sentences). "
             f"Seen voices: {ev['main']['n_utterances']} utterances ({ev['main']['media_seconds']} s) from the training "
             f"TTS families (espeak-ng, festival) with voice/rate/pitch draws of the evaluation plan. "
             f"Noise: babble of other evaluation utterances. Columns are (audio rate, video rate) over 25 Hz encoder outputs; "
             f"(2,2) here gives the same LM tokens per second as the paper's (4,2) over Whisper's 50 Hz.", ""]
    lines += ["## 1. Single Matryoshka model (" + ev["variant"] + "), seen TTS voices — WER %", "", head.rstrip("\n")]
    for task in TASKS:
        for noise, _ in NOISES:
            lines.append(f"| {TASK_NAME[task]}, {noise} | " + " | ".join(fmt(ev["main"]["wer"].get(f"s{k}/{task}/{noise}")) for k in range(len(sc))) + " |")
    if ev.get("lm_only"):
        m, lo = ev["main"]["wer"], ev["lm_only"]["wer"]
        nw = (ev.get("no_word_lm") or {}).get("wer")
        lines += ["", "## 1b. Decoding: the default vs without the word LM vs the LM alone (greedy) vs the search without "
                  "the LM vs the CTC head alone (greedy, no LM) (seen voices) — WER %", "", head.rstrip("\n")]
        for task in ("asr", "avsr"):
            for noise in ("clean", "0dB"):
                lines.append(f"| {TASK_NAME[task]}, {noise}, {method_name(ev['main'])} | " + " | ".join(fmt(m.get(f"s{k}/{task}/{noise}")) for k in range(len(sc))) + " |")
                if nw:
                    lines.append(f"| {TASK_NAME[task]}, {noise}, no word LM | " + " | ".join(fmt(nw.get(f"s{k}/{task}/{noise}")) for k in range(len(sc))) + " |")
                lines.append(f"| {TASK_NAME[task]}, {noise}, LM alone | " + " | ".join(fmt(lo.get(f"s{k}/{task}/{noise}")) for k in range(len(sc))) + " |")
        if "s0/vsr/clean" in lo:  # video-only hears no noise: one row each
            lines.append(f"| {TASK_NAME['vsr']}, {method_name(ev['main'])} | " + " | ".join(fmt(m.get(f"s{k}/vsr/clean")) for k in range(len(sc))) + " |")
            lines.append(f"| {TASK_NAME['vsr']}, LM alone | " + " | ".join(fmt(lo.get(f"s{k}/vsr/clean")) for k in range(len(sc))) + " |")
        phones = any(key.startswith("charsearch/") for key in m)
        # with per-scale budgets the coarser scales search narrower: these rows are the default width's
        search_scope = ("every scale" if not ev["main"].get("scale_search")
                        else f"{ev['main'].get('search_beams', ev['main']['beams'])} beams: the finest scale's search")
        for noise, _ in NOISES:
            if f"search/{noise}" in m:
                head_name = "phone CTC + pronunciation word-LM search, spelled," if phones else "CTC + word-LM search"
                lines.append(f"| {head_name} without LM rescoring ({search_scope}), {noise} | "
                             + " | ".join(fmt(m.get(f"search/{noise}")) for _ in sc) + " |")
        for noise, _ in NOISES:
            if f"charsearch/{noise}" in m:
                lines.append(f"| character CTC + word-LM search without LM rescoring ({search_scope}), {noise} | "
                             + " | ".join(fmt(m.get(f"charsearch/{noise}")) for _ in sc) + " |")
        if "vsearch/clean" in m:
            lines.append(f"| video phone CTC + pronunciation word-LM search, spelled, without LM rescoring ({search_scope}) | "
                         + " | ".join(fmt(m.get("vsearch/clean")) for _ in sc) + " |")
        for noise, _ in NOISES:
            lines.append(f"| character CTC head alone (no LM, every scale), {noise} | " + " | ".join(fmt(m.get(f"ctc/{noise}")) for _ in sc) + " |")
        av_phones = any(key.startswith("avcharsearch/") for key in m)
        for noise, _ in NOISES:
            if f"avsearch/{noise}" in m:
                head_name = "audio-visual phone CTC + pronunciation word-LM search, spelled," if av_phones else "audio-visual CTC + word-LM search"
                lines.append(f"| {head_name} without LM rescoring ({search_scope}), {noise} | "
                             + " | ".join(fmt(m.get(f"avsearch/{noise}")) for _ in sc) + " |")
        fusion = ev["main"].get("video_fusion")
        for noise, _ in NOISES:
            if f"avfused/{noise}" in m:
                share = fusion["fused_share"].get(noise, 0)
                lines.append(f"| the same, pooled with the video phone search where unsure ({100 * share:.0f}% of chunks), "
                             f"without LM rescoring ({search_scope}), {noise} | "
                             + " | ".join(fmt(m.get(f"avfused/{noise}")) for _ in sc) + " |")
        for noise, _ in NOISES:
            if f"avcharsearch/{noise}" in m:
                lines.append(f"| audio-visual character CTC + word-LM search without LM rescoring ({search_scope}), {noise} | "
                             + " | ".join(fmt(m.get(f"avcharsearch/{noise}")) for _ in sc) + " |")
        for noise, _ in NOISES:
            if f"avctc/{noise}" in m:
                lines.append(f"| audio-visual CTC head alone (no LM, every scale), {noise} | "
                             + " | ".join(fmt(m.get(f"avctc/{noise}")) for _ in sc) + " |")
        sweep = ev.get("ctc_weight_sweep")
        if sweep:
            cols = [(k, t, noise) for noise, _ in SWEEP_NOISES for k in ("s0", f"s{len(sc) - 1}") for t in ("asr", "avsr")]
            lines += ["", f"The weights (CTC {ev['main']['ctc_weight']}, word LM {ev['main'].get('word_weight', 0)}) are the pair "
                      "with the lowest mean WER on development utterances "
                      f"{sweep['first_utterance']}–{sweep['first_utterance'] + sweep['n_utterances'] - 1} of the seen-voice split, "
                      "disjoint from the reported ones (WER %):", "",
                      "| CTC / word-LM weight | " + " | ".join(f"{k} {TASK_NAME[t]} {noise}" for k, t, noise in cols) + " |",
                      "|---|" + "---|" * len(cols)]
            for sw, wer in sweep["wer"].items():
                lines.append(f"| {sw} | " + " | ".join(fmt(wer.get(f"{k}/{t}/{noise}")) for k, t, noise in cols) + " |")
    searches = [ev[m] for m in DECODING_METHODS if ev.get(m)]
    if searches:
        m = ev["main"]
        lines += ["", "## 1c. Searches: the default vs the LM-driven ones (the same weights), seen voices, clean — WER %", "",
                  "The LM-driven searches call the LM once per character, or per CTC draft, and score only the LM's top "
                  "candidates; beam search keeps alternatives, at about five times greedy decoding's cost. The default "
                  "searches with the CTC head and the word LM, and calls the LM once for the prefix and once for the N best. "
                  "The engine offers all three (CLI `--decoding`).", "", head.rstrip("\n")]
        for task in ("asr", "avsr"):
            for block in [m, *searches]:
                lines.append(f"| {TASK_NAME[task]}, {method_name(block)} | "
                             + clean_cells(block, searches[0], task, len(sc)) + " |")
    if ev.get("chunk_padded"):
        padded = ev["chunk_padded"]
        lines += ["", f"## 1d. As the engine's chunks: {padded['padding_seconds']} s of silence before and after the speech "
                  "(seen voices, clean) — WER %", "",
                  "The corpus trims its utterances, so the tables above never hear silence around the speech; the engine "
                  "pads every voice-activity span by this much (more where the detector's span is wider).", "",
                  head.rstrip("\n")]
        for task in ("asr", "avsr"):
            for label, block in (("trimmed", ev["main"]), ("padded", padded)):
                lines.append(f"| {TASK_NAME[task]}, {label} | " + clean_cells(block, padded, task, len(sc)) + " |")
    if ev["main"].get("by_voice"):
        lines += ["", "## 1e. By voice: seen voices, clean — WER %", "",
                  "espeak-ng's voices and variants are pooled (dozens of draws, a few utterances each); a group of a few "
                  "dozen words moves by 2–4 points per word.", "", *voice_table(ev["main"], len(sc))]
    if ev.get("heldout"):
        lines += ["", f"## 2. Held-out TTS family ({ev['heldout_family']}, never in training) — WER %", "", head.rstrip("\n")]
        for task in TASKS:
            for noise, _ in NOISES:
                lines.append(f"| {TASK_NAME[task]}, {noise} | " + " | ".join(fmt(ev["heldout"]["wer"].get(f"s{k}/{task}/{noise}")) for k in range(len(sc))) + " |")
        if ev["heldout"].get("by_voice"):
            lines += ["", "By voice, clean — WER %:", "", *voice_table(ev["heldout"], len(sc))]
    lines += ["", "## 3. Baselines and variants (seen voices, clean, audio-visual unless noted) — WER %", "", head.rstrip("\n")]
    for name, block in ev.get("baselines", {}).items():
        lines.append(f"| {name} | " + " | ".join(fmt(block["wer"].get(f"s{k}/{block.get('task', 'avsr')}/{block.get('noise', 'clean')}")) for k in range(len(sc))) + " |")
    for name in ev.get("not_run", []):
        lines.append(f"| {name} | " + " | ".join("not run" for _ in sc) + " |")
    budgets = {name: b["budget"] for name, b in ev.get("baselines", {}).items() if "budget" in b}
    if budgets:
        lines += ["", f"{ev['baselines'][next(iter(budgets))]['n_utterances']} utterances per row. What each row trained "
                  f"(AV stage; 'frozen' = projectors and LoRA only, {encoder_sources(budgets, encoder_origin(ev['training'].get('run', 'the shipped run'), ev['training']))}; "
                  f"scales per step 0 = all). {shipped_training(ev['training'])}; the rows below share one budget, so "
                  "they compare designs like with like.", "",
                  "| row | steps | samples | scales per step | seconds (threads) | encoders | adapters |",
                  "|---|---|---|---|---|---|---|"]
        for name, bd in budgets.items():
            lines.append(f"| {name} | {bd['steps']} | {bd['samples']} | {bd['scales_per_step']} | {bd['seconds']} ({bd['threads']}) | "
                         f"{'frozen' if bd['frozen_encoders'] else 'trained'} | {'seeded' if bd['seeded_adapters'] else 'from scratch'} |")
    lm_driven = ev.get("baselines_lm_driven")
    if lm_driven:
        first = next(iter(lm_driven.values()))
        lines += ["", f"## 3b. The same baselines under the LM-driven decoding ({method_name(first)}) — WER %", "",
                  "In table 3 the CTC heads, which read the encoders before any compression, choose the words and "
                  "the LM only rescores their N best, so a model pooled harder than it trained loses little there. "
                  "Here the LM reads the compressed tokens and writes the transcript (the research's setting), "
                  f"each step ranked jointly with a CTC head at weight {first['ctc_weight']} and the word LM at "
                  f"{first['word_weight']} (section 1c's joint beam), so the compression is on the path of every word. "
                  "The CTC head is the audio-visual one where the run has it (the shipped model) and the audio one "
                  f"where it has none (the other rows), so, as in table 3, '{REFERENCE}' is the like-for-like "
                  f"row. {first['n_utterances']} utterances per row, the same as table 3's; the rows are the same "
                  "runs.", "", head.rstrip("\n")]
        for name, block in lm_driven.items():
            lines.append(f"| {name} | " + " | ".join(fmt(block["wer"].get(f"s{k}/avsr/clean")) for k in range(len(sc))) + " |")
    lines += ["", "## 4. Cost per second of media", "",
              "| scale | LM tokens/s (A / V / AV) | LM GFLOP/s (AV) | encoders GFLOP/s (AV) | total GFLOP/s (A / V / AV) | PyTorch RTF AV (2 threads) |",
              "|---|---|---|---|---|---|"]
    for k, (a, v) in enumerate(sc):
        c = ev["cost"][f"s{k}"]
        rtf = ev["main"]["rtf_pytorch"].get(f"s{k}/avsr")
        lines.append(f"| ({a},{v}) | {c['asr']['lm_tokens_per_second']} / {c['vsr']['lm_tokens_per_second']} / {c['avsr']['lm_tokens_per_second']} "
                     f"| {c['avsr']['lm_gflops_per_second']} | {c['avsr']['encoder_gflops_per_second']} "
                     f"| {c['asr']['total_gflops_per_second']} / {c['vsr']['total_gflops_per_second']} / {c['avsr']['total_gflops_per_second']} | {rtf} |")
    lines += ["", "FLOPs are analytical (2 x multiply-adds of every convolution, linear layer, STFT and attention product, "
              "for a 10 s clip with ~15 transcript characters per second). RTF here is PyTorch eager on the shared 2-core "
              "CPU (decoding included); the engine's ONNX Runtime figures belong in BENCHMARKS.md.", "",
              "## 5. Targets", "", "| target | measured | status |", "|---|---|---|"]
    for t in ev["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {t['status']} |")
    # each seeding run once (flat_lineage): the nested record repeats shared ancestors
    record = {**ev["training"], "seeded_from": flat_lineage(ev["training"].get("seeded_from"))}
    lines += ["", "## Training record", "", "```json", json.dumps(record, indent=1), "```", ""]
    return "\n".join(lines)


@dataclass
class LmDrivenRun:
    """A table 3 run as section 3b decodes it again: the loaded model, its scales, the scale it pools from
    (the pooling baseline) and the scale it was trained at (a fixed-scale model)."""

    model: AVModel
    scales: list[int]
    pool_from: int | None = None
    scale: int | None = None


def lm_driven_baselines(model: AVModel, split: Split, n: int, scales: list[int], runs: dict[str, LmDrivenRun],
                        dec: dict) -> dict:
    """Table 3's rows once more under the LM-driven decoding (``dec``'s method "beam"), where the LM reads the
    compressed tokens and writes the transcript: the shipped decoding lets the CTC heads, which read the
    encoders before any compression, choose the words, so pooling harder at inference costs it little."""
    rows = {SHIPPED: evaluate_model(model, split, n, scales, ["avsr"], NOISES[:1], label=" LM-driven shipped", **dec)}
    for name, run in runs.items():
        rows[name] = evaluate_model(run.model, split, n, run.scales, ["avsr"], NOISES[:1], pool_from=run.pool_from,
                                    label=f" LM-driven {name}", **dec)
        if run.scale is not None:
            rows[name]["scale"] = run.scale
    return rows


def lm_driven_targets(rows: dict, n_scales: int) -> list[tuple[str, str, bool | None]]:
    """The pooling and fixed-scale targets measured again on ``lm_driven_baselines``' rows."""
    last = f"s{n_scales - 1}/avsr/clean"
    out = []
    shipped, pooled = rows.get(SHIPPED, {}).get("wer", {}), rows.get(POOLING, {}).get("wer", {})
    for name, wer in (("single model", shipped), (REFERENCE, rows.get(REFERENCE, {}).get("wer", {}))):
        m, p = wer.get(last), pooled.get(last)
        if m is not None and p is not None:
            out.append((f"LM-driven decoding, {name}: coarsest scale >= 3x lower WER than training-free pooling",
                        f"{m} vs {p}", 3 * m <= p))
    for name, block in rows.items():
        if name.startswith("fixed-scale"):
            key = f"s{block['scale']}/avsr/clean"
            m, f = shipped.get(key), block["wer"].get(key)
            if m is not None and f is not None:
                out.append((f"LM-driven decoding, single model within 1.5 WER points of {name}", f"{m} vs {f}", m - f <= 1.5))
    return out


def targets(ev: dict) -> list[dict]:
    w = ev["main"]["wer"]
    n = len(ev["scales"])
    out = []

    def add(name, measured, ok):
        out.append({"target": name, "measured": measured, "status": "met" if ok else ("missed" if ok is False else "not measured")})

    fin, coa = w.get("s0/avsr/clean"), w.get(f"s{n - 1}/avsr/clean")
    add("seen voices, clean, finest scale WER <= 8% (AV)", f"{fin}", fin is not None and fin <= 8)
    add("seen voices, clean, coarsest scale WER <= 15% (AV)", f"{coa}", coa is not None and coa <= 15)
    for k in range(n):
        av, a = w.get(f"s{k}/avsr/0dB"), w.get(f"s{k}/asr/0dB")
        if av is not None and a is not None:
            add(f"0 dB babble, scale s{k}: AV WER <= 0.7 x audio-only WER", f"{av} vs 0.7 x {a} = {0.7 * a:.1f}", av <= 0.7 * a)
    pb = ev.get("baselines", {}).get(POOLING)
    if pb:
        p = pb["wer"].get(f"s{n - 1}/avsr/clean")
        add("coarsest scale >= 3x lower WER than training-free pooling", f"{coa} vs {p}", coa is not None and p is not None and 3 * coa <= p)
    else:
        add("coarsest scale >= 3x lower WER than training-free pooling", "baseline not run", None)
    # the shipped model may have trained longer than the baselines; the reference is the same design
    # trained on the baselines' budget, so that comparison is like for like
    ref = ev.get("baselines", {}).get(REFERENCE)
    if pb and ref:
        r, p = ref["wer"].get(f"s{n - 1}/avsr/clean"), pb["wer"].get(f"s{n - 1}/avsr/clean")
        add(f"{REFERENCE}: coarsest scale >= 3x lower WER than training-free pooling", f"{r} vs {p}",
            r is not None and p is not None and 3 * r <= p)
    fixed = {name: b for name, b in ev.get("baselines", {}).items() if name.startswith("fixed-scale")}
    training = ev.get("training")
    shipped_encoders = encoder_origin(training.get("run", ""), training) if training else None
    if fixed:
        for name, b in fixed.items():
            k = b["scale"]
            f, m = b["wer"].get(f"s{k}/avsr/clean"), w.get(f"s{k}/avsr/clean")
            other = (b.get("budget") or {}).get("encoders_from")
            caveat = (f" (the baseline froze {other}'s encoders, the shipped model {shipped_encoders}'s: not like for like)"
                      if other and shipped_encoders and other != shipped_encoders else "")
            add(f"single model within 1.5 WER points of {name}", f"{m} vs {f}{caveat}",
                m is not None and f is not None and m - f <= 1.5)
            if ref:
                r = ref["wer"].get(f"s{k}/avsr/clean")
                add(f"{REFERENCE} within 1.5 WER points of {name}", f"{r} vs {f}", r is not None and f is not None and r - f <= 1.5)
    else:
        add("single model within 1.5 WER points of fixed-scale models", "fixed-scale models not run", None)
    for name, measured, ok in lm_driven_targets(ev.get("baselines_lm_driven", {}), n):
        add(name, measured, ok)
    return out


def parse_scale_search(specs: list[str]) -> dict[int, tuple[int, int]]:
    """``--scale-search sK=SEARCH:BEAMS`` options as scale index -> (search beams, beams rescored)."""
    out: dict[int, tuple[int, int]] = {}
    for spec in specs:
        try:
            name, budget_text = spec.split("=", 1)
            search_text, beams_text = budget_text.split(":", 1)
            k, w, b = int(name.removeprefix("s")), int(search_text), int(beams_text)
        except ValueError:
            raise SystemExit(f"--scale-search {spec!r}: expected sK=SEARCH:BEAMS, e.g. s3=16:2") from None
        if not (name.startswith("s") and k >= 0 and 1 <= b <= w):
            raise SystemExit(f"--scale-search {spec!r}: expected sK=SEARCH:BEAMS with 1 <= BEAMS <= SEARCH")
        out[k] = (w, b)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="work/runs/mtsk")
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--bundle", default="nestcap-av-small")
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--heldout-limit", type=int, default=None)
    ap.add_argument("--baseline-limit", type=int, default=None)
    ap.add_argument("--fixed", action="append", default=[], help="sK=run_dir of a model trained only at scale K")
    ap.add_argument("--pool-baseline", default=None, help="run dir of a model trained only at the finest scale")
    ap.add_argument("--compare", action="append", default=[], help="label=run_dir of a variant (MS, SS, MoME, sink ...)")
    ap.add_argument("--reference", default=None,
                    help="run dir of the shipped design (MSS) trained on the baselines' budget, for like-for-like targets")
    ap.add_argument("--ctc-weight", default="auto",
                    help="weight of the CTC prefix score in joint decoding (0 = the LM alone), or 'auto': the best of "
                         "--sweep on the development utterances; written into the bundle's manifest")
    ap.add_argument("--sweep", default="0.5,0.7",
                    help="CTC weights compared on development utterances (disjoint from the reported ones); '' = skip")
    ap.add_argument("--word-weight", default="auto",
                    help="weight of the look-ahead word LM (0 = none), or 'auto': the best of --word-sweep; written "
                         "into the manifest")
    ap.add_argument("--word-sweep", default="0.2,0.35", help="word-LM weights compared on the development utterances")
    ap.add_argument("--decoding", default="rescore", choices=DECODING_METHODS,
                    help="how every table decodes (section 1c compares the others at the finest and coarsest scale)")
    ap.add_argument("--beams", type=int, default=8,
                    help="transcripts the LM rescores (rescore) and beam width of beam search; 1 = no beam-search rows")
    ap.add_argument("--search-beams", type=int, default=None,
                    help="beam width of the CTC search under rescore (default: --beams); written into the manifest")
    ap.add_argument("--scale-search", action="append", default=[], metavar="sK=SEARCH:BEAMS",
                    help="under rescore, scale K searches SEARCH prefixes and the LM rescores BEAMS of them (coarser "
                         "scales spend less); written into the manifest")
    ap.add_argument("--speed-vote", default=None, metavar="SPEED,SPEED:SEARCH[@sK,sK]",
                    help="under rescore, also search each chunk played at these speeds (SEARCH prefixes each) and vote "
                         "the rescored transcript word by word with their bests, at the scales named after @ (default: "
                         "every scale), e.g. 0.95,1.05:16@s0,s1; written into the manifest")
    ap.add_argument("--video-fusion", default=None, metavar="WEIGHT@CONFIDENCE",
                    help="under rescore, where the audio-visual phone head's mean top probability over a chunk is below "
                         "CONFIDENCE, pool its N best with the video phone head's and rank them by log P_AV + WEIGHT * "
                         "log P_video (decoding.VideoFusion), e.g. 0.5@0.92; written into the manifest")
    ap.add_argument("--dictionary", default=None, help="word list of the word LM's lexicon (default: Debian's wamerican)")
    ap.add_argument("--sweep-first", type=int, default=240, help="first seen-voice utterance of the development set")
    ap.add_argument("--sweep-n", type=int, default=20)
    ap.add_argument("--from-report", default=None, metavar="EVAL_JSON",
                    help="decode nothing: write this saved eval.json of --run into --bundle (after re-exporting it)")
    a = ap.parse_args()
    if a.from_report:
        apply_report(a.from_report, a.bundle, a.run)
        return
    scale_search = parse_scale_search(a.scale_search)
    try:
        speed_vote = parse_speed_vote(a.speed_vote) if a.speed_vote else None
    except ValueError as error:
        raise SystemExit(f"--speed-vote: {error}") from None
    try:
        video_fusion = parse_video_fusion(a.video_fusion) if a.video_fusion else None
    except ValueError as error:
        raise SystemExit(f"--video-fusion: {error}") from None
    torch.set_num_threads(2)
    t0 = time.time()
    model, info = load_run(a.run)
    corpus = a.corpus or info["train"]["corpus"]
    word_lm = WordLM.from_corpus(corpus, *([a.dictionary] if a.dictionary else []))
    phonetic = None
    if model.ctc_p is not None:  # audio-only chunks search the phone head, as the engine does with the bundle
        with open(os.path.join(corpus, "lm_text.txt"), encoding="utf-8") as f:
            phonetic = PhoneticWordLM.from_text(f.read().splitlines(), Lexicon.for_corpus(corpus), word_lm)
    roi = model.cfg.roi
    seen = Split(corpus, "eval_seen", roi)
    held = Split(corpus, "eval_heldout", roi)
    n = min(a.limit, len(seen))
    nh = min(a.heldout_limit or n, len(held))
    nb = min(a.baseline_limit or n, len(seen))
    scales = list(range(len(model.cfg.scales)))
    ev: dict = {"bundle": a.bundle, "scales": [list(s) for s in model.cfg.scales], "variant": model.cfg.lora_variant,
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": "2-core shared CPU, no GPU",
                "command": "/usr/bin/python3 -m nestcap_av.evaluate " + " ".join(
                    f"{k}={v}" for k, v in vars(a).items() if v not in (None, [], False)),
                "heldout_family": "flite"}
    from .export import git_commit

    ev["git_commit"] = git_commit()
    if a.sweep and a.sweep_first + a.sweep_n > len(seen):
        print(f"[eval] no weight sweep: the seen-voice split has {len(seen)} utterances, "
              f"fewer than --sweep-first + --sweep-n = {a.sweep_first + a.sweep_n}")
    elif a.sweep:
        if a.sweep_first < n:
            raise SystemExit(f"--sweep-first {a.sweep_first} overlaps the {n} reported utterances")
        ctc_grid = a.sweep.split(",") if a.ctc_weight == "auto" else [a.ctc_weight]
        word_grid = a.word_sweep.split(",") if a.word_weight == "auto" else [a.word_weight]
        ev["ctc_weight_sweep"] = {
            "first_utterance": a.sweep_first, "n_utterances": a.sweep_n, "wer": {
                sweep_key(cw, ww): evaluate_model(
                    model, seen, a.sweep_n, sorted({0, len(scales) - 1}), ["asr", "avsr"], SWEEP_NOISES,
                    ctc_weight=float(cw), first=a.sweep_first, label=f" sweep {cw}/{ww}", word_lm=word_lm,
                    word_weight=float(ww), method=a.decoding, beams=a.beams, search_beams=a.search_beams,
                    scale_search=scale_search, phonetic=phonetic, speed_vote=speed_vote,
                    video_fusion=video_fusion)["wer"]
                for cw in ctc_grid for ww in word_grid}}
    w, ww = chosen_weights(a.ctc_weight, a.word_weight, ev.get("ctc_weight_sweep"))
    print(f"[eval] CTC weight {w}, word-LM weight {ww}")
    # every row decodes as the engine will: the chosen weights, the word LM included
    weights = {"ctc_weight": w, "word_lm": word_lm, "word_weight": ww}
    dec = {**weights, "method": a.decoding, "beams": a.beams, "search_beams": a.search_beams,
           "scale_search": scale_search, "phonetic": phonetic, "speed_vote": speed_vote, "video_fusion": video_fusion}
    ev["main"] = evaluate_model(model, seen, n, scales, TASKS, NOISES, label=" seen", **dec)
    two_noises = [NOISES[0], NOISES[2]]
    ev["lm_only"] = evaluate_model(model, seen, n, scales, TASKS, two_noises, label=" LM alone",
                                   ctc_weight=0.0, method="greedy")
    if ww > 0:
        ev["no_word_lm"] = evaluate_model(model, seen, n, scales, ["asr", "avsr"], two_noises, label=" no word LM",
                                          ctc_weight=w, method=a.decoding, beams=a.beams, search_beams=a.search_beams,
                                          scale_search=scale_search, speed_vote=speed_vote)
    ends = sorted({0, len(scales) - 1})
    for other in (m for m in DECODING_METHODS if m != a.decoding and not (m == "beam" and a.beams < 2)):
        ev[other] = evaluate_model(model, seen, n, ends, ["asr", "avsr"], NOISES[:1], label=f" {other}",
                                   **{**dec, "method": other})
    ev["chunk_padded"] = evaluate_model(model, seen, n, ends, ["asr", "avsr"], NOISES[:1], label=" chunk padding",
                                        pad=ENGINE_CHUNK_PADDING_S, **dec)
    ev["heldout"] = evaluate_model(model, held, nh, scales, TASKS, NOISES, label=" heldout", **dec)
    ev["baselines"], ev["not_run"] = {}, []
    clean = NOISES[:1]
    lm_driven_runs: dict[str, LmDrivenRun] = {}  # the rows section 3b decodes again, already loaded
    for spec in a.fixed:
        k_name, run = spec.split("=", 1)
        k = int(k_name.lstrip("s"))
        m, m_info = load_run(run)
        r = evaluate_model(m, seen, nb, [k], ["avsr"], clean, label=f" fixed {k_name}", **dec)
        name = f"fixed-scale model ({k_name} only)"
        ev["baselines"][name] = {**r, "scale": k, "budget": budget(run, m_info)}
        lm_driven_runs[name] = LmDrivenRun(m, [k], scale=k)
    if not a.fixed:
        ev["not_run"].append("fixed-scale models (Llama-AVSR style, one per scale)")
    if a.pool_baseline:
        m, m_info = load_run(a.pool_baseline)
        r = evaluate_model(m, seen, nb, scales, ["avsr"], clean, pool_from=0, label=" pooling", **dec)
        ev["baselines"][POOLING] = {**r, "budget": budget(a.pool_baseline, m_info)}
        lm_driven_runs[POOLING] = LmDrivenRun(m, scales, pool_from=0)
    else:
        ev["not_run"].append(POOLING)
    compare = ([f"{REFERENCE}={a.reference}"] if a.reference else []) + a.compare
    for spec in compare:
        label, run = spec.split("=", 1)
        m, m_info = load_run(run)
        ev["baselines"][label] = {**evaluate_model(m, seen, nb, scales, ["avsr"], clean, label=f" {label}", **dec),
                                  "budget": budget(run, m_info)}
        if label == REFERENCE:
            lm_driven_runs[label] = LmDrivenRun(m, scales)
    if not a.compare:
        ev["not_run"] += ["MS", "SS", "MSS + MoME", "MSS + sink loss"]
    if a.beams > 1 and (a.fixed or a.pool_baseline):
        ev["baselines_lm_driven"] = lm_driven_baselines(model, seen, nb, scales, lm_driven_runs,
                                                        {**dec, "method": "beam"})
    ev["cost"] = flops_per_second(model)
    ev["training"] = {"run": a.run, "state": info["state"], "lm": info.get("lm"), "encoders": info.get("encoders"),
                      "fusion": info.get("fusion"), "seeded_from": info.get("seeded_from"), "train_config": info["train"],
                      "model_config": info["model"]}
    ev["targets"] = targets(ev)
    ev["manifest_accuracy"] = {f"s{k}": {"wer_clean_seen": {t: ev["main"]["wer"].get(f"s{k}/{t}/clean") for t in TASKS},
                                         "wer_0db_babble_seen": {t: ev["main"]["wer"].get(f"s{k}/{t}/0dB") for t in TASKS}}
                               for k in scales}
    ev["manifest_cost"] = {f"s{k}": {"gflops_per_second": {t: ev["cost"][f"s{k}"][t]["total_gflops_per_second"] for t in TASKS},
                                     "rtf_pytorch_2threads": {t: ev["main"]["rtf_pytorch"].get(f"s{k}/{t}") for t in TASKS}}
                           for k in scales}
    ev["seconds"] = round(time.time() - t0, 1)
    write_report(ev, a.bundle)


def write_report(ev: dict, bundle: str) -> None:
    """EVAL.md and eval.json into the bundle, and the measured accuracy, cost and decoding weights into its
    manifest (the engine decodes with the weights the accuracy was measured at)."""
    os.makedirs(bundle, exist_ok=True)
    dump_json(ev, os.path.join(bundle, "eval.json"), compact=True)  # the bundle's 30 MB include it
    with open(os.path.join(bundle, "EVAL.md"), "w", encoding="utf-8") as f:
        f.write(render_md(ev))
    man_path = os.path.join(bundle, "manifest.json")
    if os.path.exists(man_path):
        with open(man_path, encoding="utf-8") as f:
            man = json.load(f)
        for s in man["scales"]:
            s["accuracy"] = ev["manifest_accuracy"].get(s["id"])
            s["cost"].update(ev["manifest_cost"].get(s["id"], {}))
        if "ctc" in man.get("decoding", {}):
            man["decoding"]["ctc"]["weight"] = ev["main"]["ctc_weight"]
        if "word_lm" in man.get("decoding", {}):
            man["decoding"]["word_lm"]["weight"] = ev["main"].get("word_weight", 0)
        man.setdefault("decoding", {})["default"] = default_decoding(ev["main"])
        man["evaluation"]["available"] = True
        dump_json(man, man_path)
    print(f"[eval] wrote {bundle}/EVAL.md and eval.json ({ev['seconds']:.0f} s of evaluation)")


def apply_report(report: str, bundle: str, run: str) -> None:
    """Writes a saved report into a bundle re-exported from the same run, without decoding again: the
    export is deterministic, so the graphs are the ones the report measured."""
    with open(report, encoding="utf-8") as f:
        ev = json.load(f)
    if ev["training"]["run"] != run:
        raise SystemExit(f"{report} measured the run {ev['training']['run']}, not {run}")
    with open(os.path.join(bundle, "manifest.json"), encoding="utf-8") as f:
        exported_steps = json.load(f)["provenance"]["training"]["steps"]
    if exported_steps != ev["training"]["state"]["step"]:
        raise SystemExit(f"{bundle} was exported at step {exported_steps}; {report} measured step "
                         f"{ev['training']['state']['step']}")
    # The report now describes this bundle; its command still names the copy it decoded.
    if ev["bundle"] != bundle:
        ev["measured_in"] = ev["bundle"]
        ev["bundle"] = bundle
    write_report(ev, bundle)


if __name__ == "__main__":
    main()
