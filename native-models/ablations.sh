#!/usr/bin/env bash
# The equal-budget runs behind EVAL.md section 3: projectors and LoRA trained from scratch on the same
# frozen encoders and frozen LM (as Llama-MTSK trains on its frozen Whisper / AV-HuBERT), the same
# steps, batch and data for each, so the rows compare designs, not training time.
#   abl_mss           the shipped design (MSS LoRA, every scale), trained on this budget: the reference
#   abl_fixed_s0/_s3  Llama-AVSR-style single-scale models (abl_fixed_s0 is also the training-free
#                     pooling baseline: evaluated at the coarser rates it never saw)
#   abl_ms, abl_ss    the other LoRA variants; abl_mome, abl_sink: MSS with the MoME layer / sink loss
# Usage: native-models/ablations.sh [NAME ...]   (default: all, most important first)
# Environment: ENC_RUN (the run whose LM and encoders seed every ablation; default work/runs/mtskp12, the
# built-in bundle's run: `python -m nestcap_av.portable unpack --from checkpoints/mtskp12 --run work/runs/mtskp12`),
# STEPS (default 700), THREADS (default 1), CORPUS (default work/corpus). Each run resumes if re-run.
set -euo pipefail
cd "$(dirname "$0")"
py="${PYTHON:-/usr/bin/python3}"
enc="${ENC_RUN:-work/runs/mtskp12}"
common=(--corpus "${CORPUS:-work/corpus}" --init-from "$enc" --freeze-encoders --steps "${STEPS:-700}" --batch 8
        --threads "${THREADS:-1}" --scales-per-step 1 --lora-rank 16)
declare -A options=(
  [abl_mss]="" [abl_fixed_s0]="--fixed-scale 0" [abl_fixed_s3]="--fixed-scale 3"
  [abl_ms]="--lora MS" [abl_ss]="--lora SS" [abl_mome]="--mome" [abl_sink]="--sink 0.1"
)
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(abl_mss abl_fixed_s0 abl_fixed_s3 abl_ms abl_ss abl_mome abl_sink)
for name in "${names[@]}"; do
  [[ -v "options[$name]" ]] || { echo "ablations: unknown run $name" >&2; exit 2; }
  started=$(date +%s)
  # shellcheck disable=SC2086  # the options are words on purpose
  "$py" -m nestcap_av.train --run "work/runs/$name" "${common[@]}" ${options[$name]}
  echo "ablations: $name done in $(( $(date +%s) - started )) s"
done
