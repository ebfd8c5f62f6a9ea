"""A training run small enough to keep in git, and back.

Runs live under ``work/`` (git-ignored, gone with the machine). ``pack`` keeps what a later session needs to
go on training: the model weights in float16 (the frozen LM included), the run's config, state and log; not
the optimizer's moments (resuming starts fresh Adam moments). The logs of the runs that seeded it
(``--init-from``) come along as ``log.<run>.jsonl``. ``unpack`` rebuilds a run directory that
``python -m nestcap_av.train`` resumes from, without pre-training the LM again.

    python -m nestcap_av.portable pack --run work/runs/mtskp12 --out checkpoints/mtskp12
    python -m nestcap_av.portable unpack --from checkpoints/mtskp12 --run work/runs/mtskp12
"""

from __future__ import annotations

import argparse
import json
import os
import shutil

import torch

from .train import PHONE_HEAD_PREFIX, seed_name

KEPT = ("config.json", "state.json", "log.jsonl")


def seeding_runs(state_path: str) -> list[str]:
    """Every run named in a run's ``seeded_from`` record, nearest first."""
    with open(state_path, encoding="utf-8") as f:
        record = json.load(f).get("seeded_from")
    found: list[str] = []

    def walk(node) -> None:
        if not isinstance(node, dict):
            return
        for part in node.values():
            if isinstance(part, str) or (isinstance(part, dict) and "run" in part):
                if seed_name(part) not in found:
                    found.append(seed_name(part))
                if isinstance(part, dict):
                    walk(part.get("seeded_from"))

    walk(record)
    return found


def pack(run: str, out: str) -> None:
    ck = torch.load(os.path.join(run, "last.pt"), map_location="cpu")
    os.makedirs(out, exist_ok=True)
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in ck["model"].items()}
    torch.save({"model": half, "state": ck["state"]}, os.path.join(out, "model.fp16.pt"))
    for name in KEPT:
        shutil.copy(os.path.join(run, name), os.path.join(out, name))
    # the training logs of the runs that seeded this one (their weights live on inside it)
    for seed_run in seeding_runs(os.path.join(run, "state.json")):
        log = os.path.join(seed_run, "log.jsonl")
        if os.path.exists(log):
            shutil.copy(log, os.path.join(out, f"log.{os.path.basename(os.path.normpath(seed_run))}.jsonl"))
    size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"[portable] {out}: step {ck['state']['step']}, {size / 1e6:.1f} MB")


def fusion_checkpoint(model: dict, state_path: str) -> dict | None:
    """The audio-visual CTC head's stage checkpoint (``fusion.pt``, no optimizer moments) rebuilt from the
    packed weights and the run's record of that stage; None for a run without the stage."""
    with open(state_path, encoding="utf-8") as f:
        state = json.load(f).get("fusion")
    head = {k[len("ctc_av."):]: v for k, v in model.items() if k.startswith("ctc_av.")}
    # the audio-visual phone head, where the run has one, as train.fusion_weights keeps it
    head.update({PHONE_HEAD_PREFIX + k[len("ctc_avp."):]: v for k, v in model.items() if k.startswith("ctc_avp.")})
    if not state or not head or state.get("step", 0) == 0:
        return None
    return {"head": head, "state": {**state, "done": True}}


def unpack(source: str, run: str) -> None:
    if os.path.exists(os.path.join(run, "last.pt")):
        raise SystemExit(f"{run} already holds a run; unpack into a new directory")
    ck = torch.load(os.path.join(source, "model.fp16.pt"), map_location="cpu")
    model = {k: (v.float() if v.is_floating_point() else v) for k, v in ck["model"].items()}
    os.makedirs(run, exist_ok=True)
    for name in KEPT:
        shutil.copy(os.path.join(source, name), os.path.join(run, name))
    with open(os.path.join(source, "state.json"), encoding="utf-8") as f:
        lm_info = json.load(f)["lm"]
    lm = {k[len("lm."):]: v for k, v in model.items() if k.startswith("lm.")}
    torch.save({"lm": lm, "info": lm_info}, os.path.join(run, "lm.pt"))
    torch.save({"model": model, "state": ck["state"]}, os.path.join(run, "last.pt"))
    fusion = fusion_checkpoint(model, os.path.join(source, "state.json"))
    if fusion is not None:  # so that more --fusion-steps go on from the packed step, not from step 0
        torch.save(fusion, os.path.join(run, "fusion.pt"))
    print(f"[portable] {run}: ready to resume at step {ck['state']['step']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--run", required=True)
    p.add_argument("--out", required=True)
    u = sub.add_parser("unpack")
    u.add_argument("--from", dest="source", required=True)
    u.add_argument("--run", required=True)
    a = ap.parse_args()
    if a.command == "pack":
        pack(a.run, a.out)
    else:
        unpack(a.source, a.run)


if __name__ == "__main__":
    main()
