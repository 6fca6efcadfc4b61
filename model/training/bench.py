"""Training throughput of a config's model on random DNA (no data files needed), to size the
token budget of a time-limited session before training.

    python3 -m model.training.bench --config model/training/configs/bacteria-ps.json \
        [--steps 10] [--micro-batch-size N] [--device cuda] [--scan torch|triton]

Prints tokens/s of full training steps (forward + backward + AdamW, bf16 autocast on CUDA),
peak GPU memory, the share of time in the selective scan (fwd + bwd at the model's shapes),
and how many tokens 10 minutes would train.
"""
import argparse
import json
import os
import sys
import time

import torch

from . import models as M
from .scan import backend_name, selective_scan
from .train import autocast_ctx, batch_loss, full_config, make_optimizer


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m model.training.bench")
    ap.add_argument("--config", required=True)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--micro-batch-size", type=int, default=None)
    ap.add_argument("--window", type=int, default=None)
    ap.add_argument("--device", default=None)
    ap.add_argument("--scan", choices=["torch", "triton"], default=None,
                    help="force a scan implementation (sets STRAND_TRAIN_SCAN)")
    args = ap.parse_args(argv)
    if args.scan:
        os.environ["STRAND_TRAIN_SCAN"] = args.scan
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    with open(args.config) as f:
        cfg = full_config(json.load(f))
    t = cfg["train"]
    if args.window:
        t["window"] = args.window
    mb = args.micro_batch_size or t["micro_batch_size"]
    W = t["window"]
    torch.manual_seed(0)
    model = M.build_model(cfg["model"]).to(device)
    opt = make_optimizer(model, t, device)
    gen = torch.Generator().manual_seed(0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for i in range(args.steps + 2):
        batch = torch.randint(M.A_ID, M.T_ID + 1, (mb, W), generator=gen).to(torch.uint8)
        sync(device)
        t0 = time.time()
        with autocast_ctx(device):
            loss = batch_loss(model, cfg["objective"], batch, gen, t["mask_prob"], device)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync(device)
        times.append(time.time() - t0)
    steady = sorted(times[2:])[len(times[2:]) // 2]
    tps = mb * W / steady
    s = cfg["model"]
    # the scan alone at this model's shapes: calls per step = layers x directions x strands
    di, N = s["expand"] * s["d_model"], s["d_state"]
    calls = s["n_layer"] * (2 if s["arch"] == "caduceus" and s["bidirectional"] else 1)
    rows = mb * (2 if s["arch"] == "caduceus" and s["rcps"] else 1)
    g = torch.Generator(device="cpu").manual_seed(1)
    mk = lambda *shape: torch.randn(*shape, generator=g).to(device)
    u, dl, z = (mk(rows, W, di).requires_grad_() for _ in range(3))
    A = (-torch.rand(di, N, generator=g) - 0.5).to(device).requires_grad_()
    B, C = (mk(rows, W, N).requires_grad_() for _ in range(2))
    D, bias = (mk(di).requires_grad_() for _ in range(2))
    st = []
    for i in range(4):
        sync(device)
        t0 = time.time()
        y = selective_scan(u, dl, A, B, C, D, z, bias)
        y.sum().backward()
        sync(device)
        st.append(time.time() - t0)
    scan_t = sorted(st[1:])[1] * calls
    print(f"{cfg.get('name')}: {M.count_parameters(model):,} parameters, window {W}, micro-batch "
          f"{mb}, device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}), "
          f"torch {torch.__version__}, scan {backend_name(device)}")
    print(f"  step {steady * 1e3:.0f} ms, {tps / 1e3:.1f}k tokens/s -> {tps * 600 / 1e6:.0f}M tokens "
          f"in 10 min; scan fwd+bwd ~{scan_t * 1e3:.0f} ms of it ({100 * scan_t / steady:.0f}%)"
          + (f"; peak memory {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB"
             if device.type == "cuda" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
