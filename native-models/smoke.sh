#!/usr/bin/env bash
# CI smoke test: tiny generated corpus -> a few training steps -> export -> ONNX parity in Node.
# Usage: native-models/smoke.sh [OUT_DIR]   (default: a temporary directory, removed afterwards)
# Needs: Debian python3 with torch + onnx, espeak-ng, flite, festival (+ voices), fortunes, wamerican; Node deps installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
py="${PYTHON:-/usr/bin/python3}"
out="${1:-}"
if [[ -z "$out" ]]; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
cd "$here"
start=$(date +%s)
"$py" -m nestcap_av.corpus --out "$out/corpus" --n-train 32 --n-eval-seen 8 --n-eval-heldout 8 --n-train-extra 8 --workers 2
# a split in festival voices no other split uses, added to the corpus already there: the others stay as they were
sum_before=$(cat "$out"/corpus/{train,eval_seen,eval_heldout}/index.jsonl | md5sum)
"$py" -m nestcap_av.corpus --out "$out/corpus" --n-train 32 --n-eval-seen 8 --n-eval-heldout 8 --n-train-voices 4 \
  --splits train_voices --workers 2
test "$(cat "$out"/corpus/{train,eval_seen,eval_heldout}/index.jsonl | md5sum)" = "$sum_before"
grep -q '"voice": "ked_diphone"' "$out/corpus/train_voices/index.jsonl"
"$py" -c "import json, sys; m = json.load(open(sys.argv[1])); assert set(m['splits']) == {'train', 'eval_seen', 'eval_heldout', 'train_extra', 'train_voices'}, m['splits']" "$out/corpus/manifest.json"
# stages: LM, CTC encoder pre-training, AV (encoders with convolution modules, as the built-in bundle)
"$py" -m nestcap_av.train --corpus "$out/corpus" --run "$out/enc" --tiny --lm-steps 3 --enc-steps 2 --enc-batch 2 \
  --encoder-conv-kernel 5 --steps 3 --batch 4 --ckpt-every 3
# resuming with more steps continues from the checkpoint
"$py" -m nestcap_av.train --corpus "$out/corpus" --run "$out/enc" --tiny --steps 4 --batch 4 --ckpt-every 3
# a wider audio encoder trained alone by CTC, the rest seeded (how the built-in bundle's audio encoder is trained),
# with the voice augmentation (speed, channel, SpecAugment, a family oversampled), a milder noise policy and
# the extra split of WordNet's sentences, and a phone CTC head beside the character one (and the video
# encoder's phone head, which only a video stage trains: here it is made, and rides along untrained)
"$py" -m nestcap_av.train --corpus "$out/corpus" --run "$out/enc_a" --tiny --init-from "$out/enc" \
  --audio-dim 48 --audio-layers 2 --enc-modalities a --enc-steps 2 --enc-batch 2 --steps 0 \
  --p-speed 0.5 --p-channel 0.5 --p-pad 0.5 --spec-augment --family-boost festival=2 --p-noise 0.35 --snr clean,10,0 \
  --extra-split train_extra --extra-split train_voices --phone-ctc 1 --video-phone-ctc 1
grep -q '"ctc_p"' "$out/enc_a/log.jsonl" && test -f "$out/corpus/phone_lexicon.json"
# the video encoder, one block deeper and on a finer grid, trained alone by CTC: the audio encoder stays
# exactly as it was seeded
"$py" -m nestcap_av.train --corpus "$out/corpus" --run "$out/enc_v" --tiny --init-from "$out/enc_a" \
  --enc-modalities v --video-layers 2 --video-grid 4 --enc-steps 2 --enc-batch 2 --steps 0
"$py" -c 'import sys, torch
seed, run = (torch.load(f"{d}/last.pt", map_location="cpu")["model"] for d in sys.argv[1:])
assert all(torch.equal(seed[k], run[k]) for k in seed if k.startswith(("audio.", "ctc_a.")))
assert any(not torch.equal(seed[k], run[k]) for k in seed if k.startswith(("video.", "ctc_v.")))
assert "video.blocks.1.q.weight" in run and "video.blocks.1.q.weight" not in seed
assert run["video.fc.weight"].shape[1] == 4 * seed["video.fc.weight"].shape[1]' "$out/enc_a" "$out/enc_v"
# projectors and LoRA on the frozen, seeded encoders (how the built-in bundle and its ablations are trained),
# then the audio-visual CTC head alone (stage 4, as the built-in bundle's)
"$py" -m nestcap_av.train --corpus "$out/corpus" --run "$out/run" --tiny --init-from "$out/enc_a" \
  --init-adapters-from "$out/enc" --freeze-encoders --steps 3 --batch 4 --ckpt-every 3 --fusion-steps 2 \
  --p-speed 0.3 --p-channel 0.3 --p-pad 0.5
# a copied run trains on in its copy, with its original command, even where its seeding run is gone
# (as a run unpacked from checkpoints/), and leaves the original alone
cp -r "$out/run" "$out/run_copy"
"$py" -m nestcap_av.train --corpus "$out/corpus" --run "$out/run_copy" --tiny --init-from "$out/gone" \
  --init-adapters-from "$out/gone" --freeze-encoders --steps 4 --batch 4 --ckpt-every 3 --fusion-steps 2
"$py" -c 'import json, sys; steps = [json.load(open(f"{d}/state.json"))["state"]["step"] for d in sys.argv[1:]]; assert steps == [3, 4], steps' \
  "$out/run" "$out/run_copy"
# the quick development check of a run's CTC heads, with the search
"$py" -m nestcap_av.devcheck --run "$out/run" --corpus "$out/corpus" --train 2 --seen-first 0 --seen 2 \
  --heldout-first 0 --heldout 2 --search > "$out/devcheck.md"
grep -q "| audio-visual search, 0dB |" "$out/devcheck.md" && grep -q "| phone search, 0dB |" "$out/devcheck.md"
grep -q "| audio-visual phone search, 0dB |" "$out/devcheck.md"
"$py" -m nestcap_av.export --run "$out/run" --out "$out/bundle"
# the coarsest scale searches narrower and rescores fewer (the engine's bundle test reads its budget)
"$py" -m nestcap_av.evaluate --run "$out/run" --bundle "$out/bundle" --limit 1 --heldout-limit 1 --word-weight 0.3 --beams 2 \
  --search-beams 4 --scale-search s3=2:1 --video-fusion 0.5@1
test -f "$out/bundle/manifest.json" && test -f "$out/bundle/EVAL.md" && test -f "$out/bundle/phones.json.gz"
"$py" -c 'import json, sys; d = json.load(open(sys.argv[1]))["decoding"]["default"]
assert d["scale_search"] == {"s3": {"search_beams": 2, "beams": 1}} and d["search_beams"] == 4, d
assert d["video_fusion"] == {"weight": 0.5, "below_confidence": 1.0}, d' "$out/bundle/manifest.json"
grep -q "LM rescoring of 2 (s3: 2/1)" "$out/bundle/EVAL.md"
# the phone heads (seeded from enc_a, the audio-visual one trained in stage 4) reach the bundle and the report
grep -q '"audio_visual_output": "av_phone_log_probs"' "$out/bundle/manifest.json"
# and video-only chunks search the video encoder's phone head, in the report as in the engine
grep -q '"video_output": "video_phone_log_probs"' "$out/bundle/manifest.json"
grep -q "^| video phone CTC + pronunciation word-LM search" "$out/bundle/EVAL.md"
grep -q "^| video-only, LM alone |" "$out/bundle/EVAL.md"
# an untrained audio-visual head is never sure: every audio-visual chunk pools the lip reader's search
grep -q "^| the same, pooled with the video phone search where unsure (100% of chunks)" "$out/bundle/EVAL.md"
grep -q "^| character CTC + word-LM search without LM rescoring" "$out/bundle/EVAL.md"
grep -q "^## 1e. By voice" "$out/bundle/EVAL.md" && grep -q "^## 1d. As the engine" "$out/bundle/EVAL.md"
# a saved report written into a bundle exported again (no decoding): the same report and manifest; a
# report of another run is refused
cp "$out/bundle/eval.json" "$out/saved_eval.json" && cp "$out/bundle/EVAL.md" "$out/saved_EVAL.md"
cp "$out/bundle/manifest.json" "$out/saved_manifest.json"
"$py" -m nestcap_av.export --run "$out/run" --out "$out/bundle"
"$py" -m nestcap_av.evaluate --run "$out/run" --bundle "$out/bundle" --from-report "$out/saved_eval.json"
cmp "$out/saved_EVAL.md" "$out/bundle/EVAL.md"
"$py" -c 'import json, sys; a, b = (json.load(open(f)) for f in sys.argv[1:]); [m["provenance"].pop("created") for m in (a, b)]
assert a == b, "the manifest differs after --from-report"' "$out/saved_manifest.json" "$out/bundle/manifest.json"
if "$py" -m nestcap_av.evaluate --run "$out/run_copy" --bundle "$out/bundle" --from-report "$out/saved_eval.json" 2>/dev/null; then
  echo "smoke: --from-report took a report of another run" >&2; exit 1
fi
if command -v node >/dev/null && [[ -d "$repo/node_modules/onnxruntime-node" ]]; then
  # ONNX Runtime agrees with PyTorch, and the app's engine loads the bundle and its scale ladder
  (cd "$repo" && NESTCAP_TEST_BUNDLE="$out/bundle" \
    node --import tsx --test --test-concurrency=1 test/native-models/parity.test.ts test/engine/bundle.test.ts)
else
  echo "smoke: node/onnxruntime-node not available, parity test skipped"
fi
echo "smoke: ok in $(( $(date +%s) - start )) s"
