"""Held-out metrics of a trained model, for the model cards.

    python3 -m model.training.evaluate --model runs/X/checkpoint.pt|EXPORTED_FOLDER \
        [--config configs/X.json] [--data-root PATH] [--fasta ecoli.fna.gz ...] \
        [--out metrics.json] [--device cuda|cpu] [--max-bases N] [--bf16]

Causal models (MambaLM):
- bits per base on the held-out parts of the training genomes (the split of the training
  config) and on each --fasta file (E. coli: evaluation only). Every base is scored from the
  bases before it in its record: windows of --window bases (default: the training window) slide
  by half a window and each base is scored once, with at least half a window of context (all
  the bases before it near a record's start). log p from the full 16-way softmax, natural log
  converted to bits; scored = A/C/G/T targets (N and other symbols are not scored, the first
  base of a record neither).
- order-k Markov baseline on exactly the same positions: (k+1)-mer counts over the training
  parts of the same genomes, both strands, add-alpha smoothing; near record starts and after
  N the longest available context is used. k (1..--max-order) and alpha are chosen on the
  held-out parts of the training genomes, never on --fasta; the chosen model is then
  reported on --fasta too.
Masked models (CaduceusMLM):
- masked-LM accuracy and cross-entropy on held-out windows of the training length: a fixed
  15% of the A/C/G/T positions (seeded) replaced by [MASK]; prediction = argmax over A/C/G/T.
  Baselines: base frequencies, and a two-sided k-mer model (the k bases each side, counted on
  the training parts) that sees the true, unmasked neighbours (so it is favoured).

Output: JSON (--out, default stdout) with one small section per data set, plus a summary on
stderr. --max-bases N scores only the first N bases of every held-out part and --fasta record
(quick CPU runs); the JSON says so.
"""
import argparse
import json
import math
import os
import sys
import time

import torch

from . import models as M
from .data import load_split, read_records
from .safetensors_io import read_safetensors
from .train import DEFAULT_DATA_ROOT, full_config, load_checkpoint

LN2 = math.log(2.0)


def load_any(path):
    """(model, training config or None) from a checkpoint.pt or an exported folder."""
    if os.path.isdir(path):
        with open(os.path.join(path, "config.json")) as f:
            hf = json.load(f)
        model = M.model_from_published(hf, read_safetensors(os.path.join(path, "model.safetensors")))
        return model, None, hf
    ck = load_checkpoint(path)
    model = M.build_model(ck["config"]["model"])
    model.load_state_dict(ck["model"])
    return model, ck["config"], None


def base_codes(tok):
    """uint8 tokens -> int64 codes 0..3 for A/C/G/T, -1 otherwise."""
    t = tok.long() - M.A_ID
    return torch.where((t >= 0) & (t <= 3), t, torch.full_like(t, -1))


def _amp(device, bf16):
    # fp32 by default: the card should report what strand computes (fp32 reference mode)
    if bf16 and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return torch.autocast(device_type=device.type, enabled=False)


# ----------------------------------------------------------------------------------------
# Causal model: sliding-window scoring
# ----------------------------------------------------------------------------------------
@torch.no_grad()
def causal_logprobs(model, tok, window, device, batch, bf16=False):
    """log p(x_p | x_<p) (natural log, 16-way) for p = 1..L-1 of one record: float64 [L]
    (entry 0 = nan). Window w starts at s and scores from max(previous end, s + 1)."""
    L = tok.numel()
    out = torch.full((L,), float("nan"), dtype=torch.float64)
    if L < 2:
        return out
    W = min(window, L)
    stride = max(1, W // 2)
    starts = list(range(0, L - W + 1, stride))
    if starts[-1] != L - W:
        starts.append(L - W)
    jobs, done_to = [], 1
    for s in starts:
        jobs.append((s, max(done_to, s + 1)))
        done_to = s + W
    x_all = tok.long()
    for i in range(0, len(jobs), batch):
        part = jobs[i:i + batch]
        x = torch.stack([x_all[s:s + W] for s, _ in part]).to(device)
        with _amp(device, bf16):
            logits = model(x)
        lp = torch.log_softmax(logits[:, :-1].double(), -1).gather(-1, x[:, 1:, None])[..., 0].cpu()
        for (s, first), row in zip(part, lp):
            out[first:s + W] = row[first - s - 1:]
    return out


def summarize_bits(lp, codes):
    """Sum over scored positions (A/C/G/T target, p >= 1)."""
    ok = (codes >= 0) & ~torch.isnan(lp)
    return float(-lp[ok].sum() / LN2), int(ok.sum())


# ----------------------------------------------------------------------------------------
# Markov baseline
# ----------------------------------------------------------------------------------------
def kmer_stream(segments):
    """Training sequence on both strands as one code stream, records separated by -1."""
    parts = []
    sep = torch.full((1,), -1, dtype=torch.long)
    for s in segments:
        c = base_codes(s.tokens)
        parts += [c, sep, torch.where(c >= 0, 3 - c, c).flip(0), sep]   # complement: 3 - code
    return torch.cat(parts)


def _runs(codes):
    """Length of the run of valid (>= 0) codes ending at each position (0 where invalid)."""
    idx = torch.arange(codes.numel())
    last_invalid = torch.where(codes < 0, idx, torch.full_like(idx, -1))
    return idx - torch.cummax(last_invalid, 0).values


class Markov:
    """(j+1)-mer count tables for orders j = 0..K."""

    def __init__(self, stream, K):
        self.K = K
        self.tables = []
        run = _runs(stream)
        s = stream.clamp(min=0)
        code = s.clone()                               # code of the (j+1)-mer ending at i
        for j in range(K + 1):
            if j > 0:
                code[j:] = code[j - 1:-1] * 4 + s[j:]
            self.tables.append(torch.bincount(code[run >= j + 1], minlength=4 ** (j + 1)))

    def logprobs(self, tok, k, alpha):
        """log p(x_p | the longest valid context of at most k bases) for one evaluation
        record: float64 [L], nan where the target is not A/C/G/T and at p = 0."""
        c = base_codes(tok)
        L = c.numel()
        out = torch.full((L,), float("nan"), dtype=torch.float64)
        if L < 2:
            return out
        run_before = torch.zeros(L, dtype=torch.long)   # valid bases right before p
        run_before[1:] = _runs(c)[:-1]
        order = run_before.clamp(max=k)
        s = c.clamp(min=0)
        idx = torch.arange(L)
        target_ok = (c >= 0) & (idx >= 1)
        for j in range(k + 1):
            p = idx[target_ok & (order == j)]
            if p.numel() == 0:
                continue
            ctx = torch.zeros_like(p)
            for i in range(j, 0, -1):                  # bases p-j .. p-1
                ctx = ctx * 4 + s[p - i]
            t = self.tables[j].view(-1, 4)
            num = t[ctx, s[p]].double() + alpha
            den = t[ctx].sum(-1).double() + 4 * alpha
            out[p] = torch.log(num / den)
        return out


# ----------------------------------------------------------------------------------------
# Masked models
# ----------------------------------------------------------------------------------------
@torch.no_grad()
def mlm_eval(model, segments, window, device, batch, seed, mask_prob, max_bases, two_sided,
             bf16=False):
    """Accuracy / cross-entropy of masked positions in held-out tiles of `window` bases."""
    tiles = []
    for s in segments:
        tk = s.tokens if max_bases is None else s.tokens[:max_bases]
        for a in range(0, tk.numel() - window + 1, window):
            tiles.append(tk[a:a + window])
    if not tiles:
        return None
    gen = torch.Generator().manual_seed(seed)
    res = {"windows": len(tiles), "masked": 0, "correct": 0, "nll_bits": 0.0}
    base = {k: {"correct": 0, "nll_bits": 0.0} for k in two_sided if k != "freq"}
    freq = two_sided["freq"]
    base["unigram"] = {"correct": 0, "nll_bits": 0.0}
    for i in range(0, len(tiles), batch):
        x = torch.stack(tiles[i:i + batch]).long()
        is_base = (x >= M.A_ID) & (x <= M.T_ID)
        chosen = is_base & (torch.rand(x.shape, generator=gen) < mask_prob)
        inp = torch.where(chosen, torch.full_like(x, M.MASK), x)
        with _amp(device, bf16):
            logits = model(inp.to(device))
        lp = torch.log_softmax(logits.double(), -1).cpu()
        tgt = x[chosen]
        lpc = lp[chosen]
        res["masked"] += int(chosen.sum())
        res["correct"] += int((lpc[:, M.A_ID:M.T_ID + 1].argmax(-1) + M.A_ID == tgt).sum())
        res["nll_bits"] += float(-lpc.gather(-1, tgt[:, None]).sum() / LN2)
        for name, fn in two_sided.items():
            if name == "freq":
                continue
            probs = fn(x, chosen)                        # [n, 4]
            t4 = tgt - M.A_ID
            base[name]["correct"] += int((probs.argmax(-1) == t4).sum())
            base[name]["nll_bits"] += float(-torch.log2(probs.gather(-1, t4[:, None])).sum())
        t4 = tgt - M.A_ID                                # base frequencies alone
        base["unigram"]["correct"] += int((t4 == int(freq.argmax())).sum())
        base["unigram"]["nll_bits"] += float(-torch.log2(freq[t4]).sum())
    n = max(1, res["masked"])
    out = {"windows": res["windows"], "masked_positions": res["masked"],
           "accuracy": res["correct"] / n, "bits_per_masked_base": res["nll_bits"] / n,
           "baselines": {("two_sided_" + k if k != "unigram" else k):
                         {"accuracy": v["correct"] / n, "bits_per_masked_base": v["nll_bits"] / n}
                         for k, v in base.items()}}
    return out


def two_sided_models(train_segs, ks, alpha=0.5):
    """k bases left and right -> distribution of the middle base ((2k+1)-mer counts, both
    strands). Returns {name: fn(x [b, L] tokens, chosen mask) -> probs [n, 4]} and 'freq'."""
    stream = kmer_stream(train_segs)
    valid = stream >= 0
    s = stream.clamp(min=0)
    run = _runs(stream)
    out = {"freq": torch.bincount(s[valid], minlength=4).double()}
    out["freq"] /= out["freq"].sum()
    for k in ks:
        w = 2 * k + 1
        code = torch.zeros_like(s)
        for i in range(w):
            code[w - 1:] = code[w - 1:] * 4 + s[i:s.numel() - (w - 1) + i]
        ok = torch.zeros_like(valid)
        ok[w - 1:] = run[w - 1:] >= w
        table = torch.bincount(code[ok], minlength=4 ** w).double()
        # index (left, mid, right) -> (left * 4^k + right, mid)
        table = table.view(4 ** k, 4, 4 ** k).permute(0, 2, 1).reshape(-1, 4)

        def fn(x, chosen, k=k, table=table):
            c = base_codes(x.reshape(-1)).view(x.shape)
            b, L = x.shape
            pos = chosen.nonzero()
            left = torch.zeros(pos.shape[0], dtype=torch.long)
            right = torch.zeros(pos.shape[0], dtype=torch.long)
            okc = torch.ones(pos.shape[0], dtype=torch.bool)
            for i in range(1, k + 1):
                lp = pos[:, 1] - (k + 1 - i)
                rp = pos[:, 1] + i
                lv = c[pos[:, 0], lp.clamp(0, L - 1)]
                rv = c[pos[:, 0], rp.clamp(0, L - 1)]
                okc &= (lp >= 0) & (rp < L) & (lv >= 0) & (rv >= 0)
                left = left * 4 + lv.clamp(min=0)
                right = right * 4 + rv.clamp(min=0)
            cnt = table[left * 4 ** k + right] + alpha
            p = cnt / cnt.sum(-1, keepdim=True)
            # no full context (window edge, N): base frequencies
            return torch.where(okc[:, None], p, out["freq"].expand_as(p))

        out[f"k{k}"] = fn
    return out


# ----------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m model.training.evaluate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="checkpoint.pt or an exported model folder")
    ap.add_argument("--config", help="training config (the split); default: the checkpoint's")
    ap.add_argument("--data-root", default=DEFAULT_DATA_ROOT)
    ap.add_argument("--fasta", nargs="*", default=[],
                    help="evaluation-only FASTA files (e.g. E. coli); paths as given")
    ap.add_argument("--out", default="-", help="JSON output (default: stdout)")
    ap.add_argument("--device", default=None)
    ap.add_argument("--window", type=int, default=None, help="default: the training window")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-bases", type=int, default=None,
                    help="score only the first N bases of every held-out part / FASTA record")
    ap.add_argument("--max-order", type=int, default=12, help="Markov orders 1..N")
    ap.add_argument("--no-markov", action="store_true")
    ap.add_argument("--markov-only", action="store_true",
                    help="causal models: the Markov baseline alone (the model's numbers come from a GPU run)")
    ap.add_argument("--seed", type=int, default=12345, help="MLM evaluation masks")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--bf16", action="store_true",
                    help="bf16 autocast on CUDA (faster; default fp32 as strand's reference mode)")
    args = ap.parse_args(argv)
    log = lambda *a: print(*a, file=sys.stderr, flush=True)
    t0 = time.time()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))

    model, cfg, hf = load_any(args.model)
    if args.config:
        with open(args.config) as f:
            cfg = full_config(json.load(f))
    if cfg is None:
        raise SystemExit("an exported folder needs --config (the training config: data split)")
    model = model.to(device).eval()
    window = args.window or int(cfg["train"]["window"])
    train_segs, held_segs, summary = load_split(cfg["data"], args.data_root)
    causal = isinstance(model, M.MambaLM)
    res = {"model": os.path.abspath(args.model), "config": cfg.get("name"),
           "kind": "causal" if causal else "masked", "parameters": M.count_parameters(model),
           "window": window, "max_bases": args.max_bases,
           "precision": "bf16 autocast" if args.bf16 and device.type == "cuda" else "fp32",
           "split": {"heldout_fraction": cfg["data"]["heldout_fraction"],
                     "heldout_min_record": cfg["data"]["heldout_min_record"],
                     "train_bases": summary["train_bases"],
                     "heldout_bases": summary["heldout_bases"]}}

    def cut(t):
        return t if args.max_bases is None else t[:args.max_bases]

    if causal:
        held = [(s.file, s.record, cut(s.tokens)) for s in held_segs]
        fasta = {}
        for path in args.fasta:
            fasta[path] = [(path, name, cut(t)) for name, t in read_records(path)]
        # neural model
        toks = {}
        for key, recs in [("heldout", held)] + list(fasta.items()):
            bits = n = 0
            per_file = {}
            toks[key] = []
            for file, name, tok in recs:
                toks[key].append(tok)
                if args.markov_only:
                    continue
                lp = causal_logprobs(model, tok, window, device, args.batch, args.bf16)
                b, k = summarize_bits(lp, base_codes(tok))
                bits += b
                n += k
                pf = per_file.setdefault(file, [0.0, 0])
                pf[0] += b
                pf[1] += k
            if args.markov_only:
                continue
            res.setdefault("model_bits_per_base", {})[key] = {
                "bits_per_base": bits / max(1, n), "scored_bases": n,
                "per_file": {f: v[0] / max(1, v[1]) for f, v in per_file.items()}}
            log(f"model {key}: {bits / max(1, n):.4f} bits/base over {n:,} bases "
                f"[{time.time() - t0:.0f}s]")
        if not args.no_markov:
            mk = Markov(kmer_stream(train_segs), args.max_order)
            alphas = [1e-3, 1e-2, 0.1, 0.5, 1.0]
            grid = {}
            for k in range(1, args.max_order + 1):
                for a in alphas:
                    bits = n = 0
                    for tok in toks["heldout"]:
                        b, m = summarize_bits(mk.logprobs(tok, k, a), base_codes(tok))
                        bits += b
                        n += m
                    grid[(k, a)] = bits / max(1, n)
            best = min(grid, key=grid.get)
            res["markov"] = {
                "selected_on": "held-out parts of the training genomes",
                "order": best[0], "alpha": best[1],
                "heldout_by_order": {str(k): min(grid[(k, a)] for a in alphas)
                                     for k in range(1, args.max_order + 1)},
                "bits_per_base": {"heldout": grid[best]}}
            for key in fasta:
                bits = n = 0
                for tok in toks[key]:
                    b, m = summarize_bits(mk.logprobs(tok, *best), base_codes(tok))
                    bits += b
                    n += m
                res["markov"]["bits_per_base"][key] = bits / max(1, n)
            log(f"markov: order {best[0]}, alpha {best[1]} (chosen on held-out): " +
                ", ".join(f"{k} {v:.4f}" for k, v in res["markov"]["bits_per_base"].items()))
    else:
        ks = [1, 2, 3, 4, 5]
        base = two_sided_models(train_segs, ks)
        r = mlm_eval(model, held_segs, window, device, args.batch, args.seed, 0.15,
                     args.max_bases, base, args.bf16)
        res["masked_lm_heldout"] = r
        if r:
            log(f"masked LM held-out: accuracy {r['accuracy']:.4f}, "
                f"{r['bits_per_masked_base']:.4f} bits/masked base over {r['masked_positions']:,} "
                "positions; baselines " + ", ".join(f"{k} acc {v['accuracy']:.4f}"
                                                   for k, v in r["baselines"].items()))
    res["seconds"] = round(time.time() - t0, 1)
    text = json.dumps(res, indent=1)
    if args.out == "-":
        print(text)
    else:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
