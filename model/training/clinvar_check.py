#!/usr/bin/env python3
"""ClinVar pathogenic vs common SNVs on chromosome 20 for the human masked LM (issue 7).

The shared variant set (GPN's example: 1,000 ClinVar pathogenic and 1,000 common SNVs) is on
GRCh38; the human model and its reference are GRCh37 chromosome 20. `make` lifts the chr20 SNVs
over with a UCSC chain file (hg38ToHg19.over.chain.gz, read here: only ungapped blocks on the
same strand of chr20 -> chr20; a site in a gap or mapped elsewhere is dropped), checks each REF
against the GRCh37 sequence (mismatches dropped and counted), and writes a VCF with INFO/LABEL
and INFO/SPLIT (train: in the 95 % of chr20 the model trained on; heldout: the last 5 %).
`summarize` reads the scored VCF (STRAND_LLR) and prints the mean LLR per label and the AUROC
of -LLR (pathogenic = positive), overall and by split.

  clinvar_check.py make --variants gpn.vcf --chain hg38ToHg19.over.chain.gz --fasta chr20.fa.gz --out out.vcf
  clinvar_check.py summarize scored.vcf [--json out.json]
"""
import argparse
import gzip
import sys

from variant_effects import auroc, write_json

HELD_OUT_FRACTION = 0.05


def chr20_blocks(chain_path):
    """[(t_beg0, t_end0, q_beg0)] ungapped blocks mapping hg38 chr20 onto hg19 chr20 (+)."""
    blocks = []
    with gzip.open(chain_path, "rt") as f:
        cur = None
        for line in f:
            w = line.split()
            if not w:
                cur = None
                continue
            if w[0] == "chain":
                ok = w[2] == "chr20" and w[4] == "+" and w[7] == "chr20" and w[9] == "+"
                cur = [int(w[5]), int(w[10])] if ok else None
                continue
            if cur is None:
                continue
            size = int(w[0])
            blocks.append((cur[0], cur[0] + size, cur[1]))
            if len(w) == 3:
                cur[0] += size + int(w[1])
                cur[1] += size + int(w[2])
    blocks.sort()
    return blocks


def lift(blocks, pos0):
    lo, hi = 0, len(blocks)
    while lo < hi:
        mid = (lo + hi) // 2
        if blocks[mid][1] <= pos0:
            lo = mid + 1
        else:
            hi = mid
    if lo < len(blocks) and blocks[lo][0] <= pos0 < blocks[lo][1]:
        return blocks[lo][2] + pos0 - blocks[lo][0]
    return None


def read_fasta(path):
    opener = gzip.open if path.endswith(".gz") else open
    seq = []
    with opener(path, "rt") as f:
        name = f.readline()[1:].split()[0]
        for line in f:
            seq.append(line.strip())
    return name, "".join(seq).upper()


def make(a):
    blocks = chr20_blocks(a.chain)
    name, seq = read_fasta(a.fasta)
    cut = len(seq) - int(len(seq) * HELD_OUT_FRACTION)
    out, unmapped, mismatch = [], 0, 0
    for line in open(a.variants):
        w = line.split()
        if len(w) < 5 or w[0] not in ("20", "chr20"):
            continue
        q = lift(blocks, int(w[1]) - 1)
        if q is None:
            unmapped += 1
            continue
        if seq[q] != w[3].upper():
            mismatch += 1
            continue
        label = "pathogenic" if w[2].lower().startswith("pathogenic") else "common"
        out.append((q, w[2], w[3].upper(), w[4].upper(), label, "heldout" if q >= cut else "train"))
    out.sort()
    with open(a.out, "w") as f:
        f.write("##fileformat=VCFv4.2\n")
        f.write(f"##contig=<ID={name},length={len(seq)},assembly=GRCh37>\n")
        f.write('##INFO=<ID=LABEL,Number=1,Type=String,Description="pathogenic (ClinVar) or common">\n')
        f.write('##INFO=<ID=SPLIT,Number=1,Type=String,Description="train or heldout part of chr20 for the human model">\n')
        f.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for q, vid, ref, alt, label, split in out:
            f.write(f"{name}\t{q + 1}\t{vid}\t{ref}\t{alt}\t.\t.\tLABEL={label};SPLIT={split}\n")
    print(f"{len(out)} chr20 SNVs lifted to GRCh37 ({unmapped} unmapped, {mismatch} REF mismatches) -> {a.out}",
          file=sys.stderr)


def summarize(a):
    rows = []
    for line in open(a.vcf):
        if line.startswith("#"):
            continue
        info = dict(kv.split("=", 1) for kv in line.rstrip("\n").split("\t")[7].split(";") if "=" in kv)
        if info.get("STRAND_LLR", ".") != ".":
            rows.append((info["LABEL"], info["SPLIT"], float(info["STRAND_LLR"])))
    out = {}
    for split in ("all", "train", "heldout"):
        sel = [r for r in rows if split == "all" or r[1] == split]
        path = [-r[2] for r in sel if r[0] == "pathogenic"]
        common = [-r[2] for r in sel if r[0] == "common"]
        if not path or not common:
            continue
        res = {"pathogenic": len(path), "common": len(common),
               "mean_llr_pathogenic": -sum(path) / len(path), "mean_llr_common": -sum(common) / len(common),
               "auroc": auroc(path, common)}
        out[split] = res
        print(f"{split}: {len(path)} pathogenic mean LLR {res['mean_llr_pathogenic']:.3f}, {len(common)} common "
              f"{res['mean_llr_common']:.3f}, AUROC {res['auroc']:.3f}")
    write_json(out, a.json)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--variants", required=True)
    m.add_argument("--chain", required=True)
    m.add_argument("--fasta", required=True)
    m.add_argument("--out", required=True)
    s = sub.add_parser("summarize")
    s.add_argument("vcf")
    s.add_argument("--json")
    a = ap.parse_args()
    (make if a.cmd == "make" else summarize)(a)


if __name__ == "__main__":
    main()
