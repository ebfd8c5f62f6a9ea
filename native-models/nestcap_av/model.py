"""Small Llama-MTSK-style audio-visual recognizer.

audio: raw 16 kHz PCM -> log-mel (STFT as conv1d, mel as matmul; inside the graph) -> conv subsampling to
25 Hz -> transformer layers.  video: uint8-range grayscale ROI frames -> normalisation (inside the graph) ->
3D conv front + 2D conv trunk -> transformer layer at 25 Hz.  Matryoshka compression: average pooling (or
stacking) at each (audio, video) rate pair, one projector per scale and modality.  LM: a small decoder-only
transformer pre-trained on text and then frozen; LoRA on the attention Q and V projections (variants MS, SS,
MSS), optional MoME expert layer (router and experts shared across scales) and optional attention-sink
decorrelation loss.

The LM takes the LoRA matrices as explicit tensors ``lora_qa [L, d, R]``, ``lora_qb [L, R, d]``,
``lora_va``, ``lora_vb`` (scaling folded into the B matrices; MSS concatenates shared and per-scale ranks), so
that the exported decoder graph serves every scale with the scale's adapter fed as inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import SAMPLE_RATE, ModelConfig
from .render import VISEME_CLASSES

NEG = -1e9


def gelu(x: torch.Tensor) -> torch.Tensor:
    """Exact (erf) GELU written out: Debian's torch 1.13 ``F.gelu`` backward is wrong when the incoming gradient
    is non-contiguous (e.g. after a transpose), which silently broke encoder training; this form is correct
    and exports to the same ONNX ops."""
    return 0.5 * x * (1.0 + torch.erf(x * 0.7071067811865476))


def mel_filterbank(n_mels: int, n_fft: int, sr: int, fmin: float = 40.0, fmax: float = 7600.0) -> np.ndarray:
    def hz2mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel2hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    n_freq = n_fft // 2 + 1
    freqs = np.linspace(0, sr / 2, n_freq)
    mpts = np.linspace(hz2mel(fmin), hz2mel(fmax), n_mels + 2)
    hz = mel2hz(mpts)
    fb = np.zeros((n_mels, n_freq), dtype=np.float32)
    for m in range(n_mels):
        lo, c, hi = hz[m], hz[m + 1], hz[m + 2]
        up = (freqs - lo) / max(c - lo, 1e-6)
        down = (hi - freqs) / max(hi - c, 1e-6)
        fb[m] = np.maximum(0.0, np.minimum(up, down))
    return fb


def sinusoid(pos: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal position encoding for float positions ``pos`` [S] -> [S, dim] (computed in the graph)."""
    half = dim // 2
    freq = torch.exp(torch.arange(half, dtype=torch.float32, device=pos.device) * (-math.log(10000.0) / half))
    ang = pos.float().unsqueeze(1) * freq.unsqueeze(0)
    return torch.cat([torch.sin(ang), torch.cos(ang)], dim=1)


class LogMel(nn.Module):
    def __init__(self, cfg: ModelConfig, mean: float = -6.0, std: float = 3.0):
        super().__init__()
        n = torch.arange(cfg.n_fft, dtype=torch.float64)
        k = torch.arange(cfg.n_fft // 2 + 1, dtype=torch.float64)
        win = 0.5 - 0.5 * torch.cos(2 * math.pi * n / cfg.n_fft)
        ang = 2 * math.pi * k[:, None] * n[None, :] / cfg.n_fft
        basis = torch.cat([torch.cos(ang) * win, -torch.sin(ang) * win], 0).float().unsqueeze(1)
        self.register_buffer("basis", basis)
        self.register_buffer("fb", torch.from_numpy(mel_filterbank(cfg.n_mels, cfg.n_fft, SAMPLE_RATE)))
        self.register_buffer("norm", torch.tensor([mean, std], dtype=torch.float32))
        self.hop = cfg.hop
        self.n_fft = cfg.n_fft
        self.n_freq = cfg.n_fft // 2 + 1
        self.cmn = cfg.audio_cmn

    def forward(self, pcm: torch.Tensor, n_samples: torch.Tensor | None = None) -> torch.Tensor:
        """[B, N] -> [B, T, n_mels]; ``n_samples`` [B] are the unpadded lengths (None: no padding)."""
        spec = F.conv1d(pcm.unsqueeze(1), self.basis, stride=self.hop)
        re, im = spec[:, : self.n_freq], spec[:, self.n_freq:]
        power = re * re + im * im
        mel = torch.matmul(self.fb, power)
        logmel = torch.log(mel + 1e-6)  # [B, n_mels, T]
        if self.cmn:
            return ((logmel - speech_mean(logmel, self.frame_count(n_samples))) / self.norm[1]).transpose(1, 2)
        return ((logmel - self.norm[0]) / self.norm[1]).transpose(1, 2)

    def frame_count(self, n_samples: torch.Tensor | None) -> torch.Tensor | None:
        if n_samples is None:
            return None
        return torch.div(n_samples - self.n_fft, self.hop, rounding_mode="floor") + 1


# Frames this far (natural log of mel power, about 22 dB) below an utterance's loudest frame are not speech
# for the mean: the synthetic corpus's digital silence and a chunk's padding would otherwise pull the mean by
# however much silence there happens to be.
SPEECH_FLOOR_NATS = 5.0


def speech_mean(logmel: torch.Tensor, n_frames: torch.Tensor | None) -> torch.Tensor:
    """Mean log-mel per bin over each utterance's speech frames: [B, n_mels, T] -> [B, n_mels, 1]."""
    energy = logmel.mean(1)  # [B, T]
    if n_frames is None:
        valid = torch.ones_like(energy)
    else:
        valid = (torch.arange(energy.shape[1], device=energy.device)[None, :] < n_frames[:, None]).to(energy.dtype)
    loudest = (energy * valid + (valid - 1.0) * 1e4).amax(1, keepdim=True)
    weight = (energy > loudest - SPEECH_FLOOR_NATS).to(energy.dtype) * valid
    return (logmel * weight[:, None, :]).sum(2, keepdim=True) / weight.sum(1, keepdim=True)[:, None, :].clamp_min(1.0)


class Block(nn.Module):
    """Pre-norm transformer block; attention with optional KV cache, LoRA tensors and key padding mask."""

    def __init__(self, d: int, heads: int, ff: int):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(d, ff), nn.Linear(ff, d)

    def attend(self, x, mask, past=None, lora=None):
        b, s, d = x.shape
        q, k, v = self.q(x), self.k(x), self.v(x)
        if lora is not None:
            qa, qb, va, vb = lora
            q = q + torch.matmul(torch.matmul(x, qa), qb)
            v = v + torch.matmul(torch.matmul(x, va), vb)
        q = q.view(b, s, self.h, self.dh).transpose(1, 2)
        k = k.view(b, s, self.h, self.dh).transpose(1, 2)
        v = v.view(b, s, self.h, self.dh).transpose(1, 2)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        att = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.dh) + mask
        out = torch.matmul(torch.softmax(att, dim=-1), v).transpose(1, 2).reshape(b, s, d)
        return self.o(out), torch.stack([k, v], 0)

    def forward(self, x, mask, past=None, lora=None):
        a, present = self.attend(self.ln1(x), mask, past, lora)
        x = x + a
        x = x + self.fc2(gelu(self.fc1(self.ln2(x))))
        return x, present


class ConvModule(nn.Module):
    """Conformer convolution module (pointwise + GLU, depthwise over time, swish, pointwise), residual.

    Self-attention alone learns local acoustic patterns slowly from scratch: the first encoder (attention
    only) plateaued at ~1.6 nats per character of CTC loss from step 400 to 7600. A depthwise kernel of
    ~0.6 s gives every frame its phonetic neighbourhood directly. LayerNorm instead of the Conformer's
    BatchNorm keeps padded batches and single-clip inference identical.
    """

    def __init__(self, d: int, kernel: int):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.pw1 = nn.Conv1d(d, 2 * d, 1)
        self.dw = nn.Conv1d(d, d, kernel, padding=kernel // 2, groups=d)
        self.ln_dw = nn.LayerNorm(d)
        self.pw2 = nn.Conv1d(d, d, 1)
        # starts as the identity, so a module added to a trained encoder leaves its outputs unchanged
        nn.init.zeros_(self.pw2.weight)
        nn.init.zeros_(self.pw2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, T, d]
        y = self.pw1(self.ln(x).transpose(1, 2))
        y = y[:, : y.shape[1] // 2] * torch.sigmoid(y[:, y.shape[1] // 2:])
        y = self.ln_dw(self.dw(y).transpose(1, 2))
        y = y * torch.sigmoid(y)
        return x + self.pw2(y.transpose(1, 2)).transpose(1, 2)


def key_mask(lengths: torch.Tensor | None, t: int) -> torch.Tensor:
    if lengths is None:
        return torch.zeros(1, 1, 1, 1)
    invalid = torch.arange(t, device=lengths.device)[None, :] >= lengths[:, None]
    return torch.zeros(invalid.shape, device=lengths.device).masked_fill(invalid, NEG)[:, None, None, :]


class AudioEncoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.mel = LogMel(cfg)
        d = cfg.audio_dim
        self.conv1 = nn.Conv1d(cfg.n_mels, d, 3, stride=2, padding=1)
        self.conv2 = nn.Conv1d(d, d, 3, stride=2, padding=1)
        self.blocks = nn.ModuleList(Block(d, 4, 2 * d) for _ in range(cfg.audio_layers))
        k = cfg.encoder_conv_kernel
        self.convs = nn.ModuleList(ConvModule(d, k) for _ in range(cfg.audio_layers)) if k > 0 else None
        self.ln = nn.LayerNorm(d)
        self.cfg = cfg

    def out_len(self, n_samples: torch.Tensor) -> torch.Tensor:
        t = torch.div(n_samples - self.cfg.n_fft, self.cfg.hop, rounding_mode="floor") + 1
        t = torch.div(t + 1, 2, rounding_mode="floor")
        return torch.div(t + 1, 2, rounding_mode="floor")

    def forward(self, pcm: torch.Tensor, lengths: torch.Tensor | None = None,
                mel_augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
                n_samples: torch.Tensor | None = None) -> torch.Tensor:
        """``lengths``: output frames per sample (the attention mask); ``n_samples``: the unpadded PCM lengths,
        which the per-utterance mean of ``audio_cmn`` needs (None: no padding)."""
        mel = self.mel(pcm, n_samples)
        if mel_augment is not None:  # training only (SpecAugment); the exported graph has none
            mel = mel_augment(mel)
        x = mel.transpose(1, 2)
        x = gelu(self.conv2(gelu(self.conv1(x)))).transpose(1, 2)
        x = x + sinusoid(torch.arange(x.shape[1], device=x.device), x.shape[2]).unsqueeze(0)
        mask = key_mask(lengths, x.shape[1])
        for i, blk in enumerate(self.blocks):
            x, _ = blk(x, mask)
            if self.convs is not None:
                x = self.convs[i](x)
        return self.ln(x)


class VideoEncoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.front = nn.Conv3d(1, 16, (3, 5, 5), stride=(1, 2, 2), padding=(1, 2, 2))
        self.c1 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(32, 64, 3, stride=2, padding=1)
        self.fc = nn.Linear(64 * cfg.video_grid ** 2, cfg.video_dim)
        self.tconv = nn.Conv1d(cfg.video_dim, cfg.video_dim, 5, padding=2)
        self.blocks = nn.ModuleList(Block(cfg.video_dim, 4, 2 * cfg.video_dim) for _ in range(cfg.video_layers))
        k = cfg.encoder_conv_kernel
        self.convs = nn.ModuleList(ConvModule(cfg.video_dim, k) for _ in range(cfg.video_layers)) if k > 0 else None
        self.ln = nn.LayerNorm(cfg.video_dim)

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        b, t, h, w = frames.shape
        x = (frames / 255.0 - self.cfg.roi_mean) / self.cfg.roi_std
        x = gelu(self.front(x.unsqueeze(1)))  # [B, C, T, H/2, W/2]
        x = x.transpose(1, 2).reshape(-1, 16, h // 2, w // 2)
        x = gelu(self.c2(gelu(self.c1(x))))  # [B*T, 64, H/8, W/8]
        grid = self.cfg.video_grid
        x = F.avg_pool2d(x, self.cfg.roi // (8 * grid)).reshape(b, -1, 64 * grid ** 2)  # grid x grid spatial cells
        x = gelu(self.fc(x))
        x = x + gelu(self.tconv(x.transpose(1, 2))).transpose(1, 2)
        x = x + sinusoid(torch.arange(t, device=x.device), x.shape[2]).unsqueeze(0)
        mask = key_mask(lengths, t)
        for i, blk in enumerate(self.blocks):
            x, _ = blk(x, mask)
            if self.convs is not None:
                x = self.convs[i](x)
        return self.ln(x)


def compress(x: torch.Tensor, rate: int, mode: str = "avg") -> torch.Tensor:
    """Matryoshka compression over time: average pooling or stacking of ``rate`` frames, remainder dropped.

    Written with pooling/convolution ops so that the exported graphs keep a dynamic time axis.
    """
    if rate == 1:
        return x
    if mode == "stack":
        d = x.shape[2]
        eye = torch.eye(d * rate, dtype=x.dtype, device=x.device).reshape(d * rate, rate, d).transpose(1, 2)  # [d*r, d, r]
        return F.conv1d(x.transpose(1, 2), eye, stride=rate).transpose(1, 2)
    return F.avg_pool1d(x.transpose(1, 2), rate, rate).transpose(1, 2)


class Projector(nn.Module):
    """Linear -> ReLU -> Linear into the LM width, then LayerNorm whose gain starts at the scale of the LM's
    token embeddings (unnormalised projector outputs grew ~25x larger than text embeddings and the frozen LM
    ignored them; measured by shuffling audio tokens across a batch: no change in loss)."""

    def __init__(self, d_in: int, d_out: int, out_scale: float = 0.07):
        super().__init__()
        self.l1, self.l2 = nn.Linear(d_in, d_out), nn.Linear(d_out, d_out)
        self.norm = nn.LayerNorm(d_out)
        nn.init.constant_(self.norm.weight, out_scale)

    def forward(self, x):
        return self.norm(self.l2(F.relu(self.l1(x))))


class MoME(nn.Module):
    """Mixture of Matryoshka experts beside each LM layer: top-k routed + one shared bottleneck expert."""

    def __init__(self, d: int, n_exp: int, k: int, m: int, layers: int):
        super().__init__()
        self.k = k
        self.router = nn.ModuleList(nn.Linear(d, n_exp) for _ in range(layers))
        self.down = nn.Parameter(torch.randn(layers, n_exp + 1, d, m) / math.sqrt(d))
        self.up = nn.Parameter(torch.zeros(layers, n_exp + 1, m, d))

    def forward(self, i: int, x: torch.Tensor):
        gates = torch.softmax(self.router[i](x), dim=-1)  # [B, S, E]
        top, idx = torch.topk(gates, self.k, dim=-1)
        sparse = torch.zeros_like(gates).scatter(-1, idx, top)
        shared = torch.ones_like(gates[..., :1])
        g = torch.cat([sparse, shared], dim=-1)  # [B, S, E+1]
        h = gelu(torch.einsum("bsd,edm->bsem", x, self.down[i]))
        y = torch.einsum("bsem,emd->bsed", h, self.up[i])
        out = (y * g.unsqueeze(-1)).sum(dim=2)
        # Switch-style load balance: fraction routed x mean gate per expert
        frac = F.one_hot(idx[..., 0], gates.shape[-1]).float().mean(dim=(0, 1))
        aux = gates.shape[-1] * (frac * gates.mean(dim=(0, 1))).sum()
        return out, aux


class LM(nn.Module):
    """Decoder-only LM (frozen after text pre-training). forward returns logits, present KV, hidden states."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.lm_dim
        self.emb = nn.Embedding(cfg.vocab_size, d)
        nn.init.normal_(self.emb.weight, std=0.05)
        self.blocks = nn.ModuleList(Block(d, cfg.lm_heads, cfg.lm_ff) for _ in range(cfg.lm_layers))
        self.ln = nn.LayerNorm(d)
        self.mome: MoME | None = None

    def forward(self, embeds, past=None, lora=None, want_hidden: bool = False):
        """embeds [B,S,d]; past [L,2,B,H,P,Dh] or None; lora (qa,qb,va,vb) with a leading L axis or None."""
        b, s, _ = embeds.shape
        p = past.shape[4] if past is not None else 0
        dev = embeds.device
        pos = torch.arange(s, device=dev) + p
        # scaled so that token content, not position, dominates the residual stream (content-based
        # attention is how the LM finds its place in the media prefix)
        x = embeds + self.cfg.lm_pos_scale * sinusoid(pos, embeds.shape[2]).unsqueeze(0)
        qi = pos.unsqueeze(1)
        kj = torch.arange(s + p, device=dev).unsqueeze(0)
        future = kj > qi
        mask = torch.zeros(future.shape, device=dev).masked_fill(future, NEG).unsqueeze(0).unsqueeze(0)
        presents, hidden, aux = [], [], torch.zeros((), device=dev)
        for i, blk in enumerate(self.blocks):
            lo = None if lora is None else (lora[0][i], lora[1][i], lora[2][i], lora[3][i])
            x, pr = blk(x, mask, None if past is None else past[i], lo)
            if self.mome is not None:
                m, a = self.mome(i, x)
                x = x + m
                aux = aux + a
            presents.append(pr)
            if want_hidden:
                hidden.append(x)
        logits = torch.matmul(self.ln(x), self.emb.weight.t())
        return logits, torch.stack(presents, 0), hidden, aux


class LoRABank(nn.Module):
    """LoRA adapters on Q and V of every LM layer: 'g' (shared, MS/MSS) and 's<k>' (per scale, SS/MSS)."""

    def __init__(self, cfg: ModelConfig, n_scales: int):
        super().__init__()
        self.cfg = cfg
        names = {"MS": ["g"], "SS": [f"s{k}" for k in range(n_scales)],
                 "MSS": ["g"] + [f"s{k}" for k in range(n_scales)]}[cfg.lora_variant]
        L, d, r = cfg.lm_layers, cfg.lm_dim, cfg.lora_rank
        self.names = names
        self.a = nn.ParameterDict({f"{n}_{w}": nn.Parameter(torch.randn(L, d, r) / math.sqrt(d))
                                   for n in names for w in "qv"})
        self.b = nn.ParameterDict({f"{n}_{w}": nn.Parameter(torch.zeros(L, r, d)) for n in names for w in "qv"})
        self.scaling = cfg.lora_alpha / r

    def for_scale(self, k: int) -> tuple[torch.Tensor, ...]:
        use = [n for n in self.names if n == "g" or n == f"s{k}"]
        out = []
        for w in "qv":
            out.append(torch.cat([self.a[f"{n}_{w}"] for n in use], dim=2))
            out.append(torch.cat([self.b[f"{n}_{w}"] for n in use], dim=1) * self.scaling)
        return tuple(out)  # qa, qb, va, vb


class AVCTCHead(nn.Module):
    """CTC over the audio and video encoders' outputs together, as a correction added to the audio CTC head.

    The CTC prefix search ranks transcripts by the audio head alone, so lip video could only reorder
    what noisy audio had already proposed (0 dB babble: 90.5% WER audio-visual against 90.7% audio-only).
    Adding the two heads' log-probabilities frame by frame does not work either: their spikes fall on
    different frames (measured: 90% CER at 0 dB, worse than either head). This head sees both streams over
    a ~0.6 s window and one attention block; its output layer starts at zero, so before training it is
    exactly the audio head, and training on noisy audio with clean or occluded video teaches it how far
    to trust each stream.
    """

    def __init__(self, cfg: ModelConfig, symbols: int = 0):
        """``symbols``: the output vocabulary (default the character tokenizer's; the phone head's for
        the audio-visual phone head)."""
        super().__init__()
        d = cfg.av_ctc_dim
        self.norm_a, self.norm_v = nn.LayerNorm(cfg.audio_dim), nn.LayerNorm(cfg.video_dim)
        self.inp = nn.Linear(cfg.audio_dim + cfg.video_dim, d)
        self.conv = ConvModule(d, 15)
        self.block = Block(d, 4, 2 * d)
        self.ln = nn.LayerNorm(d)
        self.out = nn.Linear(d, 2 * (symbols or cfg.vocab_size))
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, fa: torch.Tensor, fv: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logit corrections [B, T, 2V] for equal-length audio [B, T, Da] and video [B, T, Dv] features."""
        x = self.inp(torch.cat([self.norm_a(fa), self.norm_v(fv)], dim=2))
        x = self.conv(x)
        x, _ = self.block(x, key_mask(lengths, x.shape[1]))
        return self.out(self.ln(x))


class AVModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.audio = AudioEncoder(cfg)
        self.video = VideoEncoder(cfg)
        self.lm = LM(cfg)
        n = len(cfg.scales)
        mult = (lambda r: r) if cfg.compression == "stack" else (lambda r: 1)
        self.proj_a = nn.ModuleList(Projector(cfg.audio_dim * mult(ra), cfg.lm_dim) for ra, _ in cfg.scales)
        self.proj_v = nn.ModuleList(Projector(cfg.video_dim * mult(rv), cfg.lm_dim) for _, rv in cfg.scales)
        self.lora = LoRABank(cfg, n)
        if cfg.mome:
            self.lm.mome = MoME(cfg.lm_dim, cfg.mome_experts, cfg.mome_topk, cfg.mome_dim, cfg.lm_layers)
        # auxiliary CTC heads (training only): 2 outputs per 25 Hz frame, so fast speech stays alignable
        self.ctc_a = nn.Linear(cfg.audio_dim, 2 * cfg.vocab_size)
        self.ctc_v = nn.Linear(cfg.video_dim, 2 * cfg.vocab_size)
        self.ctc_av = AVCTCHead(cfg) if cfg.av_ctc_dim > 0 else None
        self.ctc_p = nn.Linear(cfg.audio_dim, 2 * cfg.phone_vocab) if cfg.phone_vocab > 0 else None
        # the same correction for the phone head, trained beside the character one (stage 4)
        self.ctc_avp = AVCTCHead(cfg, cfg.phone_vocab) if cfg.av_ctc_dim > 0 and cfg.phone_vocab > 0 else None
        has_vp = cfg.video_phone_head and cfg.phone_vocab > 0
        self.ctc_vp = nn.Linear(cfg.video_dim, 2 * cfg.phone_vocab) if has_vp else None
        self.viseme_v = nn.Linear(cfg.video_dim, len(VISEME_CLASSES)) if cfg.video_viseme_head else None

    def freeze_lm(self) -> None:
        for name, p in self.lm.named_parameters():
            p.requires_grad = name.startswith("mome.")

    def freeze_encoders(self) -> None:
        """As the research freezes its pre-trained Whisper and AV-HuBERT encoders: only projectors, LoRA
        (and MoME) learn in the AV stage."""
        for p in self.encoder_parameters():
            p.requires_grad = False

    def freeze_all_but_av_ctc(self) -> None:
        """Stage 4: the audio-visual CTC heads (character, and phone where the model has one) learn; every
        other output of the model stays as it was."""
        for name, p in self.named_parameters():
            p.requires_grad = name.startswith(("ctc_av.", "ctc_avp."))

    def audio_parameters(self) -> list[nn.Parameter]:
        return [p for mod in (self.audio, self.ctc_a, self.ctc_p) if mod is not None for p in mod.parameters()]

    def video_parameters(self) -> list[nn.Parameter]:
        return [p for mod in (self.video, self.ctc_v, self.ctc_vp, self.viseme_v) if mod is not None
                for p in mod.parameters()]

    def encoder_parameters(self) -> list[nn.Parameter]:
        # heads added later go last: an encoder stage's optimizer state is saved by parameter position
        return [p for mod in (self.audio, self.video, self.ctc_a, self.ctc_v, self.ctc_p, self.ctc_vp, self.viseme_v)
                if mod is not None for p in mod.parameters()]

    def audio_tokens(self, feats: torch.Tensor, k: int) -> torch.Tensor:
        return self.proj_a[k](compress(feats, self.cfg.scales[k][0], self.cfg.compression))

    def video_tokens(self, feats: torch.Tensor, k: int) -> torch.Tensor:
        return self.proj_v[k](compress(feats, self.cfg.scales[k][1], self.cfg.compression))


def ctc_log_probs(head: nn.Module, feats: torch.Tensor) -> torch.Tensor:
    """[B, 2T, V] log-probabilities of a CTC head: two symbols per 25 Hz frame, so fast speech stays alignable."""
    b, t, _ = feats.shape
    return F.log_softmax(head(feats).view(b, 2 * t, -1), -1)


def av_ctc_log_probs(model: AVModel, fa: torch.Tensor, fv: torch.Tensor,
                     lengths: torch.Tensor | None = None, phones: bool = False) -> torch.Tensor:
    """[B, 2T, V] log-probabilities of the audio-visual CTC head, T the shorter of the two streams; with
    ``phones``, of the audio-visual phone head ([B, 2T, P])."""
    t = min(fa.shape[1], fv.shape[1])
    return av_ctc_log_probs_aligned(model, fa[:, :t], fv[:, :t], lengths, phones)


def av_ctc_log_probs_aligned(model: AVModel, fa: torch.Tensor, fv: torch.Tensor,
                             lengths: torch.Tensor | None = None, phones: bool = False) -> torch.Tensor:
    """The same for streams of equal length (what the exported graph computes: its time axis stays dynamic):
    the audio head's logits (character or phone) plus its audio-visual correction."""
    b, t, _ = fa.shape
    head, correction = (model.ctc_p, model.ctc_avp) if phones else (model.ctc_a, model.ctc_av)
    logits = head(fa) + correction(fa, fv, lengths)
    return F.log_softmax(logits.reshape(b, 2 * t, -1), -1)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
