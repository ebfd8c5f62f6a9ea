#!/usr/bin/env bash
# The training code on a CUDA GPU (the device machine, in a session that is lent one). From the built-in
# bundle's run (checkpoints/mtskp12, the full-size model), the same steps of the encoder stage and of the AV
# stage with its audio-visual heads, once with --device cuda and once with --device cpu, on a small corpus
# made beforehand on a machine with the TTS voices (the device machine has none):
#   here:   cd native-models && /usr/bin/python3 -m nestcap_av.corpus --out work/gpucorpus --n-train 64 \
#             --n-eval-seen 1 --n-eval-heldout 1 && /usr/bin/python3 -c 'from nestcap_av.phones import Lexicon;
#             Lexicon.for_corpus("work/gpucorpus")'          # the phone lexicon, cached in the corpus
#   there:  native-models/gpu_check.sh native-models/work/gpucorpus "$OUT"     (carry native-models/work/gpucorpus)
# Writes OUT/train.log, OUT/gpu_check.json (seconds per step of each stage on each device, the first step's losses on each)
# and OUT/av_gpu/ (the CUDA-trained run, packed as nestcap_av.portable does, so that it can be unpacked,
# exported and loaded by the engine on another machine); the model tests run there too, the CUDA one included.
set -euo pipefail
corpus="$(cd "$1" && pwd)"
out="$(mkdir -p "$2" && cd "$2" && pwd)"
py="${PYTHON:-python3}"
device="${DEVICE:-cuda}"  # DEVICE=cpu tries the script on a machine without a GPU
enc_steps="${ENC_STEPS:-60}" av_steps="${AV_STEPS:-30}" fusion_steps="${FUSION_STEPS:-30}" cpu_steps="${CPU_STEPS:-6}"
cd "$(dirname "$0")"
runs="$(mktemp -d)"
trap 'rm -rf "$runs"' EXIT
export PYTHONUNBUFFERED=1
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
  torch.cuda.get_device_name() if torch.cuda.is_available() else "")'
"$py" -m unittest tests.test_model -v 2>&1 | tail -n 8
"$py" -m nestcap_av.portable unpack --from checkpoints/mtskp12 --run "$runs/base"

train() {  # device, run name, steps of each stage (encoder, AV, heads)
  local device=$1 name=$2 enc=$3 av=$4 heads=$5
  # the encoder stage as run j trained it (audio encoder and both audio CTC heads)
  "$py" -m nestcap_av.train --corpus "$corpus" --run "$runs/enc_$name" --init-from "$runs/base" --device "$device" \
    --threads "$(nproc)" --enc-modalities a --enc-steps "$enc" --enc-lr 3e-4 --steps 0 --lora-rank 16 \
    --p-speed 0.5 --p-channel 0.5 --p-pad 0.5 --spec-augment --p-noise 0.35 --snr clean,20,15,10,5,0 \
    --phone-ctc 1.0 --ckpt-every 1000 >>"$out/train.log" 2>&1
  # the AV stage on the frozen encoders, every scale in every step, then both audio-visual CTC heads
  "$py" -m nestcap_av.train --corpus "$corpus" --run "$runs/av_$name" --init-from "$runs/base" \
    --init-adapters-from "$runs/base" --device "$device" --threads "$(nproc)" --freeze-encoders \
    --scales-per-step 0 --steps "$av" --lora-rank 16 --p-speed 0.3 --p-channel 0.3 --p-pad 0.5 \
    --fusion-steps "$heads" --ckpt-every 1000 >>"$out/train.log" 2>&1
}
train "$device" gpu "$enc_steps" "$av_steps" "$fusion_steps"
train cpu cpu "$cpu_steps" "$cpu_steps" "$cpu_steps"
"$py" -m nestcap_av.portable pack --run "$runs/av_gpu" --out "$runs/av_gpu_packed"
mkdir -p "$out/av_gpu"
cp "$runs"/av_gpu_packed/{model.fp16.pt,config.json,state.json,log.jsonl} "$out/av_gpu/"

"$py" - "$runs" "$out/gpu_check.json" <<'EOF'
import json, sys

import torch

runs, dest = sys.argv[1:]


def first_losses(run: str, stage: str) -> dict:
    with open(f"{run}/log.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    row = next(r for r in rows if r.get("stage") == stage and r.get("step") == 0)
    return {k: v for k, v in row.items() if k not in ("stage", "step", "t")}


def record(name: str) -> dict:
    enc = json.load(open(f"{runs}/enc_{name}/state.json", encoding="utf-8"))
    av = json.load(open(f"{runs}/av_{name}/state.json", encoding="utf-8"))
    per_step = lambda s: round(s["seconds"] / max(1, s["step"]), 4)  # noqa: E731
    return {"device": av["train"]["device"],
            "encoder_stage": {"steps": enc["encoders"]["step"], "seconds_per_step": per_step(enc["encoders"]),
                              "batch": enc["train"]["enc_batch"], "first_losses": first_losses(f"{runs}/enc_{name}", "enc")},
            "av_stage": {"steps": av["state"]["step"], "seconds_per_step": per_step(av["state"]),
                         "batch": av["train"]["batch"], "first_losses": first_losses(f"{runs}/av_{name}", "av")},
            "heads_stage": {"steps": av["fusion"]["step"], "seconds_per_step": per_step(av["fusion"]),
                            "batch": av["train"]["fusion_batch"], "first_losses": first_losses(f"{runs}/av_{name}", "fusion")}}


result = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
          "gpu": record("gpu"), "cpu": record("cpu")}
json.dump(result, open(dest, "w", encoding="utf-8"), indent=1)
print(json.dumps(result, indent=1))
EOF
