"""Export a training checkpoint as a Hugging Face model folder that strand loads.

    python3 -m model.training.export --checkpoint runs/X/checkpoint.pt --out data/models/X \
        [--dtype bf16|fp32] [--strand PATH/TO/strand]

Writes config.json (model_type "caduceus" with rcps / complement_map with string keys, or
"mamba"; masked models also get "strand_score_window" = the training window) and
model.safetensors with the published key names, tied tensors omitted (the reverse mixers'
in/out_proj and the LM head), and metadata (config name, tokens seen, step, dtype). With
--strand, runs `strand info` on the result as a check.
"""
import argparse
import json
import os
import subprocess
import sys

import torch

from . import models as M
from .safetensors_io import write_safetensors
from .train import load_checkpoint

DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}


def export(checkpoint, out, dtype="bf16", quiet=False, model=None):
    ck = load_checkpoint(checkpoint) if isinstance(checkpoint, str) else checkpoint
    cfg = ck["config"]
    if model is None:
        model = M.build_model(cfg["model"])
        model.load_state_dict(ck["model"])
    name = cfg.get("name", "strand-model")
    extra = {"_name_or_path": f"strand/{name}",
             "torch_dtype": "bfloat16" if dtype == "bf16" else "float32"}
    if cfg["model"]["arch"] == "caduceus":
        extra["strand_score_window"] = int(cfg["train"]["window"])
    hf = M.hf_config(cfg["model"], extra)
    tensors = M.published_state_dict(model, DTYPES[dtype])
    meta = {"format": "pt", "strand_model": name, "tokens_seen": ck.get("tokens", 0),
            "steps": ck.get("step", 0), "training_window": cfg["train"]["window"],
            "objective": cfg.get("objective", ""), "dtype": dtype,
            "training_complete": ck.get("done", False),
            "training_data": ",".join(cfg.get("data", {}).get("files", [])),
            "generator": "model/training/export.py"}
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(hf, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(out, "model.safetensors"), tensors, meta)
    if not quiet:
        size = os.path.getsize(os.path.join(out, "model.safetensors"))
        print(f"exported {name}: {M.count_parameters(model):,} parameters, {len(tensors)} "
              f"tensors, {size / 1e6:.2f} MB ({dtype}) -> {out}", file=sys.stderr)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m model.training.export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    ap.add_argument("--strand", default=None,
                    help="strand binary: run 'strand info OUT' on the result")
    args = ap.parse_args(argv)
    export(args.checkpoint, args.out, args.dtype)
    if args.strand:
        r = subprocess.run([args.strand, "info", args.out], capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
        if r.returncode:
            raise SystemExit(f"strand info failed ({r.returncode})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
