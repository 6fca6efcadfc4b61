#!/usr/bin/env python3
"""Synonymous, missense and nonsense SNVs in held-out coding sequence: does a masked DNA model
separate them? (Issue 7's quality check for the bacterial masked LM.)

`make`: from GenBank genomes of the training set, take every complete single-part CDS that lies
wholly in the held-out tail of its record (the last 5 % of each record >= 20 kb: the split
model/training/data.py trains on), simulate every SNV at its inner codons (not the start codon,
not the stop), classify each under translation table 11 (synonymous / missense / nonsense;
stop-loss and start changes are not made), and sample up to N of each class with a seed. Writes
the records as FASTA (+ .fai) and the SNVs as a VCF with INFO/EFFECT, for `strand score`.

`summarize`: reads the scored VCF (INFO/STRAND_LLR) and prints per class the count, mean LLR with
its standard error, and the AUROC of -LLR for nonsense vs synonymous and missense vs synonymous.

  variant_effects.py make --genbank a.gbk.gz [--genbank b.gbk.gz ...] --out DIR [--per-class 2000]
  variant_effects.py summarize scored.vcf [--json out.json]
"""
import argparse
import gzip
import json
import math
import os
import random
import re
import sys

HELD_OUT_FRACTION = 0.05   # model/training/data.py's defaults (configs: heldout_fraction)
HELD_OUT_MIN_RECORD = 20000
BASES = "TCAG"
TABLE11_AA = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODON_AA = {a + b + c: TABLE11_AA[16 * i + 4 * j + k]
            for i, a in enumerate(BASES) for j, b in enumerate(BASES) for k, c in enumerate(BASES)}
COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def revcomp(s):
    return s.translate(COMPLEMENT)[::-1]


def read_genbank(path):
    """[(name, seq, [(beg0, end0, strand)])] with complete single-part non-pseudo CDS."""
    opener = gzip.open if path.endswith(".gz") else open
    records = []
    with opener(path, "rt") as f:
        text = f.read()
    for entry in text.split("\n//"):
        if "LOCUS" not in entry:
            continue
        m = re.search(r"^VERSION\s+(\S+)", entry, re.M) or re.search(r"^LOCUS\s+(\S+)", entry, re.M)
        name = m.group(1)
        feat_part, _, origin = entry.partition("\nORIGIN")
        seq = re.sub(r"[^A-Za-z]", "", origin).upper()
        cds = []
        for fm in re.finditer(r"^ {5}CDS {13}(\S.*?)(?=^ {5}\S|\Z)", feat_part, re.M | re.S):
            block = fm.group(1)
            loc = block.split("\n")[0].strip()
            if "/pseudo" in block or "/pseudogene" in block:
                continue
            m2 = re.fullmatch(r"(complement\()?(\d+)\.\.(\d+)\)?", loc)
            if not m2:
                continue  # partial (<, >), joined or odd locations: left out
            beg0, end0 = int(m2.group(2)) - 1, int(m2.group(3))
            cds.append((beg0, end0, "-" if m2.group(1) else "+"))
        records.append((name, seq, cds))
    return records


def make(args):
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    by_class = {"synonymous": [], "missense": [], "nonsense": []}
    contigs = []
    n_cds = 0
    for path in args.genbank:
        for name, seq, cds in read_genbank(path):
            L = len(seq)
            if L < HELD_OUT_MIN_RECORD:
                continue
            cut = L - int(L * HELD_OUT_FRACTION)
            used = False
            for beg0, end0, strand in cds:
                if beg0 < cut or (end0 - beg0) % 3:
                    continue
                gene = seq[beg0:end0] if strand == "+" else revcomp(seq[beg0:end0])
                if CODON_AA.get(gene[-3:]) != "*" or any(CODON_AA.get(gene[i:i + 3], "X") in "*X" for i in range(0, len(gene) - 3, 3)):
                    continue  # no stop at the end, an internal stop or an ambiguous base
                n_cds += 1
                used = True
                for c in range(3, len(gene) - 3, 3):
                    codon = gene[c:c + 3]
                    for k in range(3):
                        for alt in "ACGT":
                            if alt == codon[k]:
                                continue
                            new = codon[:k] + alt + codon[k + 1:]
                            aa, aa2 = CODON_AA[codon], CODON_AA[new]
                            effect = "synonymous" if aa2 == aa else ("nonsense" if aa2 == "*" else "missense")
                            t = c + k  # offset in the gene, transcription order
                            pos0 = beg0 + t if strand == "+" else end0 - 1 - t
                            ref_f = seq[pos0]
                            alt_f = alt if strand == "+" else alt.translate(COMPLEMENT)
                            by_class[effect].append((name, pos0, ref_f, alt_f, k + 1))
            if used:
                contigs.append((name, seq))
    if n_cds == 0:
        sys.exit("no complete CDS in the held-out tails")
    sites = []
    for effect, items in by_class.items():
        pick = rng.sample(items, min(args.per_class, len(items)))
        sites += [(n, p, r, a, effect, cp) for n, p, r, a, cp in pick]
        print(f"{effect}: {len(items)} possible, {len(pick)} sampled", file=sys.stderr)
    order = {name: i for i, (name, _) in enumerate(contigs)}
    sites.sort(key=lambda s: (order[s[0]], s[1], s[3]))
    fa = os.path.join(args.out, "heldout_cds_contigs.fa")
    with open(fa, "w") as f, open(fa + ".fai", "w") as fai:
        off = 0
        for name, seq in contigs:
            header = f">{name}\n"
            off += len(header)
            fai.write(f"{name}\t{len(seq)}\t{off}\t60\t61\n")
            body = "".join(seq[i:i + 60] + "\n" for i in range(0, len(seq), 60))
            f.write(header + body)
            off += len(body)
    vcf = os.path.join(args.out, "heldout_cds_snvs.vcf")
    with open(vcf, "w") as f:
        f.write("##fileformat=VCFv4.2\n")
        for name, seq in contigs:
            f.write(f"##contig=<ID={name},length={len(seq)}>\n")
        f.write('##INFO=<ID=EFFECT,Number=1,Type=String,Description="synonymous, missense or nonsense (table 11)">\n')
        f.write('##INFO=<ID=CODON_POS,Number=1,Type=Integer,Description="position of the SNV in its codon (1-3)">\n')
        f.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for name, pos0, ref, alt, effect, cp in sites:
            f.write(f"{name}\t{pos0 + 1}\t.\t{ref}\t{alt}\t.\t.\tEFFECT={effect};CODON_POS={cp}\n")
    print(f"{n_cds} held-out CDS on {len(contigs)} records; {len(sites)} SNVs -> {vcf}, {fa}", file=sys.stderr)


def write_json(obj, path):
    """The summary as JSON when --json was given."""
    if path:
        with open(path, "w") as f:
            json.dump(obj, f, indent=1)


def auroc(pos, neg):
    """P(score of a positive > score of a negative), ties counted half."""
    scored = sorted([(v, 1) for v in pos] + [(v, 0) for v in neg])
    rank_sum, i = 0.0, 0
    while i < len(scored):
        j = i
        while j < len(scored) and scored[j][0] == scored[i][0]:
            j += 1
        avg = (i + j + 1) / 2.0
        rank_sum += avg * sum(1 for k in range(i, j) if scored[k][1])
        i = j
    n1, n0 = len(pos), len(neg)
    return (rank_sum - n1 * (n1 + 1) / 2.0) / (n1 * n0) if n1 and n0 else float("nan")


def summarize(args):
    llr = {"synonymous": [], "missense": [], "nonsense": []}
    pos_rows = []
    opener = gzip.open if args.vcf.endswith(".gz") else open
    with opener(args.vcf, "rt") as f:
        for line in f:
            if line.startswith("#"):
                continue
            info = dict(kv.split("=", 1) for kv in line.rstrip("\n").split("\t")[7].split(";") if "=" in kv)
            if info.get("STRAND_LLR", ".") != ".":
                llr[info["EFFECT"]].append(float(info["STRAND_LLR"]))
                pos_rows.append((info["EFFECT"], int(info.get("CODON_POS", 0)), float(info["STRAND_LLR"])))
    out = {}
    for effect, v in llr.items():
        n = len(v)
        mean = sum(v) / n if n else float("nan")
        sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (n - 1)) if n > 1 else float("nan")
        out[effect] = {"n": n, "mean_llr": mean, "sem": sd / math.sqrt(n) if n > 1 else float("nan")}
        print(f"{effect}\tn={n}\tmean LLR {mean:.4f} ± {out[effect]['sem']:.4f} (s.e.)")
    # Synonymous SNVs sit mostly at third codon positions, where codon usage makes the reference
    # base predictable; compare the classes within one codon position too.
    by_pos = {}
    for effect, cp, v in pos_rows:
        by_pos.setdefault((effect, cp), []).append(v)
    out["by_codon_position"] = {}
    for (effect, cp), v in sorted(by_pos.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        mean = sum(v) / len(v)
        out["by_codon_position"][f"{effect}@{cp}"] = {"n": len(v), "mean_llr": mean}
        print(f"  codon position {cp}: {effect}\tn={len(v)}\tmean LLR {mean:.4f}")
    for cp in (1, 2, 3):
        syn, mis = by_pos.get(("synonymous", cp), []), by_pos.get(("missense", cp), [])
        if len(syn) >= 20 and len(mis) >= 20:
            a_ = auroc([-x for x in mis], [-x for x in syn])
            out[f"auroc_missense_vs_synonymous_pos{cp}"] = a_
            print(f"  codon position {cp}: AUROC (-LLR) missense vs synonymous {a_:.4f}")
    neg = [-x for x in llr["synonymous"]]
    out["auroc_nonsense_vs_synonymous"] = auroc([-x for x in llr["nonsense"]], neg)
    out["auroc_missense_vs_synonymous"] = auroc([-x for x in llr["missense"]], neg)
    print(f"AUROC (-LLR) nonsense vs synonymous {out['auroc_nonsense_vs_synonymous']:.4f}, "
          f"missense vs synonymous {out['auroc_missense_vs_synonymous']:.4f}")
    write_json(out, args.json)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--genbank", action="append", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--per-class", type=int, default=2000)
    m.add_argument("--seed", type=int, default=11)
    s = sub.add_parser("summarize")
    s.add_argument("vcf")
    s.add_argument("--json")
    a = ap.parse_args()
    (make if a.cmd == "make" else summarize)(a)


if __name__ == "__main__":
    main()
