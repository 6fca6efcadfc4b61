"""Train one of strand's default models.

    python3 -m model.training.train --config model/training/configs/bacteria-causal.json \
        --out runs/bacteria-causal [--resume runs/bacteria-causal/checkpoint.pt]
        [--max-minutes M] [--device cuda|cpu] [--data-root PATH]

Objectives: "causal" (next token, MambaLM) or "mlm" (CaduceusMLM; 15% of the A/C/G/T positions
chosen, 80% -> [MASK], 10% random base, 10% unchanged; loss on the chosen positions).
AdamW, linear warmup then cosine decay over the configured token budget, gradient clipping,
bf16 autocast on CUDA with fp32 master weights.

Writes to --out: checkpoint.pt (everything needed to continue bit-identically: config, model,
optimizer, step, tokens, sampler/masking generator states) and loss.tsv (one row every
log_every steps; held-out loss every eval_every steps). Stops cleanly at --max-minutes or on
SIGTERM/SIGINT, saving the checkpoint, so that a run can be carried over time-limited
sessions: run the same command with --resume OUT/checkpoint.pt.
"""
import argparse
import json
import math
import os
import signal
import sys
import time

import torch
import torch.nn.functional as F

from . import models as M
from .data import WindowSampler, heldout_windows, load_split, mlm_mask
from .scan import backend_name

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_DATA_ROOT = os.path.join(REPO, "..", "shared", "data")
FORMAT = "strand-train-1"

TRAIN_DEFAULTS = {
    "window": 2048, "batch_size": 32, "micro_batch_size": None, "tokens": 1e9,
    "lr": 2e-3, "min_lr_ratio": 0.1, "warmup_tokens": None, "weight_decay": 0.1,
    "betas": [0.9, 0.95], "eps": 1e-8, "grad_clip": 1.0, "mask_prob": 0.15,
    "eval_every": 200, "eval_windows": 64, "log_every": 10, "checkpoint_every_minutes": 5,
}
DATA_DEFAULTS = {"heldout_fraction": 0.05, "heldout_min_record": 20000, "max_n_fraction": 0.1,
                 "rc_augment": False}


def full_config(cfg):
    cfg = json.loads(json.dumps(cfg))           # deep copy
    t = dict(TRAIN_DEFAULTS)
    t.update(cfg.get("train", {}))
    if t["micro_batch_size"] is None:
        t["micro_batch_size"] = t["batch_size"]
    if t["warmup_tokens"] is None:
        t["warmup_tokens"] = 0.02 * t["tokens"]
    if t["batch_size"] % t["micro_batch_size"]:
        raise ValueError("train.batch_size must be a multiple of train.micro_batch_size")
    cfg["train"] = t
    d = dict(DATA_DEFAULTS)
    d.update(cfg["data"])
    cfg["data"] = d
    cfg["model"] = M.full_spec(cfg["model"])
    want = "mamba" if cfg["objective"] == "causal" else "caduceus"
    if cfg["objective"] not in ("causal", "mlm") or cfg["model"]["arch"] != want:
        raise ValueError("objective 'causal' goes with arch 'mamba', 'mlm' with 'caduceus'")
    return cfg


def lr_at(tokens, t):
    """Linear warmup over warmup_tokens, then cosine from lr to lr*min_lr_ratio at the budget."""
    lr, total, warm = t["lr"], float(t["tokens"]), float(t["warmup_tokens"])
    if tokens < warm:
        return lr * (tokens + 1) / warm
    p = min(1.0, (tokens - warm) / max(1.0, total - warm))
    lo = lr * t["min_lr_ratio"]
    return lo + 0.5 * (lr - lo) * (1 + math.cos(math.pi * p))


def param_groups(model, weight_decay):
    # decay the projection / conv matrices only; not embeddings (tied to the LM head), norms,
    # biases, A_log or D (Mamba's convention: they set the dynamics, not a capacity)
    decay, rest = [], []
    for name, p in model.named_parameters():
        is_matrix = p.dim() >= 2 and not name.endswith("A_log") and "embedding" not in name
        (decay if is_matrix else rest).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def make_optimizer(model, t, device):
    groups = param_groups(model, t["weight_decay"])
    kw = dict(lr=t["lr"], betas=tuple(t["betas"]), eps=t["eps"])
    if device.type == "cuda":
        try:
            return torch.optim.AdamW(groups, fused=True, **kw)
        except (TypeError, RuntimeError):
            pass
    return torch.optim.AdamW(groups, **kw)


def batch_loss(model, objective, batch, mask_gen, mask_prob, device):
    """Mean loss (nats) of one micro-batch of uint8 windows [b, L]."""
    if objective == "causal":
        x = batch.to(device, non_blocking=True).long()
        logits = model(x)
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
                               x[:, 1:].reshape(-1))
    inp, tgt = mlm_mask(batch, mask_gen, mask_prob, device)
    logits = model(inp)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), tgt.reshape(-1),
                           ignore_index=-100)


def autocast_ctx(device):
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return torch.autocast(device_type="cpu", enabled=False)


@torch.no_grad()
def heldout_loss(model, cfg, windows, device, seed):
    """Mean loss over the fixed held-out windows (MLM: masks from a fixed seed, so the
    numbers are comparable across steps and runs)."""
    if windows.shape[0] == 0:
        return float("nan")
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    mb = cfg["train"]["micro_batch_size"]
    tot, n = 0.0, 0
    for i in range(0, windows.shape[0], mb):
        w = windows[i:i + mb]
        with autocast_ctx(device):
            loss = batch_loss(model, cfg["objective"], w, gen, cfg["train"]["mask_prob"], device)
        tot += loss.item() * w.shape[0]
        n += w.shape[0]
    model.train()
    return tot / n


def load_checkpoint(path):
    """Our own checkpoints hold generator states and plain Python objects besides tensors:
    torch >= 2.6 defaults to weights_only=True, which refuses them."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:                 # torch < 1.13 has no weights_only
        return torch.load(path, map_location="cpu")


def save_checkpoint(path, state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


LOSS_HEADER = "step\ttokens\ttrain_loss\tlr\telapsed_s\theldout_loss\tgrad_norm\n"


def truncate_loss_log(path, step):
    """Drop rows written after the checkpoint we resume from (the session died later)."""
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(LOSS_HEADER)
        return
    with open(path) as f:
        lines = f.read().splitlines()
    keep = [lines[0]] + [l for l in lines[1:] if l and int(l.split("\t")[0]) <= step]
    with open(path, "w") as f:
        f.write("\n".join(keep) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m model.training.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="training config JSON (optional with --resume)")
    ap.add_argument("--out", required=True, help="run folder: checkpoint.pt, loss.tsv")
    ap.add_argument("--resume", help="checkpoint.pt to continue from")
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="stop (with a checkpoint) before this much wall time has passed")
    ap.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    ap.add_argument("--data-root", default=DEFAULT_DATA_ROOT,
                    help="folder the config's data files are relative to (default: %(default)s)")
    ap.add_argument("--micro-batch-size", type=int, default=None,
                    help="override train.micro_batch_size (memory only: same batch, same math)")
    ap.add_argument("--tokens", type=float, default=None,
                    help="change the token budget (the cosine schedule follows the new budget)")
    ap.add_argument("--stop-after-steps", type=int, default=None, help="stop at this step (tests)")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    t_start = time.time()
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))

    ckpt = None
    if args.resume:
        ckpt = load_checkpoint(args.resume)
        if ckpt.get("format") != FORMAT:
            raise SystemExit(f"{args.resume}: not a {FORMAT} checkpoint")
        cfg = ckpt["config"]
        if args.config:
            with open(args.config) as f:
                other = full_config(json.load(f))
            if other != cfg:
                log(f"note: {args.config} differs from the checkpoint's config; "
                    "continuing with the checkpoint's")
    else:
        if not args.config:
            raise SystemExit("--config is required (or --resume)")
        with open(args.config) as f:
            cfg = full_config(json.load(f))
        if os.path.exists(os.path.join(args.out, "checkpoint.pt")):
            raise SystemExit(f"{args.out}/checkpoint.pt exists: pass --resume to continue it")
    if args.micro_batch_size:
        cfg["train"]["micro_batch_size"] = args.micro_batch_size
        full_config(cfg)                           # re-check divisibility
    if args.tokens:
        cfg["train"]["tokens"] = args.tokens
    t = cfg["train"]
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    loss_path = os.path.join(args.out, "loss.tsv")

    seed = int(cfg["seed"])
    torch.manual_seed(seed)
    train_segs, held_segs, summary = load_split(cfg["data"], args.data_root, log)
    window = int(t["window"])
    sampler = WindowSampler(train_segs, window, seed + 1, cfg["data"]["max_n_fraction"],
                            cfg["data"]["rc_augment"])
    eval_w = heldout_windows(held_segs, window, int(t["eval_windows"]), cfg["data"]["max_n_fraction"])
    log(f"data: {summary['train_bases']:,} training bases ({sampler.skipped_bases:,} in records "
        f"shorter than the window, unused), {summary['heldout_bases']:,} held-out bases, "
        f"{eval_w.shape[0]} held-out windows for the loss curve")

    model = M.build_model(cfg["model"]).to(device)
    opt = make_optimizer(model, t, device)
    mask_gen = torch.Generator().manual_seed(seed + 2)
    step, tokens, elapsed_prev, acc = 0, 0, 0.0, {"loss": 0.0, "n": 0, "gnorm": 0.0}
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sampler.load_state_dict(ckpt["sampler"])
        mask_gen.set_state(ckpt["mask_gen"])
        torch.set_rng_state(ckpt["torch_rng"])
        if device.type == "cuda" and ckpt.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(ckpt["cuda_rng"])
        step, tokens, elapsed_prev, acc = ckpt["step"], ckpt["tokens"], ckpt["elapsed_s"], ckpt["log_acc"]
        log(f"resumed {args.resume}: step {step}, {tokens:,} tokens, {elapsed_prev / 60:.1f} min so far")
        del ckpt
    truncate_loss_log(loss_path, step)
    nparam = M.count_parameters(model)
    log(f"model: {cfg['model']['arch']} {nparam:,} parameters; scan {backend_name(device)}; "
        f"device {device}; window {window}, batch {t['batch_size']} "
        f"(micro {t['micro_batch_size']}), budget {t['tokens']:.3g} tokens")

    stop = {"signal": None}

    def on_signal(signum, frame):
        stop["signal"] = signum

    for s in (signal.SIGTERM, signal.SIGINT):
        try:
            signal.signal(s, on_signal)
        except ValueError:          # not the main thread (tests)
            pass

    def state(done):
        return {
            "format": FORMAT, "config": cfg, "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": {"kind": "warmup-cosine over tokens", "lr": lr_at(tokens, t)},
            "step": step, "tokens": tokens, "elapsed_s": elapsed_prev + time.time() - t_loop,
            "sampler": sampler.state_dict(), "mask_gen": mask_gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state() if device.type == "cuda" else None,
            "log_acc": acc, "done": done, "data_summary": summary, "parameters": nparam,
            "torch_version": str(torch.__version__),
        }

    accum = t["batch_size"] // t["micro_batch_size"]
    tokens_per_step = t["batch_size"] * window
    budget = int(t["tokens"])
    t_loop = time.time()
    t_last_ckpt = t_loop
    t_last_log, tok_last_log = t_loop, tokens
    step_times = []
    reason = "budget reached"
    model.train()
    while tokens < budget:
        if stop["signal"] is not None:
            reason = f"signal {stop['signal']}"
            break
        if args.stop_after_steps is not None and step >= args.stop_after_steps:
            reason = "--stop-after-steps"
            break
        if args.max_minutes is not None:
            est = (max(step_times[-5:]) if step_times else 0.0) * 1.5 + 20.0  # + save / margin
            if time.time() - t_start + est > args.max_minutes * 60:
                reason = "--max-minutes"
                break
        ts = time.time()
        lr = lr_at(tokens, t)
        for g in opt.param_groups:
            g["lr"] = lr
        total = 0.0
        for _ in range(accum):
            batch = sampler.sample(t["micro_batch_size"])
            with autocast_ctx(device):
                loss = batch_loss(model, cfg["objective"], batch, mask_gen, t["mask_prob"], device)
            (loss / accum).backward()
            total += loss.item() / accum
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), t["grad_clip"]).item()
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        tokens += tokens_per_step
        acc["loss"] += total
        acc["n"] += 1
        acc["gnorm"] += gnorm
        step_times.append(time.time() - ts)
        last = tokens >= budget
        do_eval = step % int(t["eval_every"]) == 0 or last
        if step % int(t["log_every"]) == 0 or do_eval:
            held = heldout_loss(model, cfg, eval_w, device, seed + 3) if do_eval else None
            el = elapsed_prev + time.time() - t_loop
            with open(loss_path, "a") as f:
                f.write(f"{step}\t{tokens}\t{acc['loss'] / acc['n']:.6f}\t{lr:.6e}\t{el:.1f}\t"
                        f"{'' if held is None else f'{held:.6f}'}\t{acc['gnorm'] / acc['n']:.4f}\n")
            now = time.time()
            tps = (tokens - tok_last_log) / max(1e-9, now - t_last_log)
            eta = (budget - tokens) / max(tps, 1e-9)
            log(f"step {step} tokens {tokens / 1e6:.2f}M loss {acc['loss'] / acc['n']:.4f}"
                + ("" if held is None else f" held-out {held:.4f}")
                + f" lr {lr:.2e} |g| {acc['gnorm'] / acc['n']:.2f} {tps / 1e3:.1f}k tok/s "
                f"(budget in {eta / 60:.1f} min)")
            t_last_log, tok_last_log = now, tokens
            acc = {"loss": 0.0, "n": 0, "gnorm": 0.0}
        if time.time() - t_last_ckpt > 60 * float(t["checkpoint_every_minutes"]):
            save_checkpoint(ckpt_path, state(False))
            t_last_ckpt = time.time()
    done = tokens >= budget
    save_checkpoint(ckpt_path, state(done))
    steps_here = len(step_times)
    if steps_here:
        st = sum(step_times[1:]) / max(1, steps_here - 1) if steps_here > 1 else step_times[0]
        log(f"stopped ({reason}) at step {step}, {tokens:,} tokens; this session {steps_here} "
            f"steps, {tokens_per_step / st / 1e3:.1f}k tok/s (steady); checkpoint {ckpt_path}"
            + ("; training complete" if done else "; continue with --resume"))
    else:
        log(f"nothing to do ({reason}); checkpoint {ckpt_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
