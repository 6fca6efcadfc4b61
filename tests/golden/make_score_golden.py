#!/usr/bin/python3
"""Golden expected values for `strand score` (variant effect scores, VCF in -> VCF out).

Uses the independent PyTorch model implementation in make_golden.py (imported, not copied)
on the tiny golden checkpoints data/golden/{ps,ph,mamba} (config.json + model.safetensors,
loaded from disk exactly as `make_golden.py --check` does) and the fixture in data/score/
(ref.fa, variants.vcf, variants_chr.vcf; see data/score/README.md).

Run from anywhere (Debian's python3-torch; one thread, deterministic):
    /usr/bin/python3 tests/golden/make_score_golden.py            # writes data/score/expected_*.tsv
    /usr/bin/python3 tests/golden/make_score_golden.py --check    # recompute, compare (max abs <= 1e-6)

Outputs: expected_{ps,ph,mamba}_w64.tsv and expected_ps_w51.tsv for variants.vcf, and
expected_ps_w64_chr.tsv for variants_chr.vcf (contig `chrq` matched to FASTA contig `q`).
Columns: record chrom pos ref alt_index alt llr llr_fwd edist edist_fwd reason
  record    0-based index of the record in the VCF; one row per ALT allele (alt_index 0-based;
            a record whose ALT is `.` has one row, alt_index -1, alt `.`)
  llr/edist both strands (default mode); llr_fwd/edist_fwd forward strand only (--no-rc)
  values    '%.9g'; missing '.'
  reason    ok | contig_absent | ref_mismatch | window_all_n (record level, all alleles missing)
            | no_alt | symbolic | breakend | star | unsupported_allele (allele level, all missing)
            | not_snv | ref_not_acgt | alt_not_acgt (masked models: LLR only missing, EDIST present)

Scoring rules (per record; pos0 = POS - 1, contig length Lc, window length W):
- Window: if Lc <= W: start = 0, Wn = Lc; else start = min(max(pos0 - W//2, 0), Lc - W), Wn = W.
  c = pos0 - start; ref_win = ref[start:start+Wn]. Tokens: upper case, A=7 C=8 G=9 T=10 N=11,
  any other character 6, MASK = 3.
- Contig matching: exact name, else names differing only by a leading `chr`.
- Record level, in this order: contig not in the FASTA -> contig_absent. upper(REF) !=
  upper(ref[pos0:pos0+len(REF)]) or REF runs past the contig end -> ref_mismatch. ref_win has
  no A/C/G/T (any case) at any index outside [c, c+len(REF)) -> window_all_n.
- Allele level (both tags missing), in this order: ALT `.` -> no_alt; starts with `<` -> symbolic;
  contains `[` or `]`, or starts/ends with `.` -> breakend; `*` -> star; any character other
  than ACGTN (case-insensitive) -> unsupported_allele.
- alt_win = (ref[start:pos0] + ALT + ref[pos0+len(REF):])[:Wn] (ref = the whole contig), so it
  is shorter than Wn only where the contig ends.
- Masked models (ps, ph), STRAND_LLR only for SNVs: not len(REF) == len(ALT) == 1 -> not_snv;
  REF not in ACGT -> ref_not_acgt; ALT not in ACGT -> alt_not_acgt. ids = tok(ref_win),
  ids[c] = MASK; lp = log_softmax(logits[c, [A,C,G,T]]) (over the 4 nucleotide logits only);
  llr_f = lp[ALT] - lp[REF]. Reverse strand: ids_rc = revcomp_ids(masked ids) (the mask stays
  id 3, at row Wn-1-c); lp_rc from row Wn-1-c; llr_r = lp_rc[comp ALT] - lp_rc[comp REF].
  llr = (llr_f + llr_r) / 2, llr_fwd = llr_f. Log-softmax and differences in float64 from the
  fp32 logits.
- Causal model (mamba), LLR for every allele that passed the allele checks (SNV, indel, MNP,
  ALT N, REF N): LL(ids) = sum_{t=1}^{n-1} log_softmax(logits[t-1] over all 16)[ids[t]]
  (float64 from fp32 logits; the first base is not scored). llr_f = LL(tok(alt_win)) -
  LL(tok(ref_win)); llr_r = the same on revcomp_ids of both; llr = mean, llr_fwd = llr_f.
- STRAND_EDIST (all models, every allele that passed the allele checks), from the final hidden
  states h of the unmasked tok(ref_win) and tok(alt_win): PS (width 2d): g[i, c] = (h[i, c] +
  h[i, 2d-1-c]) / 2 for c < d, feature = mean over rows of g (same in both modes). PH / Mamba:
  both strands feature = (mean_rows h(x) + mean_rows h(revcomp(x))) / 2; forward only
  mean_rows h(x). Means in float64 from the fp32 hidden states. EDIST = 0.5 * ||a/|a| - b/|b|||^2
  in float64 (= 1 - cos); missing if a norm is 0 (does not happen in this fixture).
All forwards are single sequences in fp32 (no batching, no padding).
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

from make_golden import forward, read_fasta, read_safetensors, revcomp_ids, tokenize  # noqa: E402

torch.set_num_threads(1)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCORE = os.path.join(REPO, "data", "score")
GOLDEN = os.path.join(REPO, "data", "golden")
MASK = 3
NUC_IDS = [7, 8, 9, 10]          # A C G T
NUC = "ACGT"
TOL = 1e-6
HEADER = ["record", "chrom", "pos", "ref", "alt_index", "alt", "llr", "llr_fwd", "edist",
          "edist_fwd", "reason"]
# (output file, model, window, vcf)
JOBS = [
    ("expected_ps_w64.tsv", "ps", 64, "variants.vcf"),
    ("expected_ps_w51.tsv", "ps", 51, "variants.vcf"),
    ("expected_ph_w64.tsv", "ph", 64, "variants.vcf"),
    ("expected_mamba_w64.tsv", "mamba", 64, "variants.vcf"),
    ("expected_ps_w64_chr.tsv", "ps", 64, "variants_chr.vcf"),
]


def load_model(name):
    """A model folder on disk -> the {"config", "tensors"} dict that make_golden.forward takes
    (the same loading as make_golden.py --check; tied tensors are absent and not needed)."""
    d = os.path.join(GOLDEN, name)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    return {"config": cfg, "tensors": read_safetensors(os.path.join(d, "model.safetensors"))}


def read_vcf(path):
    recs = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            t = line.rstrip("\n").split("\t")
            recs.append((t[0], int(t[1]), t[3], t[4].split(",")))
    return recs


def match_contig(name, fasta):
    if name in fasta:
        return name
    if name.startswith("chr") and name[3:] in fasta:
        return name[3:]
    if "chr" + name in fasta:
        return "chr" + name
    return None


class Model:
    """Forward passes with a cache keyed by the token sequence."""

    def __init__(self, name):
        self.name = name
        self.m = load_model(name)
        cfg = self.m["config"]
        self.causal = cfg["model_type"] == "mamba"
        self.rcps = (not self.causal) and cfg["rcps"]
        self.cache = {}
        self.n_forward = 0

    def run(self, ids):
        key = tuple(ids.tolist())
        if key not in self.cache:
            o = forward(self.m, ids, torch.float32)
            self.cache[key] = (o["hidden"], o["logits"])
            self.n_forward += 1
        return self.cache[key]

    # ---- STRAND_EDIST features
    def feature(self, ids, both):
        h = self.run(ids)[0].double()
        if self.rcps:
            d = h.shape[1] // 2
            return ((h[:, :d] + h[:, d:].flip(1)) / 2).mean(0)
        f = h.mean(0)
        if both:
            f = (f + self.run(revcomp_ids(ids))[0].double().mean(0)) / 2
        return f

    # ---- causal log-likelihood
    def loglik(self, ids):
        logits = self.run(ids)[1].double()
        if len(ids) < 2:
            return 0.0
        lp = torch.log_softmax(logits[:-1], dim=-1)
        return lp.gather(1, ids[1:].unsqueeze(1)).sum().item()


def edist(a, b):
    na, nb = a.norm().item(), b.norm().item()
    if na == 0.0 or nb == 0.0:
        return None
    return 0.5 * (a / na - b / nb).pow(2).sum().item()


def allele_reason(alt):
    if alt == ".":
        return "no_alt"
    if alt.startswith("<"):
        return "symbolic"
    if "[" in alt or "]" in alt or alt.startswith(".") or alt.endswith("."):
        return "breakend"
    if alt == "*":
        return "star"
    if any(ch not in "ACGTN" for ch in alt.upper()):
        return "unsupported_allele"
    return None


def masked_llr(model, ref_win, c, ref_base, alt_base):
    ids = tokenize(ref_win)
    ids[c] = MASK
    wn = len(ids)
    lp = torch.log_softmax(model.run(ids)[1][c, NUC_IDS].double(), dim=0)
    ri, ai = NUC.index(ref_base), NUC.index(alt_base)
    llr_f = (lp[ai] - lp[ri]).item()
    lp_rc = torch.log_softmax(model.run(revcomp_ids(ids))[1][wn - 1 - c, NUC_IDS].double(), dim=0)
    llr_r = (lp_rc[3 - ai] - lp_rc[3 - ri]).item()      # comp in ACGT order: index 3 - i
    return (llr_f + llr_r) / 2, llr_f


def score_vcf(model, fasta, vcf_path, W):
    rows = []
    for rec_i, (chrom, pos, ref_allele, alts) in enumerate(read_vcf(vcf_path)):
        pos0 = pos - 1
        REF = ref_allele.upper()
        rec_reason = None
        contig = match_contig(chrom, fasta)
        if contig is None:
            rec_reason = "contig_absent"
        else:
            seq = fasta[contig]
            Lc = len(seq)
            if pos0 < 0 or pos0 + len(REF) > Lc or seq[pos0:pos0 + len(REF)].upper() != REF:
                rec_reason = "ref_mismatch"
            else:
                if Lc <= W:
                    start, wn = 0, Lc
                else:
                    start, wn = min(max(pos0 - W // 2, 0), Lc - W), W
                c = pos0 - start
                ref_win = seq[start:start + wn]
                if not any(ch in "ACGT" for i, ch in enumerate(ref_win.upper())
                           if not (c <= i < c + len(REF))):
                    rec_reason = "window_all_n"
        for alt_i, alt in enumerate(alts):
            row = {"record": rec_i, "chrom": chrom, "pos": pos, "ref": ref_allele,
                   "alt_index": -1 if alt == "." else alt_i, "alt": alt,
                   "llr": None, "llr_fwd": None, "edist": None, "edist_fwd": None}
            reason = rec_reason or allele_reason(alt)
            if reason is None:
                ALT = alt.upper()
                alt_win = (seq[start:pos0] + ALT + seq[pos0 + len(REF):])[:wn]
                x_ref, x_alt = tokenize(ref_win), tokenize(alt_win)
                # EDIST
                row["edist"] = edist(model.feature(x_ref, True), model.feature(x_alt, True))
                row["edist_fwd"] = edist(model.feature(x_ref, False), model.feature(x_alt, False))
                assert row["edist"] is not None and row["edist_fwd"] is not None
                # LLR
                if model.causal:
                    llr_f = model.loglik(x_alt) - model.loglik(x_ref)
                    llr_r = model.loglik(revcomp_ids(x_alt)) - model.loglik(revcomp_ids(x_ref))
                    row["llr"], row["llr_fwd"] = (llr_f + llr_r) / 2, llr_f
                elif not (len(REF) == 1 and len(ALT) == 1):
                    reason = "not_snv"
                elif REF not in NUC:
                    reason = "ref_not_acgt"
                elif ALT not in NUC:
                    reason = "alt_not_acgt"
                else:
                    row["llr"], row["llr_fwd"] = masked_llr(model, ref_win, c, REF, ALT)
            row["reason"] = reason or "ok"
            rows.append(row)
    return rows


def fmt(v):
    if v is None:
        return "."
    return "%.9g" % v


def to_lines(rows):
    out = ["\t".join(HEADER)]
    for r in rows:
        out.append("\t".join(fmt(r[k]) if k in ("llr", "llr_fwd", "edist", "edist_fwd")
                             else str(r[k]) for k in HEADER))
    return "\n".join(out) + "\n"


def compare(new_text, path):
    with open(path) as f:
        old = [line.rstrip("\n").split("\t") for line in f]
    new = [line.split("\t") for line in new_text.rstrip("\n").split("\n")]
    assert len(old) == len(new), f"{path}: {len(old)} vs {len(new)} lines"
    assert old[0] == new[0] == HEADER
    worst = 0.0
    num = {HEADER.index(k) for k in ("llr", "llr_fwd", "edist", "edist_fwd")}
    for a, b in zip(old[1:], new[1:]):
        for j, (x, y) in enumerate(zip(a, b)):
            if j in num and x != "." and y != ".":
                worst = max(worst, abs(float(x) - float(y)))
            else:
                assert x == y, f"{path}: {a} vs {b}"
    return worst


def summary(name, rows):
    reasons = {}
    for r in rows:
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    llr = [abs(r["llr"]) for r in rows if r["llr"] is not None]
    ed = [r["edist"] for r in rows if r["edist"] is not None]
    dl = [abs(r["llr"] - r["llr_fwd"]) for r in rows if r["llr"] is not None]
    de = [abs(r["edist"] - r["edist_fwd"]) for r in rows if r["edist"] is not None]
    print(f"  {name}: {len(rows)} rows, reasons {reasons}")
    print(f"    |llr| in [{min(llr):.3g}, {max(llr):.3g}] (n={len(llr)}), edist in "
          f"[{min(ed):.3g}, {max(ed):.3g}] (n={len(ed)}); max |llr-llr_fwd| {max(dl):.3g}, "
          f"max |edist-edist_fwd| {max(de):.3g}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true",
                    help="recompute and compare with data/score/expected_*.tsv instead of writing")
    args = ap.parse_args()
    t0 = time.time()
    fasta = read_fasta(os.path.join(SCORE, "ref.fa"))
    models = {}
    results = {}
    worst_all = 0.0
    for out_name, mname, W, vcf in JOBS:
        if mname not in models:
            models[mname] = Model(mname)
        ts = time.time()
        rows = score_vcf(models[mname], fasta, os.path.join(SCORE, vcf), W)
        results[out_name] = rows
        text = to_lines(rows)
        path = os.path.join(SCORE, out_name)
        print(f"{out_name}: model {mname} W={W} {vcf} [{time.time() - ts:.1f}s]")
        summary(out_name, rows)
        if args.check:
            worst = compare(text, path)
            worst_all = max(worst_all, worst)
            print(f"    --check max abs diff vs {out_name}: {worst:.2e}")
        else:
            with open(path + ".tmp", "w") as f:
                f.write(text)
            os.replace(path + ".tmp", path)
    # the chr-prefixed file must give exactly the values of the same records on contig q
    key = lambda r: (r["pos"], r["ref"], r["alt_index"], r["alt"])
    base = {key(r): r for r in results["expected_ps_w64.tsv"] if r["chrom"] == "q"}
    for r in results["expected_ps_w64_chr.tsv"]:
        b = base[key(r)]
        assert all(r[k] == b[k] for k in ("llr", "llr_fwd", "edist", "edist_fwd", "reason")), key(r)
    print("chr-prefixed rows == the q rows of expected_ps_w64.tsv")
    print(f"forwards: { {k: m.n_forward for k, m in models.items()} }; total {time.time() - t0:.1f}s")
    if args.check:
        assert worst_all <= TOL, f"max abs diff {worst_all:.2e} > {TOL}"
        print(f"--check OK (max abs diff {worst_all:.2e} <= {TOL})")


if __name__ == "__main__":
    main()
