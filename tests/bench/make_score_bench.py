#!/usr/bin/python3
"""Inputs for the `strand score` benchmark (tests/bench/README.md): a 2-Mb slice of GRCh37
chromosome 20 as its own FASTA contig, and SNVs at real sites of it — every STEP-th base that is
A/C/G/T, REF the reference base, ALT the next base in A->C->G->T->A order. There is no real
100k-SNV VCF of an assembly we have a reference for here, so the sites are real and the
alleles synthetic; the cost of scoring does not depend on which base the ALT is.

    /usr/bin/python3 tests/bench/make_score_bench.py OUTDIR [--snvs 100000] [--step 19]
Writes OUTDIR/chr20_slice.fa (+ .fai) and OUTDIR/snvs.vcf. Needs samtools and
../shared/data/human/chr20_grch37/chr20.fa.gz.
"""
import argparse
import os
import subprocess

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHR20 = os.path.join(REPO, "..", "shared", "data", "human", "chr20_grch37", "chr20.fa.gz")
BEG, END = 1_000_001, 3_000_000  # 1-based inclusive on chr20
CONTIG = "chr20_1000001_3000000"
NEXT = {"A": "C", "C": "G", "G": "T", "T": "A"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--snvs", type=int, default=100_000)
    ap.add_argument("--step", type=int, default=19)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    out = subprocess.run(["samtools", "faidx", CHR20, f"20:{BEG}-{END}"], check=True, capture_output=True, text=True).stdout
    seq = "".join(out.splitlines()[1:]).upper()
    fa = os.path.join(a.outdir, "chr20_slice.fa")
    with open(fa, "w") as f:
        f.write(f">{CONTIG}\n")
        for i in range(0, len(seq), 60):
            f.write(seq[i:i + 60] + "\n")
    subprocess.run(["samtools", "faidx", fa], check=True)
    n = 0
    with open(os.path.join(a.outdir, "snvs.vcf"), "w") as f:
        f.write("##fileformat=VCFv4.2\n")
        f.write(f"##contig=<ID={CONTIG},length={len(seq)}>\n")
        f.write(f"##source=strand tests/bench/make_score_bench.py (GRCh37 20:{BEG}-{END}, every {a.step}th A/C/G/T base)\n")
        f.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for pos0 in range(0, len(seq), a.step):
            base = seq[pos0]
            if base not in NEXT:
                continue
            f.write(f"{CONTIG}\t{pos0 + 1}\t.\t{base}\t{NEXT[base]}\t.\t.\t.\n")
            n += 1
            if n == a.snvs:
                break
    print(f"{n} SNVs over {pos0 + 1} bp of {CONTIG}")


if __name__ == "__main__":
    main()
