"""Golden for "exported weights give the same outputs in strand and in the training code".

    /usr/bin/python3 -m model.training.make_export_golden            # writes data/golden/training/
    /usr/bin/python3 -m model.training.make_export_golden --check    # recompute from the files
    /usr/bin/python3 -m model.training.make_export_golden --check --strand build-cpu/apps/strand

Trains two tiny models for 100 steps of 8 x 256 bases on phage lambda and the prodigal test
genome (an AT-rich genome: even tiny models learn predictions far from uniform there, which
makes the comparison discriminating) on the CPU in seconds with train.py,
exports them with export.py (fp32) and writes what the TRAINING MODULES (models.py) compute
with the exported weights on real sequences:

  inputs.fa             3 records: lambda_1_2000, prodigal_1_2000 (first 2 kb of the genomes),
                        lambda_30001_31000_edited (bases 101-150 lower-cased, 500 -> N, 700 -> R)
  causal/               MambaLM (d_model 16, 2 layers, d_state 8), config.json + model.safetensors
  causal/loglik.tsv     name, length, n_scored, loglik, bits_per_base: sum over p = 1..n-1 of
                        log p(x_p | x_<p) (natural log, full 16-way log-softmax of the fp32
                        logits, in float64; every target scored, N and [UNK] included; the first
                        base is not scored), bits = -loglik / n_scored / ln 2: strand loglik's
                        convention (tests/golden/causal/README.md)
  causal/track.tsv      pos0, neg_log2_p: -log2 p(x_pos0 | x_<pos0) for every position of
                        TRACK_RECORD (lambda_30001_31000_edited; '.' at pos0 0): what
                        `strand loglik --track FILE.bedGraph` writes per base
  ps/                   Caduceus PS (d_model 16, 2 layers, d_state 8, fused_add_norm: the half
                        swap), config.json + model.safetensors
  ps/hidden.tsv         record lambda_1_2000, positions in `pos0` (0-based): the 32 values of the
                        last hidden state (after norm_f) in the reference layout [f | flip_lc(r)],
                        i.e. `strand embed --pool none --rc none` rows
  ps/logprobs.tsv       same positions: log-softmax over the 16 vocabulary entries of the MLM
                        head's logits (input unmasked)

Numbers are %.9g. With --check the TSVs are recomputed from the stored model files and
compared (and, with --strand, strand's own loglik / embed outputs are compared too).
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import torch

from . import export as X
from . import models as M
from . import train as T
from .data import read_records
from .safetensors_io import read_safetensors

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "data", "golden", "training")
DATA = T.DEFAULT_DATA_ROOT
LAMBDA = "bacteria/lambda/lambda_virus.fa.gz"
PRODIGAL = "bacteria/prodigal_testgenome/genome.fna.gz"
PS_RECORD = "lambda_1_2000"
TRACK_RECORD = "lambda_30001_31000_edited"
PS_POSITIONS = [0, 1, 2, 3, 100, 512, 999, 1000, 1500, 1996, 1997, 1998, 1999]

CONFIGS = {
    "causal": {"name": "golden-training-causal", "seed": 11, "objective": "causal",
               "model": {"arch": "mamba", "d_model": 16, "n_layer": 2, "d_state": 8}},
    "ps": {"name": "golden-training-ps", "seed": 12, "objective": "mlm",
           "model": {"arch": "caduceus", "d_model": 16, "n_layer": 2, "d_state": 8,
                     "rcps": True, "fused_add_norm": True}},
}
COMMON = {
    "data": {"files": [LAMBDA, PRODIGAL], "heldout_fraction": 0.05, "heldout_min_record": 20000,
             "max_n_fraction": 0.1},
    "train": {"window": 256, "batch_size": 8, "tokens": 100 * 8 * 256, "lr": 1e-2,
              "warmup_tokens": 10 * 8 * 256, "eval_every": 50, "eval_windows": 8,
              "log_every": 25},
}


def inputs(root):
    lam = read_records(os.path.join(root, LAMBDA))[0][1]
    pro = read_records(os.path.join(root, PRODIGAL))[0][1]
    letters = "".join("?" * 7 + "ACGTN")           # token id -> letter (7..11)
    to_str = lambda t: "".join(letters[int(i)] for i in t)
    edited = list(to_str(lam[30000:31000]))
    for i in range(100, 150):
        edited[i] = edited[i].lower()
    edited[499] = "N"
    edited[699] = "R"
    return [("lambda_1_2000", to_str(lam[:2000])), ("prodigal_1_2000", to_str(pro[:2000])),
            ("lambda_30001_31000_edited", "".join(edited))]


def write_fasta(path, recs):
    with open(path, "w") as f:
        for name, seq in recs:
            f.write(f">{name}\n")
            for i in range(0, len(seq), 60):
                f.write(seq[i:i + 60] + "\n")


def load_folder(d):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    return M.model_from_published(cfg, read_safetensors(os.path.join(d, "model.safetensors"))).eval()


@torch.no_grad()
def causal_table(model, recs):
    rows = ["name\tlength\tn_scored\tloglik\tbits_per_base"]
    for name, tok in recs:
        x = tok.long()[None]
        lp = torch.log_softmax(model(x)[0, :-1].double(), -1).gather(-1, x[0, 1:, None]).sum()
        n = x.shape[1] - 1
        bits = "." if n == 0 else f"{-lp.item() / n / math.log(2):.9g}"
        rows.append(f"{name}\t{x.shape[1]}\t{n}\t{lp.item():.9g}\t{bits}")
    return "\n".join(rows) + "\n"


@torch.no_grad()
def causal_track(model, tok):
    x = tok.long()[None]
    lp = torch.log_softmax(model(x)[0, :-1].double(), -1).gather(-1, x[0, 1:, None])[:, 0]
    rows = ["pos0\tneg_log2_p", "0\t."]
    rows += [f"{i + 1}\t{-v / math.log(2):.9g}" for i, v in enumerate(lp.tolist())]
    return "\n".join(rows) + "\n"


@torch.no_grad()
def ps_tables(model, tok):
    out = M.hidden_states(model, tok.long()[None])
    hid = out["hidden"][0]
    lp = torch.log_softmax(out["logits"][0].double(), -1)
    h = ["pos0\t" + "\t".join(f"h{j}" for j in range(hid.shape[1]))]
    l = ["pos0\t" + "\t".join(f"lp{j}" for j in range(lp.shape[1]))]
    for p in PS_POSITIONS:
        h.append(f"{p}\t" + "\t".join(f"{v:.9g}" for v in hid[p].tolist()))
        l.append(f"{p}\t" + "\t".join(f"{v:.9g}" for v in lp[p].tolist()))
    return "\n".join(h) + "\n", "\n".join(l) + "\n"


def read_tsv(path):
    with open(path) as f:
        lines = f.read().splitlines()
    return [l.split("\t") for l in lines[1:]]


def compare_tables(rows, path):
    """Worst relative difference of the numeric cells (first column = key) of `rows` and
    the TSV at `path` (relative to max(|stored|, 1e-3))."""
    worst = 0.0
    stored = read_tsv(path)
    assert len(rows) == len(stored), path
    for ra, rb in zip(rows, stored):
        assert ra[0] == rb[0], (ra[0], rb[0])
        for x, y in zip(ra[1:], rb[1:]):
            if x == "." or y == ".":
                assert x == y
                continue
            x, y = float(x), float(y)
            worst = max(worst, abs(x - y) / max(abs(y), 1e-3))
    return worst


def check_with_strand(strand, fasta):
    """strand's loglik / embed on the stored models vs the stored TSVs."""
    tmp = tempfile.mkdtemp()
    bg = os.path.join(tmp, "track.bedGraph")
    r = subprocess.run([strand, "loglik", "--threads", "2", "-m", os.path.join(OUT, "causal"),
                        "--track", bg, fasta], capture_output=True, text=True, check=True)
    mine = {row[0]: row for row in read_tsv(os.path.join(OUT, "causal", "loglik.tsv"))}
    worst = 0.0
    print("strand loglik:\n" + r.stdout.rstrip())
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if f[0] in mine:
            ll_strand = float(f[3])
            ll_mine = float(mine[f[0]][3])
            worst = max(worst, abs(ll_strand - ll_mine) / abs(ll_mine))
            assert int(f[2]) == int(mine[f[0]][2]), (f, mine[f[0]])
    assert len(mine) == sum(1 for l in r.stdout.splitlines() if l.split("\t")[0] in mine)
    print(f"strand loglik vs causal/loglik.tsv: worst relative difference {worst:.2e}")
    track = {}
    with open(bg) as f:
        for line in f:
            c = line.split()
            if c[0] == TRACK_RECORD:
                for pos in range(int(c[1]), int(c[2])):
                    track[pos] = float(c[3])
    ref = {int(r_[0]): float(r_[1]) for r_ in read_tsv(os.path.join(OUT, "causal", "track.tsv"))
           if r_[1] != "."}
    assert set(track) == set(ref), (len(track), len(ref))
    et = max(abs(track[p] - v) / max(abs(v), 1e-3) for p, v in ref.items())
    print(f"strand loglik --track vs causal/track.tsv ({len(ref)} positions): worst relative "
          f"difference {et:.2e} (bedGraph values have 8 significant digits)")
    try:
        emb = os.path.join(tmp, "e.safetensors")
        subprocess.run([strand, "embed", "--threads", "2", "-m", os.path.join(OUT, "ps"),
                        "--pool", "none", "--rc", "none", "-o", emb, fasta],
                       check=True, capture_output=True, text=True)
        t = read_safetensors(emb)
        key = [k for k in t if k.startswith(PS_RECORD)][0]
        got = t[key].double()
        ref = torch.tensor([[float(v) for v in row[1:]]
                            for row in read_tsv(os.path.join(OUT, "ps", "hidden.tsv"))],
                           dtype=torch.float64)
        rows = got[PS_POSITIONS]
        e = ((rows - ref).norm() / ref.norm()).item()
        print(f"strand embed --pool none --rc none ({key}, {tuple(got.shape)}) rows vs "
              f"ps/hidden.tsv: relative difference {e:.2e}")
    finally:
        shutil.rmtree(tmp)
    return worst, e


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="recompute from the stored models")
    ap.add_argument("--strand", help="also compare strand's loglik / embed with the golden")
    ap.add_argument("--data-root", default=DATA)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)                       # determinism, and CPU kept free
    fasta = os.path.join(OUT, "inputs.fa")
    if not args.check:
        os.makedirs(OUT, exist_ok=True)
        write_fasta(fasta, inputs(args.data_root))
        tmp = tempfile.mkdtemp(prefix="strand_golden_train_")
        try:
            for kind, cfg in CONFIGS.items():
                cfg = dict(cfg, **COMMON)
                cpath = os.path.join(tmp, kind + ".json")
                with open(cpath, "w") as f:
                    json.dump(cfg, f)
                run = os.path.join(tmp, kind)
                T.main(["--config", cpath, "--out", run, "--device", "cpu",
                        "--data-root", args.data_root, "--quiet"])
                with open(os.path.join(run, "loss.tsv")) as f:
                    rows = f.read().splitlines()
                print(f"{kind}: trained {len(rows) - 1} log rows; first/last train loss "
                      f"{rows[1].split()[2]} / {rows[-1].split()[2]}")
                X.export(os.path.join(run, "checkpoint.pt"), os.path.join(OUT, kind), "fp32")
        finally:
            shutil.rmtree(tmp)
    recs = [(n, t) for n, t in read_records(fasta)]
    cmodel = load_folder(os.path.join(OUT, "causal"))
    causal = causal_table(cmodel, recs)
    track = causal_track(cmodel, dict(recs)[TRACK_RECORD])
    hid, lp = ps_tables(load_folder(os.path.join(OUT, "ps")), dict(recs)[PS_RECORD])
    files = {os.path.join(OUT, "causal", "loglik.tsv"): causal,
             os.path.join(OUT, "causal", "track.tsv"): track,
             os.path.join(OUT, "ps", "hidden.tsv"): hid,
             os.path.join(OUT, "ps", "logprobs.tsv"): lp}
    if args.check:
        for path, text in files.items():
            rows = [l.split("\t") for l in text.splitlines()[1:]]
            print(f"--check {os.path.relpath(path, REPO)}: worst rel diff "
                  f"{compare_tables(rows, path):.2e}")
    else:
        for path, text in files.items():
            with open(path, "w") as f:
                f.write(text)
        print(causal, end="")
    if args.strand:
        check_with_strand(args.strand, fasta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
