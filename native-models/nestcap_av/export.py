"""Export a trained run to an engine bundle ``native-models/<id>/``.

    /usr/bin/python3 -m nestcap_av.export --run work/runs/mtsk --out nestcap-av-small

Writes ``manifest.json``, four ONNX graphs (``audio_encoder.onnx``, ``video_encoder.onnx``,
``token_embed.onnx``, ``decoder.onnx``) and, for a run with the audio-visual CTC head, ``av_ctc.onnx``; per-scale adapters ``adapters/s<k>.bin``, ``tokenizer.json`` and
``parity.json`` (inputs + PyTorch outputs per scale, checked by test/native-models/parity.test.ts).
See native-models/README.md for the contract.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import subprocess

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from .config import FPS, NO_REPEAT_NGRAM, SAMPLE_RATE, ModelConfig, dump_json, from_dict
from .data import TASKS, CharTokenizer
from .decoding import (DECODING_METHODS, DEFAULT_CTC_WEIGHT, JOINT_CANDIDATES, CTCPrefixScorer, ctc_prefix_beam,
                       fused_phone_nbest, phone_nbest)
from .model import AVModel, av_ctc_log_probs, av_ctc_log_probs_aligned, count_params, ctc_log_probs
from .phones import CHAR_OF, PHONES_FILE, PHONES_FORMAT, Lexicon, PhoneticWordLM, PhoneTokenizer
from .train import flat_lineage
from .wordlm import DICTIONARY, DISCOUNT, WORD_LM_FILE, WORD_LM_FORMAT, WordLM, character_scores

OPSET = 17
CTC_OUTPUT = "audio_ctc_log_probs"
PHONE_OUTPUT = "audio_phone_log_probs"
AV_PHONE_OUTPUT = "av_phone_log_probs"
VIDEO_PHONE_OUTPUT = "video_phone_log_probs"
AV_CTC_OUTPUT = "av_ctc_log_probs"


def store_exact_float16(path: str, min_elements: int = 1024) -> dict:
    """Rewrites an ONNX graph so that each float32 weight whose every value float16 holds exactly is stored
    as float16 and cast back to float32 at the graph's start: half the bytes on disk and in the installer,
    the same numbers in every computation (ONNX Runtime folds the casts when it loads the graph). Weights
    trained and packed in float16 (portable.py) all qualify; any other weight stays as it was. Returns what
    was stored how."""
    model = onnx.load(path)
    graph = model.graph
    kept, casts, halved = [], [], 0
    for init in graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT:
            values = numpy_helper.to_array(init)
            half = values.astype(np.float16)
            if values.size >= min_elements and np.array_equal(half.astype(np.float32), values):
                stored = numpy_helper.from_array(half, f"{init.name}.float16")
                kept.append(stored)
                casts.append(onnx.helper.make_node("Cast", [stored.name], [init.name], to=onnx.TensorProto.FLOAT,
                                                   name=f"{init.name}.to_float32"))
                halved += 1
                continue
        kept.append(init)
    if casts:
        names = {c.output[0] for c in casts}
        inputs = [i for i in graph.input if i.name not in names]  # exporters of old IR list weights as inputs
        del graph.initializer[:]
        graph.initializer.extend(kept)
        del graph.input[:]
        graph.input.extend(inputs)
        nodes = casts + list(graph.node)
        del graph.node[:]
        graph.node.extend(nodes)
        onnx.checker.check_model(model)
        onnx.save(model, path)
    float32 = [i for i in graph.initializer if i.data_type == onnx.TensorProto.FLOAT]
    return {"float16_weights": halved, "float32_weights": len(float32),
            "float32_weight_bytes": int(sum(numpy_helper.to_array(i).nbytes for i in float32)),
            "file_bytes": os.path.getsize(path)}


class AudioGraph(nn.Module):
    def __init__(self, m: AVModel):
        super().__init__()
        self.m = m

    def forward(self, pcm):
        f = self.m.audio(pcm)
        heads = [ctc_log_probs(self.m.ctc_a, f)] + ([] if self.m.ctc_p is None else [ctc_log_probs(self.m.ctc_p, f)])
        return (f, *[self.m.audio_tokens(f, k) for k in range(len(self.m.cfg.scales))], *heads)


class VideoGraph(nn.Module):
    def __init__(self, m: AVModel):
        super().__init__()
        self.m = m

    def forward(self, frames):
        f = self.m.video(frames)
        heads = [] if self.m.ctc_vp is None else [ctc_log_probs(self.m.ctc_vp, f)]
        return (f, *[self.m.video_tokens(f, k) for k in range(len(self.m.cfg.scales))], *heads)


class AVCTCGraph(nn.Module):
    """The audio-visual CTC head over equal-length feature streams (the engine trims the longer one), and the
    audio-visual phone head where the model has one."""

    def __init__(self, m: AVModel):
        super().__init__()
        self.m = m

    def forward(self, audio_features, video_features):
        chars = av_ctc_log_probs_aligned(self.m, audio_features, video_features)
        if self.m.ctc_avp is None:
            return chars
        return chars, av_ctc_log_probs_aligned(self.m, audio_features, video_features, phones=True)


class EmbedGraph(nn.Module):
    def __init__(self, m: AVModel):
        super().__init__()
        self.emb = m.lm.emb

    def forward(self, input_ids):
        return self.emb(input_ids)


class DecoderGraph(nn.Module):
    def __init__(self, m: AVModel):
        super().__init__()
        self.lm = m.lm

    def forward(self, inputs_embeds, past_kv, lora_qa, lora_qb, lora_va, lora_vb):
        logits, present, _, _ = self.lm(inputs_embeds, past_kv, (lora_qa, lora_qb, lora_va, lora_vb))
        return logits, present


def load_run(run: str) -> tuple[AVModel, dict]:
    with open(os.path.join(run, "state.json"), encoding="utf-8") as f:
        info = json.load(f)
    mc = from_dict(ModelConfig, info["model"])
    model = AVModel(mc)
    ck = torch.load(os.path.join(run, "last.pt"), map_location="cpu")
    model.load_state_dict(ck["model"])
    model.eval()
    return model, info


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown (no commit yet)"


def prefix_embeds(model: AVModel, tok: CharTokenizer, a_tok, v_tok, task: str) -> torch.Tensor:
    """The sequence layout of the bundle (same as training): BOS, <audio> A </audio>, <video> V </video>, prompt."""
    e = model.lm.emb
    parts = [e(torch.tensor([tok.bos]))]
    if task in ("asr", "avsr"):
        parts += [e(torch.tensor([tok.tok("<audio>")])), a_tok[0], e(torch.tensor([tok.tok("</audio>")]))]
    if task in ("vsr", "avsr"):
        parts += [e(torch.tensor([tok.tok("<video>")])), v_tok[0], e(torch.tensor([tok.tok("</video>")]))]
    parts.append(e(torch.tensor(tok.prompt(task))))
    return torch.cat(parts, 0).unsqueeze(0)


def lm_flops_per_token(mc: ModelConfig, ctx: int) -> float:
    """Multiply-adds x2 per LM token (weights + attention over ``ctx`` keys)."""
    d, L, ff = mc.lm_dim, mc.lm_layers, mc.lm_ff
    per_layer = 4 * d * d + 2 * d * ff + 2 * d * ctx + 2 * d * mc.lora_rank * 2
    return 2.0 * (L * per_layer + d * mc.vocab_size)


# in the lexicon, after a frequent word, misspelt, unknown, and with an apostrophe
WORD_LM_PARITY_TEXTS = ["the cat", "i wonder if it is", "the gaden", "zqx blorf the", "it's mine"]
PARITY_CTC_TEXT = "the gaden is ful of brds"


def default_decoding(evaluated: dict | None) -> dict:
    """The manifest's default decoding: the one the evaluation measured, else rescoring with 8 beams."""
    if not evaluated or "method" not in evaluated:
        return {"method": DECODING_METHODS[0], "beams": 8}
    width = evaluated.get("search_beams")
    return {"method": evaluated["method"], "beams": int(evaluated["beams"]),
            **({"search_beams": int(width)} if width is not None else {}),
            **({"scale_search": evaluated["scale_search"]} if evaluated.get("scale_search") else {}),
            **({"speed_vote": evaluated["speed_vote"]} if evaluated.get("speed_vote") else {}),
            **({"video_fusion": {k: evaluated["video_fusion"][k] for k in ("weight", "below_confidence")}}
               if evaluated.get("video_fusion") else {})}


PARITY_SEARCH = {"beams": 6, "weight": 0.5, "word_weight": 0.3}


def leaning_log_probs(tok, text: str, rng: np.random.Generator) -> np.ndarray:
    """Float32 CTC log-probabilities leaning towards ``text``'s symbols (``tok``: the character or phone
    tokenizer), each followed by a blank, with random doubt on every frame."""
    path = [s for c in text for s in (tok.encode(c)[0], tok.pad)] + [tok.pad] * 3
    x = rng.dirichlet(np.ones(len(tok)) * 0.3, len(path)) * 0.5
    x[np.arange(len(path)), path] += 0.5
    return np.log(x).astype("<f4")


def ctc_beam_fixture(tok: CharTokenizer, word_lm: WordLM, rng: np.random.Generator) -> dict:
    """CTC log-probabilities leaning towards a misspelt sentence, and the N best that CTC prefix beam search
    with the word LM finds in them."""
    log_probs = leaning_log_probs(tok, PARITY_CTC_TEXT, rng)
    search = PARITY_SEARCH
    nbest = ctc_prefix_beam(log_probs.astype(np.float64), tok, search["beams"], search["weight"], word_lm,
                            search["word_weight"])
    return {**search, "log_probs": b64(log_probs), "shape": list(log_probs.shape),
            "nbest": [{"tokens": e.tokens, "ctc": e.ctc, "words": e.words} for e in nbest]}


# "the cat sat on their mat": "their" has a homophone, which the spelling must choose by its context
PARITY_PHONES = "dh ah | k ae t | s ae t | aa n | dh eh r | m ae t"


def phone_beam_fixture(tok: CharTokenizer, phonetic: PhoneticWordLM, rng: np.random.Generator) -> dict:
    """The same for the phone head: phone log-probabilities leaning towards a sentence's pronunciation, with
    random doubt, and the spelled N best the engine must find in them."""
    phones = " ".join("".join(CHAR_OF[p] for p in word.split()) for word in PARITY_PHONES.split(" | "))
    log_probs = leaning_log_probs(PhoneTokenizer(), phones, rng)
    search = PARITY_SEARCH
    nbest = phone_nbest(log_probs.astype(np.float64), phonetic, tok, search["beams"], search["weight"],
                        search["word_weight"])
    return {**search, "log_probs": b64(log_probs), "shape": list(log_probs.shape),
            "nbest": [{"text": tok.decode(e.tokens), "tokens": e.tokens, "ctc": e.ctc, "words": e.words}
                      for e in nbest]}


# what the lip reader leans towards in the fused search's fixture: as long as PARITY_PHONES, one word apart
PARITY_VIDEO_PHONES = "dh ah | k ae t | s ae t | aa n | dh eh r | m ae p"
PARITY_VIDEO_WEIGHT = 0.5


def fused_phone_beam_fixture(tok: CharTokenizer, phonetic: PhoneticWordLM, rng: np.random.Generator) -> dict:
    """The same for the pooled search of an unsure audio-visual chunk: audio-visual phone log-probabilities leaning
    towards PARITY_PHONES, the lip reader's towards PARITY_VIDEO_PHONES, and the N best the engine must find."""
    ptok = PhoneTokenizer()

    def leaning(sentence: str) -> np.ndarray:
        return leaning_log_probs(ptok, " ".join("".join(CHAR_OF[p] for p in word.split()) for word in sentence.split(" | ")), rng)

    av, video = leaning(PARITY_PHONES), leaning(PARITY_VIDEO_PHONES)
    search = PARITY_SEARCH
    nbest = fused_phone_nbest(av.astype(np.float64), video.astype(np.float64), phonetic, tok, search["beams"],
                              search["weight"], search["word_weight"], PARITY_VIDEO_WEIGHT)
    return {**search, "video_weight": PARITY_VIDEO_WEIGHT, "av_log_probs": b64(av), "video_log_probs": b64(video),
            "shape": list(av.shape),
            "nbest": [{"text": tok.decode(e.tokens), "tokens": e.tokens, "ctc": e.ctc, "words": e.words} for e in nbest]}


# sentences whose homophones only the next word or the sentence's end spells right, and plurals that sound
# like possessives
PARITY_SPELLINGS = ["it is never too late", "can you buy it", "you're on the wrong track", "they define their own words",
                    "no electric typewriters please", "they used finks", "go to the park", "i have two"]


def spelling_fixture(phonetic: PhoneticWordLM, lexicon: Lexicon) -> list[dict]:
    """Pronunciations of PARITY_SPELLINGS (the lexicon's first ones) and how the evaluation spells them."""
    out = []
    for text in PARITY_SPELLINGS:
        phones = lexicon.transcript(text)
        if phones is not None:
            out.append({"phones": phones, "text": phonetic.spell(phones)})
    return out


def export(run: str, out: str, eval_json: str | None = None, log=print, ctc_weight: float | None = None,
           word_weight: float | None = None, dictionary: str = DICTIONARY) -> dict:
    """``ctc_weight`` and ``word_weight``: the joint-decoding weights for the manifest; by default the ones the
    evaluation in ``eval_json`` chose and measured at, else DEFAULT_CTC_WEIGHT and no word LM.  The word LM
    is built from the run's corpus text (training sentences only) and ``dictionary``."""
    torch.set_num_threads(2)
    model, info = load_run(run)
    mc = model.cfg
    tok = CharTokenizer()
    os.makedirs(os.path.join(out, "adapters"), exist_ok=True)
    n_sc = len(mc.scales)
    L, H, dh = mc.lm_layers, mc.lm_heads, mc.lm_dim // mc.lm_heads

    # ---- graphs
    pcm = torch.randn(1, SAMPLE_RATE * 2) * 0.1
    frames = torch.rand(1, 2 * FPS, mc.roi, mc.roi) * 255
    a_names = ([PHONE_OUTPUT] if model.ctc_p is not None else [])
    a_names = ["audio_features"] + [f"audio_tokens_s{k}" for k in range(n_sc)] + [CTC_OUTPUT] + a_names
    v_names = ["video_features"] + [f"video_tokens_s{k}" for k in range(n_sc)] + \
        ([] if model.ctc_vp is None else [VIDEO_PHONE_OUTPUT])
    with torch.no_grad():
        torch.onnx.export(AudioGraph(model), (pcm,), os.path.join(out, "audio_encoder.onnx"), opset_version=OPSET,
                          input_names=["pcm"], output_names=a_names,
                          dynamic_axes={"pcm": {0: "batch", 1: "samples"}, **{n: {0: "batch", 1: f"t_{n}"} for n in a_names}})
        torch.onnx.export(VideoGraph(model), (frames,), os.path.join(out, "video_encoder.onnx"), opset_version=OPSET,
                          input_names=["frames"], output_names=v_names,
                          dynamic_axes={"frames": {0: "batch", 1: "frames"}, **{n: {0: "batch", 1: f"t_{n}"} for n in v_names}})
        torch.onnx.export(EmbedGraph(model), (torch.tensor([[tok.bos, 20]]),), os.path.join(out, "token_embed.onnx"),
                          opset_version=OPSET, input_names=["input_ids"], output_names=["embeds"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "embeds": {0: "batch", 1: "seq"}})
        lo = model.lora.for_scale(0)
        emb = torch.randn(1, 5, mc.lm_dim)
        past = torch.randn(L, 2, 1, H, 3, dh)
        torch.onnx.export(DecoderGraph(model), (emb, past, *lo), os.path.join(out, "decoder.onnx"), opset_version=OPSET,
                          input_names=["inputs_embeds", "past_kv", "lora_qa", "lora_qb", "lora_va", "lora_vb"],
                          output_names=["logits", "present_kv"],
                          dynamic_axes={"inputs_embeds": {0: "batch", 1: "seq"}, "past_kv": {2: "batch", 4: "past"},
                                        "lora_qa": {2: "rank"}, "lora_qb": {1: "rank"}, "lora_va": {2: "rank"},
                                        "lora_vb": {1: "rank"}, "logits": {0: "batch", 1: "seq"},
                                        "present_kv": {2: "batch", 4: "total"}})
        if model.ctc_av is not None:
            t = 2 * FPS
            av_names = [AV_CTC_OUTPUT] + ([] if model.ctc_avp is None else [AV_PHONE_OUTPUT])
            torch.onnx.export(AVCTCGraph(model), (torch.randn(1, t, mc.audio_dim), torch.randn(1, t, mc.video_dim)),
                              os.path.join(out, "av_ctc.onnx"), opset_version=OPSET,
                              input_names=["audio_features", "video_features"], output_names=av_names,
                              dynamic_axes={"audio_features": {0: "batch", 1: "t"}, "video_features": {0: "batch", 1: "t"},
                                            **{n: {0: "batch", 1: "t2"} for n in av_names}})

    graph_files = ["audio_encoder.onnx", "video_encoder.onnx", "token_embed.onnx", "decoder.onnx"] + \
        ([] if model.ctc_av is None else ["av_ctc.onnx"])
    storage = {f: store_exact_float16(os.path.join(out, f)) for f in graph_files}

    # ---- adapters
    adapters = []
    for k in range(n_sc):
        tensors = [t.detach().numpy().astype("<f4") for t in model.lora.for_scale(k)]
        names = ["lora_qa", "lora_qb", "lora_va", "lora_vb"]
        entries, off = [], 0
        with open(os.path.join(out, "adapters", f"s{k}.bin"), "wb") as f:
            for n, t in zip(names, tensors):
                f.write(t.tobytes())
                entries.append({"name": n, "shape": list(t.shape), "dtype": "float32", "byte_offset": off,
                                "byte_length": t.nbytes})
                off += t.nbytes
        adapters.append({"file": f"adapters/s{k}.bin", "tensors": entries})
    dump_json(tok.to_json(), os.path.join(out, "tokenizer.json"))
    word_lm = WordLM.from_corpus(info["train"]["corpus"], dictionary)
    word_lm.save(os.path.join(out, WORD_LM_FILE))
    phonetic = None
    if model.ctc_p is not None:
        with open(os.path.join(info["train"]["corpus"], "lm_text.txt"), encoding="utf-8") as f:
            lexicon = Lexicon.for_corpus(info["train"]["corpus"])
            phonetic = PhoneticWordLM.from_text(f.read().splitlines(), lexicon, word_lm)
        phonetic.save(os.path.join(out, PHONES_FILE))

    # ---- parity fixture (PyTorch reference outputs per scale)
    rng = np.random.default_rng(5)
    t_sec = 1.2
    f_pcm = (rng.normal(0, 0.1, int(SAMPLE_RATE * t_sec))).astype(np.float32)
    f_frames = rng.integers(0, 256, (int(FPS * t_sec), mc.roi, mc.roi)).astype(np.float32)
    text_ids = tok.encode("the cat")
    fixture = {"pcm": b64(f_pcm), "pcm_shape": [1, len(f_pcm)], "frames": b64(f_frames),
               "frames_shape": [1, *f_frames.shape], "task": "avsr", "text_ids": text_ids, "scales": []}
    with torch.no_grad():
        fa = model.audio(torch.from_numpy(f_pcm)[None])
        ctc = ctc_log_probs(model.ctc_a, fa)
        fixture["ctc_log_probs"], fixture["ctc_log_probs_shape"] = b64(ctc.numpy()), list(ctc.shape)
        # the engine's joint decoding must score prefixes as the evaluation does
        scorer = CTCPrefixScorer(ctc[0].numpy().astype(np.float64), tok.pad)
        state, prefix_scores = scorer.initial(), []
        for t in text_ids:
            state = scorer.extend(state, [t])[0]
            prefix_scores.append(state.score)
        fixture["ctc_prefix_scores"], fixture["ctc_final_score"] = prefix_scores, scorer.final(state)
        # and score words as the evaluation does: per-character scores of texts in and out of the lexicon
        fixture["word_lm"] = [{"text": text, "character_scores": character_scores(word_lm, text),
                               "total": word_lm.score_text(text)} for text in WORD_LM_PARITY_TEXTS]
        # and search the CTC output as the evaluation does (a made-up output: the fixture's own audio is noise)
        fixture["ctc_beam"] = ctc_beam_fixture(tok, word_lm, rng)
        if phonetic is not None:
            phone = ctc_log_probs(model.ctc_p, fa)
            fixture["phone_log_probs"], fixture["phone_log_probs_shape"] = b64(phone.numpy()), list(phone.shape)
            fixture["phone_beam"] = phone_beam_fixture(tok, phonetic, rng)
            fixture["spellings"] = spelling_fixture(phonetic, lexicon)
            fixture["fused_phone_beam"] = fused_phone_beam_fixture(tok, phonetic, rng)
        fv = model.video(torch.from_numpy(f_frames)[None])
        if model.ctc_vp is not None:
            vp = ctc_log_probs(model.ctc_vp, fv)
            fixture["video_phone_log_probs"], fixture["video_phone_log_probs_shape"] = b64(vp.numpy()), list(vp.shape)
        if model.ctc_av is not None:
            av = av_ctc_log_probs(model, fa, fv)
            fixture["av_ctc_log_probs"], fixture["av_ctc_log_probs_shape"] = b64(av.numpy()), list(av.shape)
        if model.ctc_avp is not None:
            avp = av_ctc_log_probs(model, fa, fv, phones=True)
            fixture["av_phone_log_probs"], fixture["av_phone_log_probs_shape"] = b64(avp.numpy()), list(avp.shape)
        for k in range(n_sc):
            at, vt = model.audio_tokens(fa, k), model.video_tokens(fv, k)
            pre = prefix_embeds(model, tok, at, vt, "avsr")
            full = torch.cat([pre, model.lm.emb(torch.tensor([text_ids]))], 1)
            empty = torch.zeros(L, 2, 1, H, 0, dh)
            logits, present, _, _ = model.lm(full, empty, model.lora.for_scale(k))
            # KV-cache path: prefix first, then transcript tokens one at a time
            lg, pst, _, _ = model.lm(pre, empty, model.lora.for_scale(k))
            step_logits = []
            for t in text_ids:
                lg1, pst, _, _ = model.lm(model.lm.emb(torch.tensor([[t]])), pst, model.lora.for_scale(k))
                step_logits.append(lg1[0, -1].numpy())
            cache_diff = float(np.max(np.abs(np.stack(step_logits) - logits[0, pre.shape[1]:].numpy())))
            fixture["scales"].append({
                "audio_tokens_shape": list(at.shape), "audio_tokens": b64(at.numpy()),
                "video_tokens_shape": list(vt.shape), "video_tokens": b64(vt.numpy()),
                "prefix_len": pre.shape[1], "logits_shape": list(logits.shape), "logits": b64(logits.numpy()),
                "torch_cache_vs_full_max_abs_diff": cache_diff})
    dump_json(fixture, os.path.join(out, "parity.json"))

    # ---- manifest
    ev = None
    if eval_json and os.path.exists(eval_json):
        with open(eval_json, encoding="utf-8") as f:
            ev = json.load(f)
    if ctc_weight is None:
        ctc_weight = (ev or {}).get("main", {}).get("ctc_weight", DEFAULT_CTC_WEIGHT)
    if word_weight is None:
        word_weight = (ev or {}).get("main", {}).get("word_weight", 0.0)
    default = default_decoding((ev or {}).get("main"))
    scales = []
    for k, (ra, rv) in enumerate(mc.scales):
        a_tps, v_tps = FPS / ra, FPS / rv
        ctx = 10 * (a_tps + v_tps) + 50  # a 10 s chunk + ~50 transcript/special tokens
        entry = {
            "id": f"s{k}", "audio_rate": ra, "video_rate": rv,
            "lm_tokens_per_second": {"asr": a_tps, "vsr": v_tps, "avsr": a_tps + v_tps},
            "encoder_outputs": {"audio": f"audio_tokens_s{k}", "video": f"video_tokens_s{k}"},
            "adapter": adapters[k],
            "cost": {"lm_prefix_gflops_per_second_avsr": round((a_tps + v_tps) * lm_flops_per_token(mc, ctx) / 1e9, 4)},
            "accuracy": None,
        }
        if ev is not None:
            entry["accuracy"] = ev.get("manifest_accuracy", {}).get(f"s{k}")
            entry["cost"].update(ev.get("manifest_cost", {}).get(f"s{k}", {}))
        scales.append(entry)
    corpus_manifest = {}
    cm_path = info.get("corpus_manifest")
    if cm_path and os.path.exists(cm_path):
        with open(cm_path, encoding="utf-8") as f:
            corpus_manifest = json.load(f)
    manifest = {
        "format": "nestcap-av-bundle", "format_version": 1,
        "id": os.path.basename(os.path.normpath(out)),
        "description": "Small Llama-MTSK-style audio-visual recognizer trained on a synthetic corpus (Debian TTS)",
        "sample_rate": SAMPLE_RATE, "fps": FPS,
        "roi": {"width": mc.roi, "height": mc.roi, "channels": 1, "input_range": [0, 255],
                "normalisation": {"mean": mc.roi_mean, "std": mc.roi_std, "formula": "(x/255 - mean)/std, inside video_encoder.onnx"},
                "note": "grayscale mouth crop resized to this size; normalisation happens inside the graph"},
        "audio": {"input": "float32 mono PCM in [-1, 1] at sample_rate; log-mel inside audio_encoder.onnx",
                  "n_fft": mc.n_fft, "hop": mc.hop, "n_mels": mc.n_mels, "encoder_rate_hz": 25,
                  "min_samples": mc.n_fft},
        "graphs": {
            "audio_encoder": {"file": "audio_encoder.onnx",
                              "inputs": [{"name": "pcm", "dtype": "float32", "shape": ["batch", "samples"]}],
                              "outputs": [{"name": "audio_features", "dtype": "float32", "shape": ["batch", "t", mc.audio_dim]}] +
                                         [{"name": f"audio_tokens_s{k}", "dtype": "float32", "shape": ["batch", f"floor(t/{ra})", mc.lm_dim]}
                                          for k, (ra, _) in enumerate(mc.scales)] +
                                         [{"name": CTC_OUTPUT, "dtype": "float32", "shape": ["batch", "2*t", mc.vocab_size]}] +
                                         ([] if phonetic is None else
                                          [{"name": PHONE_OUTPUT, "dtype": "float32", "shape": ["batch", "2*t", mc.phone_vocab]}])},
            "video_encoder": {"file": "video_encoder.onnx",
                              "inputs": [{"name": "frames", "dtype": "float32", "shape": ["batch", "frames", mc.roi, mc.roi]}],
                              "outputs": [{"name": "video_features", "dtype": "float32", "shape": ["batch", "frames", mc.video_dim]}] +
                                         [{"name": f"video_tokens_s{k}", "dtype": "float32", "shape": ["batch", f"floor(frames/{rv})", mc.lm_dim]}
                                          for k, (_, rv) in enumerate(mc.scales)] +
                                         ([] if model.ctc_vp is None else
                                          [{"name": VIDEO_PHONE_OUTPUT, "dtype": "float32", "shape": ["batch", "2*frames", mc.phone_vocab]}])},
            "token_embed": {"file": "token_embed.onnx",
                            "inputs": [{"name": "input_ids", "dtype": "int64", "shape": ["batch", "seq"]}],
                            "outputs": [{"name": "embeds", "dtype": "float32", "shape": ["batch", "seq", mc.lm_dim]}]},
            "decoder": {"file": "decoder.onnx",
                        "inputs": [{"name": "inputs_embeds", "dtype": "float32", "shape": ["batch", "seq", mc.lm_dim]},
                                   {"name": "past_kv", "dtype": "float32", "shape": [L, 2, "batch", H, "past", dh]},
                                   {"name": "lora_qa", "dtype": "float32", "shape": [L, mc.lm_dim, "rank"]},
                                   {"name": "lora_qb", "dtype": "float32", "shape": [L, "rank", mc.lm_dim]},
                                   {"name": "lora_va", "dtype": "float32", "shape": [L, mc.lm_dim, "rank"]},
                                   {"name": "lora_vb", "dtype": "float32", "shape": [L, "rank", mc.lm_dim]}],
                        "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", "seq", mc.vocab_size]},
                                    {"name": "present_kv", "dtype": "float32", "shape": [L, 2, "batch", H, "past+seq", dh]}],
                        "kv_cache": {"layers": L, "heads": H, "head_dim": dh, "layout": "[layer, key|value, batch, head, position, head_dim]",
                                     "empty_past": "shape [L, 2, batch, H, 0, head_dim]"}},
            **({} if model.ctc_av is None else {"av_ctc": {
                "file": "av_ctc.onnx",
                "inputs": [{"name": "audio_features", "dtype": "float32", "shape": ["batch", "t", mc.audio_dim]},
                           {"name": "video_features", "dtype": "float32", "shape": ["batch", "t", mc.video_dim]}],
                "outputs": [{"name": AV_CTC_OUTPUT, "dtype": "float32", "shape": ["batch", "2*t", mc.vocab_size]}] +
                           ([] if model.ctc_avp is None else
                            [{"name": AV_PHONE_OUTPUT, "dtype": "float32", "shape": ["batch", "2*t", mc.phone_vocab]}]),
                "note": "audio_features and video_features as the encoders give them, the longer cut to the shorter"}}),
        },
        "lm": {"dim": mc.lm_dim, "layers": L, "heads": H, "ff": mc.lm_ff, "vocab_size": mc.vocab_size,
               "positions": f"sinusoidal x {mc.lm_pos_scale}, position = past length + index (no maximum), computed in the graph", "frozen": True},
        "tokenizer": {"file": "tokenizer.json", "type": "char"},
        "special_tokens": tok.to_json()["special"],
        "prompts": {t: tok.prompt(t) for t in TASKS},
        "decoding": {"default": default,
                     "default_note": "how the evaluation decoded, and the engine decodes unless told otherwise: 'rescore' = "
                                     "CTC prefix beam search with the word LM over `search_beams` prefixes (default: "
                                     "`beams`), its `beams` best rescored by the LM (video-only: the same over the video "
                                     "phone head where decoding.phones has `video_output`, else greedy); "
                                     "`scale_search`: the scales that search and rescore fewer (their own "
                                     "`search_beams` and `beams`), so that a coarser scale costs less; `speed_vote`: "
                                     "the chunk also searched played at each of `speeds` times its speed (resampled "
                                     "linearly, the nearest lip frame to each new frame time) over `search_beams` "
                                     "prefixes, each word of the rescored transcript replaced or dropped where more of "
                                     "those searches' bests, aligned to it by word edits, agree on something else than "
                                     "agree with it, at the scales in `scales` (default: every scale; live partials do "
                                     "not vote); `video_fusion`: where the audio-visual phone head's likeliest "
                                     "symbol's probability, averaged over the chunk's frames, is below "
                                     "`below_confidence`, its N best are pooled with the video phone head's "
                                     "(decoding.phones.video_output; the first of equal phone transcripts) and "
                                     "ranked by ctc.weight * (log P_AV + `weight` * log P_video) + word_lm.weight * "
                                     "log p_words, each sequence's probability under each head by the CTC forward "
                                     "algorithm over the frames the two have in common, before spelling and "
                                     "rescoring; 'greedy' / "
                                     "'beam' = the LM's own search with `beams`",
                     "no_repeat_ngram": NO_REPEAT_NGRAM,
                     "note": "greedy/beam never repeat a character n-gram of this length (0: off); the evaluation decoded the same way",
                     "ctc": {"output": CTC_OUTPUT, "blank": tok.pad, "weight": ctc_weight, "candidates": JOINT_CANDIDATES,
                             "note": "joint decoding: each prefix scores (1 - weight) * log p_lm + weight * log p_ctc, the CTC "
                                     "prefix probability over the audio encoder's full-rate frames (two symbols per frame); "
                                     "the LM's top `candidates` next tokens are scored; used whenever the chunk has audio",
                             **({} if model.ctc_av is None else {
                                 "audio_visual_output": AV_CTC_OUTPUT,
                                 "audio_visual_note": "a chunk with audio and video takes its CTC log-probabilities from "
                                                      "graphs.av_ctc instead, the audio head corrected by the lip video"})},
                     "word_lm": {"file": WORD_LM_FILE, "format": WORD_LM_FORMAT, "weight": word_weight,
                                 "candidates": JOINT_CANDIDATES, "words": len(word_lm.words),
                                 "note": "look-ahead word bigram (nestcap_av/wordlm.py): each candidate also scores weight * "
                                         "its change in log P(words), by the probability of the lexicon words the "
                                         "spelling can still become; 0 = off"},
                     **({} if phonetic is None else {"phones": {
                         "output": PHONE_OUTPUT, "blank": PhoneTokenizer().pad, "file": PHONES_FILE,
                         "format": PHONES_FORMAT, "pronunciations": len(phonetic.lm.words),
                         **({} if model.ctc_avp is None else {"audio_visual_output": AV_PHONE_OUTPUT}),
                         **({} if model.ctc_vp is None else {"video_output": VIDEO_PHONE_OUTPUT}),
                         "note": "a chunk with audio and no video (and every partial caption) searches the phone head "
                                 "instead of the character head (a chunk with video too, graphs.av_ctc's "
                                 "audio_visual_output where present): the same CTC prefix beam search, its word LM over the "
                                 "lexicon's pronunciations (the file's word_lm, at decoding.word_lm.weight, CTC at "
                                 "decoding.ctc.weight); each of the N best spelled as the likeliest sentence under "
                                 "decoding.word_lm.file among every spelling of its pronunciations, the sentence's end "
                                 "included (the first listed of equals; a pronunciation without spellings is left out and "
                                 "the next word starts afresh); homophone transcripts "
                                 "spelled alike keep the first; then rescored as the character search's N best; a chunk "
                                 "with video and no audio searches the video encoder's phone head (`video_output`) the "
                                 "same way where present"}})},
        "tasks": {"asr": "audio-only", "vsr": "video-only", "avsr": "audio-visual"},
        "sequence_layout": {
            "asr": ["bos", "audio_start", "AUDIO_TOKENS", "audio_end", "PROMPT(asr)"],
            "vsr": ["bos", "video_start", "VIDEO_TOKENS", "video_end", "PROMPT(vsr)"],
            "avsr": ["bos", "audio_start", "AUDIO_TOKENS", "audio_end", "video_start", "VIDEO_TOKENS", "video_end", "PROMPT(avsr)"],
            "then": "transcript tokens generated autoregressively until eos",
        },
        "scales": scales,
        "lora": {"variant": mc.lora_variant, "rank_per_adapter": mc.lora_rank, "alpha": mc.lora_alpha,
                 "note": "scaling folded into lora_qb/lora_vb; MSS adapters concatenate shared+scale ranks"},
        "options": {"compression": mc.compression, "mome": mc.mome, "sink_loss": mc.sink_loss},
        "parameters": {"total": count_params(model), "lm_frozen": count_params(model.lm)},
        "weight_storage": {"graphs": storage,
                           "note": "float32 weights that float16 holds exactly are stored as float16 and cast to "
                                   "float32 at each graph's start (ONNX Runtime folds the casts at load); every "
                                   "computation stays float32"},
        "parity": {"file": "parity.json", "tolerance": 1e-3},
        "evaluation": {"report": "EVAL.md", "json": "eval.json", "available": ev is not None},
        "provenance": {
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            "torch": torch.__version__, "onnx_opset": OPSET,
            "corpus": {k: corpus_manifest.get(k) for k in ("source", "sentences_total", "splits", "seconds_total", "bytes_total", "config")},
            "lm_pretraining": info.get("lm"),
            "encoder_pretraining": info.get("encoders"),
            "fusion_training": info.get("fusion"),
            "seeded_from": flat_lineage(info.get("seeded_from")),
            "training": {"steps": info["state"]["step"], "samples_seen": info["state"]["samples"],
                         "seconds": round(info["state"]["seconds"], 1), "epochs_started": info["state"]["epoch"] + 1,
                         "config": info["train"], "machine": "2 CPU cores (shared), no GPU",
                         "note": "this run's own AV stage; the runs it took weights from are named in seeded_from.seeded_from "
                                 "by role and recorded once each in seeded_from.runs, "
                                 "the audio-visual CTC head's stage in fusion_training"},
            "normalisation_measured": info.get("norms"),
            "word_lm": {"text": os.path.join(info["train"]["corpus"], "lm_text.txt") + " (training sentences only)",
                        "word_list": dictionary + " (Debian wamerican)", "words": len(word_lm.words),
                        "discount": DISCOUNT},
            **({} if phonetic is None else {"phones": {
                "pronunciations": "Debian's CMU dictionary (pocketsphinx-en-us), stress removed; regular possessives; "
                                  "festival's letter-to-sound rules for the training text's other words (phones.py)",
                "lexicon_words": sum(len(v) for v in phonetic.spellings.values())}}),
        },
    }
    dump_json(manifest, os.path.join(out, "manifest.json"))
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(out) for f in fs)
    log(f"[export] bundle {out}: {size / 1e6:.2f} MB")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="work/runs/mtsk")
    ap.add_argument("--out", default="nestcap-av-small")
    ap.add_argument("--eval-json", default=None, help="eval.json to fill the manifest's accuracy/cost fields")
    ap.add_argument("--ctc-weight", type=float, default=None,
                    help="weight of the CTC prefix score in the engine's joint decoding (0 = LM only; "
                         "default: the one the evaluation in --eval-json chose)")
    ap.add_argument("--word-weight", type=float, default=None,
                    help="weight of the look-ahead word LM (0 = off; default: the one the evaluation chose)")
    ap.add_argument("--dictionary", default=DICTIONARY, help="word list of the word LM's lexicon")
    a = ap.parse_args()
    export(a.run, a.out, a.eval_json or os.path.join(a.out, "eval.json"), ctc_weight=a.ctc_weight,
           word_weight=a.word_weight, dictionary=a.dictionary)


if __name__ == "__main__":
    main()
