#!/usr/bin/env python3
"""Gene calls against a reference annotation, matched by stop codon.

A predicted CDS matches a reference CDS when both are on the same contig and strand and end
at the same stop (the 3' end: the largest end coordinate on +, the smallest start on -). This
is how gene finders are usually compared (Prodigal's paper does it), because start codons are
uncertain in reference annotations too. Reference CDS marked as pseudogenes (pseudo=true,
/pseudo) are left out, and predictions that end at a pseudogene's stop count neither way.
Partial predictions (partial=true) count like the others.

Reads GFF3 (strand annotate, prodigal -f gff, NCBI RefSeq; plain or .gz) and GenBank (.gbk,
.gbk.gz: CDS features). Prints sensitivity, precision and F1; --json writes them too.

  compare_gene_calls.py REFERENCE PREDICTED [PREDICTED ...] [--json out.json]
"""
import argparse
import gzip
import json
import re
import sys


def contig_key(name):
    """Contig names compared by accession: "gi|9626243|ref|NC_001416.1|" is NC_001416.1."""
    name = name.split()[0]
    fields = name.split("|")
    for db in ("ref", "gb", "emb", "dbj"):
        if db in fields[:-1]:
            return fields[fields.index(db) + 1]
    return name


def open_text(path):
    return gzip.open(path, "rt") if path.endswith(".gz") else open(path)


def gff3_cds(path):
    """{(contig, strand, stop)} of non-pseudo CDS and the set of pseudo stops. Parts of one CDS
    (lines sharing an ID) are merged; contig names are the first word (Prodigal keeps only it)."""
    parts = {}
    for line in open_text(path):
        if line.startswith("##FASTA"):
            break
        if line.startswith("#") or not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        if len(f) != 9 or f[2] != "CDS":
            continue
        attrs = dict(kv.split("=", 1) for kv in f[8].split(";") if "=" in kv)
        key = (contig_key(f[0]), attrs.get("ID", f"{f[0]}:{f[3]}-{f[4]}{f[6]}"), f[6])
        entry = parts.setdefault(key, {"beg": int(f[3]), "end": int(f[4]), "pseudo": False})
        entry["beg"] = min(entry["beg"], int(f[3]))
        entry["end"] = max(entry["end"], int(f[4]))
        if attrs.get("pseudo") == "true" or "pseudogene" in attrs:
            entry["pseudo"] = True
    genes, pseudo = set(), set()
    for (contig, _, strand), e in parts.items():
        stop = (contig, strand, e["end"] if strand == "+" else e["beg"])
        (pseudo if e["pseudo"] else genes).add(stop)
    return genes, pseudo


def genbank_cds(path):
    genes, pseudo = set(), set()
    contig, in_features, cur = None, False, None

    def close(cur):
        if cur is None:
            return
        loc, is_pseudo = cur
        nums = [int(x) for x in re.findall(r"\d+", loc)]
        if not nums:
            return
        strand = "-" if loc.startswith("complement") else "+"
        stop = (contig, strand, max(nums) if strand == "+" else min(nums))
        (pseudo if is_pseudo else genes).add(stop)

    for line in open_text(path):
        if line.startswith("VERSION"):
            contig = contig_key(line.split()[1])
        elif line.startswith("FEATURES"):
            in_features = True
        elif line.startswith("ORIGIN"):
            close(cur)
            cur, in_features = None, False
        elif in_features and line[5:6] != " " and line[5:].strip():
            close(cur)
            key, loc = line[5:21].strip(), line[21:].strip()
            cur = [loc, False] if key == "CDS" else None
        elif in_features and cur is not None:
            text = line.strip()
            if text.startswith("/pseudo"):
                cur[1] = True
            elif not text.startswith("/") and cur[0].count("(") > cur[0].count(")"):
                cur[0] += text
    return genes, pseudo


def read_cds(path):
    base = path[:-3] if path.endswith(".gz") else path
    return genbank_cds(path) if base.endswith((".gbk", ".gb", ".gbff")) else gff3_cds(path)


def compare(ref, pseudo, pred):
    pred = {p for p in pred if p not in pseudo}
    tp = len(ref & pred)
    sens = tp / len(ref) if ref else 0.0
    prec = tp / len(pred) if pred else 0.0
    f1 = 2 * sens * prec / (sens + prec) if sens + prec else 0.0
    return {"reference": len(ref), "predicted": len(pred), "matched": tp, "sensitivity": sens, "precision": prec, "f1": f1}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reference")
    ap.add_argument("predicted", nargs="+")
    ap.add_argument("--json")
    ap.add_argument("--contigs", help="only these reference contigs (comma-separated; e.g. the held-out ones)")
    a = ap.parse_args()
    ref, pseudo = read_cds(a.reference)
    if a.contigs:
        keep = {contig_key(c) for c in a.contigs.split(",")}
        ref = {r for r in ref if r[0] in keep}
        pseudo = {r for r in pseudo if r[0] in keep}
    if not ref:
        sys.exit(f"{a.reference}: no CDS")
    results = {}
    print(f"reference {a.reference}: {len(ref)} CDS ({len(pseudo)} pseudogenes left out)")
    print("predicted\treference\tpredicted\tmatched\tsensitivity\tprecision\tF1")
    for p in a.predicted:
        genes, _ = read_cds(p)
        if a.contigs:
            genes = {g for g in genes if g[0] in keep}
        r = compare(ref, pseudo, genes)
        results[p] = r
        print(f"{p}\t{r['reference']}\t{r['predicted']}\t{r['matched']}\t{r['sensitivity']:.4f}\t{r['precision']:.4f}\t{r['f1']:.4f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
