#!/usr/bin/python3
"""Golden expected values for `strand loglik` and `strand generate` (causal LM commands).

Uses the independent PyTorch model implementation in make_golden.py (imported, not copied)
on the tiny causal checkpoint data/golden/mamba (MambaForCausalLM; config.json +
model.safetensors loaded from disk as make_golden.py --check does) and the golden inputs
data/golden/inputs/{short.fa, chr20_100k.fa.gz}.

Run from anywhere (Debian's python3-torch; one thread, deterministic):
    /usr/bin/python3 tests/golden/make_causal_golden.py           # writes data/golden/causal/
    /usr/bin/python3 tests/golden/make_causal_golden.py --check   # recompute, compare (max abs <= 1e-6)

Conventions (see data/golden/causal/README.md):
- Tokens: make_golden.tokenize (upper case; A=7 C=8 G=9 T=10 N=11, any other character 6),
  vocabulary 16; logits = the tied LM head over all 16 tokens (fp32 forward).
- log p(x_t | x_<t) = log_softmax(logits[t-1] over all 16)[x_t], float64 from the fp32 logits;
  the first base is not scored. LL = sum_{t=1}^{n-1}; n_scored = n - 1;
  bits_per_base = -LL / n_scored / ln 2 ('.' for n = 1, where LL = 0).
- Reverse strand: the same on make_golden.revcomp_ids(ids).
- Greedy: argmax over the logits of A,C,G,T (ids 7..10; ties -> lowest id) of the LAST row of a
  full parallel forward of prompt + generated-so-far (no recurrent step); 200 bases; the
  per-token log p uses the full 16-way log-softmax.
Outputs: loglik.tsv, track_len_129.tsv, greedy.tsv; numbers '%.10g', missing '.'.
"""
import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

from make_golden import forward, read_fasta, revcomp_ids, tokenize  # noqa: E402
from make_score_golden import load_model  # noqa: E402  (json.load(config) + read_safetensors)

torch.set_num_threads(1)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLDEN = os.path.join(REPO, "data", "golden")
INPUTS = os.path.join(GOLDEN, "inputs")
OUTDIR = os.path.join(GOLDEN, "causal")
MODEL = "mamba"
TOL = 1e-6
LN2 = math.log(2.0)
NUC_IDS = [7, 8, 9, 10]          # A C G T
ID_BASE = {7: "A", 8: "C", 9: "G", 10: "T"}
N_GEN = 200
LOGLIK_RECORDS = [("short.fa", r) for r in
                  ["len_1", "len_7", "len_127", "len_128", "len_129", "len_4097"]] + \
                 [("chr20_100k.fa.gz", "len_100000")]
TRACK_RECORD = "len_129"

HEADERS = {
    "loglik.tsv": ["name", "length", "loglik", "bits_per_base", "loglik_rc", "bits_per_base_rc",
                   "loglik_mean"],
    "track_len_129.tsv": ["pos0", "neg_log2_p", "neg_log2_p_rc_mirrored", "neg_log2_p_mean"],
    "greedy.tsv": ["prompt_name", "prompt", "generated", "logp_total", "logp_mean"],
}
# columns compared as strings (everything else numerically, '.' only against '.')
EXACT = {"name", "length", "pos0", "prompt_name", "prompt", "generated"}


def fmt(v):
    return "." if v is None else "%.10g" % v


def logits_of(model, ids):
    return forward(model, ids, torch.float32)["logits"]


def token_logp(logits, ids):
    """[n-1] float64: log p(ids[t] | ids[<t]) for t = 1..n-1 (16-way log-softmax)."""
    if len(ids) < 2:
        return torch.zeros(0, dtype=torch.float64)
    lp = torch.log_softmax(logits[:-1].double(), dim=-1)
    return lp.gather(1, ids[1:].unsqueeze(1)).squeeze(1)


def bits(ll, n):
    return None if n < 2 else -ll / (n - 1) / LN2


def loglik_rows(model, recs, times):
    rows, cache = [], {}
    for _, name in LOGLIK_RECORDS:
        ts = time.time()
        ids = tokenize(recs[name])
        n = len(ids)
        lp_f = token_logp(logits_of(model, ids), ids)
        ids_rc = revcomp_ids(ids)
        lp_r = token_logp(logits_of(model, ids_rc), ids_rc)
        cache[name] = (lp_f, lp_r)
        ll_f, ll_r = lp_f.sum().item(), lp_r.sum().item()
        rows.append([name, str(n), fmt(ll_f), fmt(bits(ll_f, n)), fmt(ll_r), fmt(bits(ll_r, n)),
                     fmt((ll_f + ll_r) / 2)])
        times[name] = time.time() - ts
        print(f"  {name:10s} n={n:6d} LL={ll_f:.6f} bpb={fmt(bits(ll_f, n))} "
              f"LL_rc={ll_r:.6f} bpb_rc={fmt(bits(ll_r, n))} [{times[name]:.1f}s]", flush=True)
    return rows, cache


def track_rows(lp_f, lp_r, L):
    """Per-position -log2 p on both strands for one record; rc mirrored to forward coordinates."""
    f = [None] + [-v / LN2 for v in lp_f.tolist()]           # index = pos0 on the forward strand
    r = [None] + [-v / LN2 for v in lp_r.tolist()]           # index = position on the rc
    rows = []
    for pos0 in range(L):
        a, b = f[pos0], r[L - 1 - pos0]
        both = [v for v in (a, b) if v is not None]
        mean = sum(both) / len(both) if both else None
        rows.append([str(pos0), fmt(a), fmt(b), fmt(mean)])
    return rows


def greedy(model, prompt_ids):
    """Greedy continuation by full parallel forwards of the growing sequence."""
    ids = prompt_ids.clone()
    gen, lps = [], []
    for _ in range(N_GEN):
        last = logits_of(model, ids)[-1]
        best = NUC_IDS[0]
        for t in NUC_IDS[1:]:                       # strict '>': ties keep the lowest id
            if last[t].item() > last[best].item():
                best = t
        lps.append(torch.log_softmax(last.double(), dim=-1)[best].item())
        gen.append(best)
        ids = torch.cat([ids, torch.tensor([best], dtype=torch.long)])
    return gen, lps, ids


def greedy_rows(model, recs):
    prompts = [
        ("len_129", recs["len_129"]),
        ("len_4097_first50", recs["len_4097"][:50]),
        ("A", "A"),
        ("ACGTN", "ACGTN"),
    ]
    rows = []
    for pname, prompt in prompts:
        ts = time.time()
        p_ids = tokenize(prompt)
        gen, lps, full = greedy(model, p_ids)
        total = math.fsum(lps)
        # consistency (information only): the same quantity from ONE forward of prompt+generated
        lp_all = token_logp(logits_of(model, full), full)
        one_pass = lp_all[len(p_ids) - 1:].sum().item()
        gen_str = "".join(ID_BASE[g] for g in gen)
        rows.append([pname, prompt, gen_str, fmt(total), fmt(total / N_GEN)])
        print(f"  {pname:16s} prompt_len={len(prompt):3d} gen[:30]={gen_str[:30]} "
              f"logp_total={total:.6f} mean={total / N_GEN:.6f} "
              f"(one-forward recompute diff {abs(one_pass - total):.1e}) [{time.time() - ts:.1f}s]",
              flush=True)
    return rows


def to_text(header, rows):
    return "\n".join("\t".join(r) for r in [header] + rows) + "\n"


def compare(fname, new_text):
    path = os.path.join(OUTDIR, fname)
    with open(path) as f:
        old = [line.rstrip("\n").split("\t") for line in f]
    new = [line.split("\t") for line in new_text.rstrip("\n").split("\n")]
    header = HEADERS[fname]
    assert old[0] == new[0] == header, f"{path}: header {old[0]}"
    assert len(old) == len(new), f"{path}: {len(old)} vs {len(new)} lines"
    worst = 0.0
    for a, b in zip(old[1:], new[1:]):
        assert len(a) == len(b) == len(header), f"{path}: {a} vs {b}"
        for col, x, y in zip(header, a, b):
            if col in EXACT or x == "." or y == ".":
                assert x == y, f"{path}: column {col}: {x!r} vs {y!r} in {a}"
            else:
                worst = max(worst, abs(float(x) - float(y)))
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true",
                    help="recompute and compare with data/golden/causal/*.tsv instead of writing")
    args = ap.parse_args()
    t0 = time.time()
    model = load_model(MODEL)
    assert model["config"]["model_type"] == "mamba"
    assert model["tensors"]["backbone.embeddings.weight"].shape[0] == 16
    recs = {}
    for fname in sorted({f for f, _ in LOGLIK_RECORDS}):
        recs.update(read_fasta(os.path.join(INPUTS, fname)))

    print("loglik (forward + reverse strand, full records):")
    times = {}
    ll_rows, cache = loglik_rows(model, recs, times)
    lp_f, lp_r = cache[TRACK_RECORD]
    L = len(recs[TRACK_RECORD])
    tr_rows = track_rows(lp_f, lp_r, L)
    # the track sums back to the record's LL (both strands)
    s_f = sum(float(r[1]) for r in tr_rows if r[1] != ".") * -LN2
    s_r = sum(float(r[2]) for r in tr_rows if r[2] != ".") * -LN2
    assert abs(s_f - lp_f.sum().item()) < 1e-6 and abs(s_r - lp_r.sum().item()) < 1e-6
    print(f"track {TRACK_RECORD}: {len(tr_rows)} rows; sums back to LL / LL_rc")

    print(f"greedy ({N_GEN} bases, argmax over A,C,G,T, full parallel forward per step):")
    gr_rows = greedy_rows(model, recs)

    texts = {
        "loglik.tsv": to_text(HEADERS["loglik.tsv"], ll_rows),
        "track_len_129.tsv": to_text(HEADERS["track_len_129.tsv"], tr_rows),
        "greedy.tsv": to_text(HEADERS["greedy.tsv"], gr_rows),
    }
    if args.check:
        worst_all = 0.0
        for fname, text in texts.items():
            w = compare(fname, text)
            worst_all = max(worst_all, w)
            print(f"--check {fname}: max abs diff {w:.2e}")
        assert worst_all <= TOL, f"max abs diff {worst_all:.2e} > {TOL}"
        print(f"--check OK (max abs diff {worst_all:.2e} <= {TOL})")
    else:
        os.makedirs(OUTDIR, exist_ok=True)
        for fname, text in texts.items():
            path = os.path.join(OUTDIR, fname)
            with open(path + ".tmp", "w") as f:
                f.write(text)
            os.replace(path + ".tmp", path)
            print(f"wrote {os.path.relpath(path, REPO)}")
    print(f"total {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
