"""Configuration dataclasses shared by corpus generation, training, export and evaluation."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

SAMPLE_RATE = 16000
FPS = 25
# Greedy decoding never repeats an n-gram of this many characters (0 turns it off): a small model
# caught in a loop ("for the for the for") otherwise fills the length limit with insertions. The
# export writes it into the manifest so the app decodes exactly as the evaluation did.
NO_REPEAT_NGRAM = 6


@dataclass
class CorpusConfig:
    seed: int = 1234
    n_train: int = 6000
    n_eval_seen: int = 300
    n_eval_heldout: int = 200
    # utterances of split train_extra: WordNet's example sentences (corpus.load_wordnet_examples) in the
    # training voices, for acoustic training on more text than the fortunes give; 0 = no such split
    n_train_extra: int = 0
    # utterances of split train_voices: training sentences in festival voices that the other splits never
    # draw (train_voice_names), for speaker variety; planned on its own generator like train_extra
    n_train_voices: int = 0
    train_voice_names: tuple[str, ...] = ("ked_diphone",)
    # utterances of split train_accents: training sentences in festival voices of other languages speaking
    # English through a phone map (tts.ACCENT_VOICES), for speakers unlike any other split's; own generator too
    n_train_accents: int = 0
    # the voices split train_accents draws from (tts.ACCENT_VOICES); the default is the ten that run q trained
    # on (tts.DIPHONE_ACCENT_VOICES), so that its plan stays as it was; "upc_ca_ona_hts" adds a Catalan voice
    accent_voice_names: tuple[str, ...] = ("lp_diphone", "pc_diphone", "suo_fi_lj_diphone", "hy_fi_mv_diphone",
                                           "czech_dita", "czech_krb", "czech_machac", "czech_ph",
                                           "msu_ru_nsh_clunits", "hindi_NSK_diphone")
    roi: int = 32  # mouth ROI side in pixels (grayscale)
    min_words: int = 3
    max_words: int = 10
    max_chars: int = 60
    eval_fraction: float = 0.06  # share of sentences reserved for evaluation only
    heldout_family: str = "flite"  # TTS engine family never used in training
    train_families: tuple[str, ...] = ("espeak", "festival")
    family_weights: tuple[float, ...] = (0.72, 0.28)
    workers: int = 2


@dataclass
class ModelConfig:
    vocab_size: int = 0  # filled from the tokenizer
    # audio front end (inside the graph)
    n_fft: int = 400
    hop: int = 160
    n_mels: int = 64
    # take each utterance's mean log-mel per bin out inside the graph (over its speech frames), as a cepstral
    # mean normalisation; runs saved before this option load with False (the global mean only)
    audio_cmn: bool = False
    audio_dim: int = 144
    audio_layers: int = 2
    # video front end
    roi: int = 32
    video_dim: int = 144
    video_layers: int = 1
    # side of the spatial grid the lip front end pools its feature map to before the linear layer (2 or 4)
    video_grid: int = 2
    # depthwise kernel of a Conformer convolution module after every encoder block (0 = attention only,
    # the first bundle's design; runs saved before this option load with 0)
    encoder_conv_kernel: int = 0
    roi_mean: float = 0.5
    roi_std: float = 0.2
    # language model (decoder only, frozen after text pre-training)
    lm_dim: int = 192
    lm_layers: int = 4
    lm_heads: int = 4
    lm_ff: int = 576
    lm_pos_scale: float = 1.0  # weight of the sinusoidal positions added to token embeddings
    # Matryoshka scales: (audio rate, video rate) over 25 Hz encoder outputs, finest -> coarsest
    scales: tuple[tuple[int, int], ...] = ((2, 2), (2, 5), (8, 2), (8, 5))
    compression: str = "avg"  # avg | stack
    # LoRA
    lora_variant: str = "MSS"  # MS | SS | MSS
    lora_rank: int = 8
    lora_alpha: float = 16.0
    # training options
    mome: bool = False
    mome_experts: int = 4
    mome_topk: int = 1
    mome_dim: int = 32
    sink_loss: float = 0.0  # weight of the BOS decorrelation loss (0 = off)
    ctc_weight: float = 0.5  # auxiliary CTC on encoder outputs (training only)
    # width of the audio-visual CTC head over both encoders' outputs (0 = none; see model.AVCTCHead)
    av_ctc_dim: int = 0
    # symbols of the audio encoder's phone CTC head (0 = none; see phones.py); runs saved before it load with 0
    phone_vocab: int = 0
    # a phone CTC head on the video encoder too (training only: what lip shapes show is phones, not spellings)
    video_phone_head: bool = False
    # a frame-level viseme classifier on the video encoder (training only: the corpus knows which mouth shape
    # every frame shows, a denser and easier target than any transcript)
    video_viseme_head: bool = False


@dataclass
class TrainConfig:
    corpus: str = "work/corpus"
    run_dir: str = "work/runs/mtsk"
    seed: int = 7
    threads: int = 2
    device: str = "cpu"  # where the model trains: 'cpu' or 'cuda' (train's --device auto resolves to one)
    lm_steps: int = 1200
    lm_transcription_share: float = 0.7  # LM pre-training sentences laid out as transcriptions of pseudo-media
    lm_batch: int = 32
    lm_lr: float = 2e-3
    # stage 2 (encoders): CTC-only pre-training of the audio and video encoders, our stand-in for the
    # research's pre-trained Whisper and AV-HuBERT (0 steps = skip)
    enc_steps: int = 0
    enc_batch: int = 16
    enc_lr: float = 8e-4
    # "av": both encoders; "a": the audio encoder alone (the video encoder keeps its seeded weights), which
    # lets a larger audio encoder train without paying for the video front end every step
    enc_modalities: str = "av"
    # weight of the phone CTC loss beside the character CTC loss in the encoder stage (0 = no phone head)
    phone_ctc: float = 0.0
    video_phone_ctc: float = 0.0  # weight of the video encoder's phone CTC loss (needs video_phone_head)
    video_viseme: float = 0.0  # weight of the video encoder's per-frame viseme loss (needs video_viseme_head)
    # stage 3 (AV): train only projectors, LoRA and MoME on frozen encoders, as Llama-MTSK does
    freeze_encoders: bool = False
    init_from: str = ""  # a run whose LM and encoders seed this one
    init_adapters_from: str = ""  # a run whose projectors, LoRA and MoME seed this one (with init_from)
    steps: int = 4000
    batch: int = 8
    lr: float = 8e-4
    adapter_lr_mult: float = 1.0  # LR multiplier for projectors, LoRA and MoME (encoders use lr)
    warmup: int = 200
    task_weights: dict[str, float] = field(default_factory=lambda: {"asr": 1.0, "vsr": 1.5, "avsr": 1.0})
    task_probs: dict[str, float] = field(default_factory=lambda: {"asr": 0.3, "vsr": 0.2, "avsr": 0.5})
    scales_per_step: int = 2  # 0 = all scales every step (Llama-MTSK); k>0 samples k scales
    fixed_scale: int = -1  # >=0 trains a single-scale model (Llama-AVSR style baseline)
    snr_choices: tuple[float | None, ...] = (None, 20.0, 15.0, 10.0, 5.0, 0.0, -5.0)
    p_noise: float = 0.7
    noise_ramp_steps: int = 1500  # noise/reverb probability ramps up linearly over these steps (curriculum)
    p_reverb: float = 0.2
    p_video_missing: float = 0.08
    p_video_occluded: float = 0.12
    # voice augmentation (every stage that samples training audio): speed perturbation, a random channel,
    # and in the encoder stage SpecAugment masks and per-family oversampling
    p_speed: float = 0.0
    speed_range: tuple[float, float] = (0.88, 1.12)
    # vocal tract length perturbation: the spectrum alone stretched, at the same tempo (a new speaker's size)
    p_formant: float = 0.0
    formant_range: tuple[float, float] = (0.9, 1.1)
    p_channel: float = 0.0
    # silence before and after the speech, as the engine's voice-activity chunks have (the corpus trims it):
    # this share of samples gets each side uniform in [0, pad_max] seconds
    p_pad: float = 0.0
    pad_max: float = 0.5
    # video augmentation (every stage that samples training video): this share of clips is mirrored, moved
    # by up to video_shift_max pixels, and changed in contrast (gain) and brightness (grey levels)
    p_video_aug: float = 0.0
    video_shift_max: int = 2
    video_gain_range: tuple[float, float] = (0.75, 1.25)
    video_offset_max: float = 20.0
    spec_augment: bool = False
    family_boost: dict[str, float] = field(default_factory=dict)
    # corpus splits trained on besides ``train`` (e.g. ``train_extra``, WordNet's sentences), every stage
    extra_splits: tuple[str, ...] = ()
    ckpt_every: int = 200
    log_every: int = 20
    max_minutes: float = 0.0  # stop (after checkpointing) when wall time exceeds this; 0 = no limit
    # stage 4 (fusion): the audio-visual CTC head alone on the frozen model, so that lip video reaches the
    # CTC search, which otherwise hears only the audio (0 steps = skip)
    fusion_steps: int = 0
    fusion_batch: int = 16
    fusion_lr: float = 1e-3
    fusion_snr_choices: tuple[float | None, ...] = (None, 20.0, 10.0, 5.0, 0.0, -5.0)
    fusion_p_noise: float = 0.8


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for k, v in data.items():
        if k not in names:
            continue
        if k == "scales":
            v = tuple(tuple(x) for x in v)
        elif isinstance(v, list):
            v = tuple(v)
        kwargs[k] = v
    return cls(**kwargs)


def dump_json(obj: Any, path: str, compact: bool = False) -> None:
    """Indented for people; ``compact`` for what ships inside the size-capped bundle (eval.json)."""
    with open(path, "w", encoding="utf-8") as f:
        if compact:
            json.dump(obj, f, separators=(",", ":"))
        else:
            json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")
