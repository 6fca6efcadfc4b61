# score.smk: run `strand score` over a VCF/BCF in parallel shards and gather them into one file
# that equals a single `strand score` run (same records, same order, same scores).
#
#   scatter  one shard per contig that has records (`bcftools index -s`), or one per line of
#            a regions file
#   score    per shard: strand score -r REGION -f REF [-m MODEL] EXTRA -O b -o shard.bcf VCF
#            (regions mode: -O u -o - | bcftools view -t REGION --targets-overlap pos, see below)
#   gather   bcftools concat of the shards in the input's contig/region order, then
#            bcftools index (a .csi next to the output)
#
# Usage (Snakemake 7; run from any folder, relative paths are relative to that folder):
#
#   snakemake -s pipelines/workflows/score.smk --cores 8 \
#       --config vcf=calls.vcf.gz ref=GRCh38.fa out=scored.vcf.gz
#
#   # tiny test model, 64-bp windows, one thread per shard, shards from a regions file
#   snakemake -s pipelines/workflows/score.smk --cores 8 \
#       --config vcf=calls.bcf ref=GRCh38.fa out=scored.bcf model=data/golden/ps \
#                scatter=chunks.bed extra='--window 64 --threads 1'
#
#   # 4 GPUs on this machine: at most 4 shards at a time, each on its own cuda:N
#   snakemake -s pipelines/workflows/score.smk --cores 16 --resources gpu=4 \
#       --config vcf=calls.vcf.gz ref=GRCh38.fa out=scored.vcf.gz gpus=4
#
#   # the same keys from a YAML file
#   snakemake -s pipelines/workflows/score.smk --cores 8 --configfile score.yaml
#
# Config keys (pipelines/workflows/README.md says more):
#   vcf          input VCF/BCF, bgzipped (or BCF) and indexed (.csi/.tbi); without an index the
#                workflow indexes a copy in workdir_tmp                                (required)
#   ref          reference FASTA, faidx-indexed                                         (required)
#   out          final output, NAME.vcf.gz or NAME.bcf; NAME.vcf.gz.csi / NAME.bcf.csi next to it
#   model        model folder or shipped model name, passed as -m        (default: strand's own)
#   scatter      'contigs' (default) or a regions file: one region per line, 'chr', 'chr:beg-'
#                (to the end), 'chr:beg-end' (1-based, inclusive) or BED 'chr beg end' (0-based,
#                half-open; any line with 3+ columns, whatever the file name);
#                regions must not overlap; records are assigned by POS (see "Gather" below)
#   strand       the strand executable                                     (default: 'strand')
#   extra        more arguments for strand score, e.g. '--window 64 --threads 1'
#   threads      threads per shard when extra has no --threads                       (default: 1)
#   gpus         number of GPUs on this machine; each shard declares resources gpu=1 and gets
#                --device cuda:N for a free N in 0..gpus-1             (default: unset, CPU only)
#   workdir_tmp  folder for the shards, logs and the indexed input copy  (default: OUT.shards)
#
# Gather: `strand score -r` (like `bcftools view -r`) returns every record that OVERLAPS the
# region, so a deletion or a symbolic <DEL> (INFO/END) that starts in one region and reaches into
# the next would be written by both shards. In 'regions' mode each shard's output is therefore
# filtered to the records whose POS lies inside its region (`bcftools view -t REGION
# --targets-overlap pos`, i.e. bcftools' `-t` start-position semantics). As the regions may not
# overlap, each record lands in exactly one shard, and concatenating the shards in the input's
# contig order and by start gives exactly the records of one `strand score` run, in the same
# order. (`bcftools concat -a -D` is not used: it would also merge genuine duplicate records of
# the input.) Records whose POS is in no region are not scored, as with -R. In 'contigs' mode a
# shard is a whole contig and needs no filter.

import os
import re
import shlex
import shutil
import subprocess


def _cfg(key, default=None):
    v = config.get(key, default)
    return default if v is None or (isinstance(v, str) and v.strip() == "") else v


for _key in ("vcf", "ref", "out"):
    if _cfg(_key) is None:
        raise WorkflowError(f"score.smk: config key '{_key}' is required "
                            f"(--config vcf=IN.vcf.gz ref=REF.fa out=OUT.vcf.gz)")

VCF = str(config["vcf"])
REF = str(config["ref"])
OUT = str(config["out"])
MODEL = _cfg("model")
SCATTER = str(_cfg("scatter", "contigs"))
STRAND = str(_cfg("strand", "strand"))
EXTRA = str(_cfg("extra", ""))
GPUS = int(_cfg("gpus", 0))
TMP = str(_cfg("workdir_tmp", OUT + ".shards")).rstrip("/")

if OUT.endswith(".vcf.gz"):
    OUT_TYPE = "z"
elif OUT.endswith(".bcf"):
    OUT_TYPE = "b"
else:
    raise WorkflowError(f"score.smk: out must end in .vcf.gz or .bcf (it is indexed): {OUT}")
if GPUS < 0:
    raise WorkflowError("score.smk: gpus must be a number of GPUs (0 or unset: CPU)")
if GPUS and re.search(r"(^|\s)--device(\s|=|$)", EXTRA):
    raise WorkflowError("score.smk: with gpus set the workflow picks --device; remove it from extra")
if SCATTER != "contigs" and not os.path.isfile(SCATTER):
    raise WorkflowError(f"score.smk: scatter is neither 'contigs' nor a readable regions file: {SCATTER}")

# strand refuses a repeated --threads: take it from extra when given there (0 = all cores)
_m = re.search(r"(?:^|\s)--threads(?:=|\s+)(\d+)", EXTRA)
if _m:
    SHARD_THREADS = int(_m.group(1)) or workflow.cores
else:
    SHARD_THREADS = int(_cfg("threads", 1))
THREADS_FROM_EXTRA = _m is not None

# The input as the shards read it: the original when it has an index, else an indexed copy.
_index = next((VCF + s for s in (".csi", ".tbi") if os.path.exists(VCF + s)), None)
if _index:
    SRC, SRC_INDEX = VCF, _index
else:
    SRC = f"{TMP}/input" + (".bcf" if VCF.endswith(".bcf") else ".vcf.gz")
    SRC_INDEX = SRC + ".csi"

q = shlex.quote
STRAND_BASE = " ".join(
    [q(STRAND), "score", "-f", q(REF)]
    + (["-m", q(str(MODEL))] if MODEL is not None else [])
    + ([EXTRA] if EXTRA else [])
)

wildcard_constraints:
    i=r"\d+",

localrules: all, scatter, gather


rule all:
    input:
        OUT,
        OUT + ".csi",


if not _index:
    localrules: index_input

    rule index_input:
        """Copy the unindexed input (bgzip a plain VCF) and index the copy."""
        input:
            VCF,
        output:
            vcf=SRC,
            idx=SRC_INDEX,
        shell:
            """
            case {input:q} in
              *.gz|*.bgz|*.bcf) cp {input:q} {output.vcf:q} ;;
              *) bcftools view --no-version -O z -o {output.vcf:q} {input:q} ;;
            esac
            bcftools index -f -c {output.vcf:q}
            """


def contig_order(path):
    """Contigs with records, in the order their records appear in the file."""
    stats = subprocess.run(["bcftools", "index", "-s", path], check=True,
                           capture_output=True, text=True).stdout
    names = [line.split("\t")[0] for line in stats.splitlines() if line]
    if path.endswith(".bcf"):
        # A BCF index lists contigs in header order, which may differ from the file order:
        # read the CHROM column once (cheap next to scoring).
        seen = subprocess.run(f"bcftools query -f '%CHROM\\n' {q(path)} | uniq",
                              shell=True, check=True, capture_output=True, text=True).stdout
        names = seen.split()
    return names


def parse_regions(path, contigs):
    """[(contig, beg, end or None, line number)], 1-based inclusive; end None = contig end."""
    out = []
    with open(path) as fh:
        for n, line in enumerate(fh, 1):
            s = line.strip()
            if not s or s.startswith(("#", "track ", "browser ")):
                continue
            f = s.split()
            try:
                if len(f) >= 3:                      # BED: 0-based start, exclusive end
                    chrom, beg, end = f[0], int(f[1]) + 1, int(f[2])
                elif len(f) == 1:                    # chr, chr:beg-, chr:beg-end (1-based)
                    # 'chr:beg' alone is refused: bcftools reads it as one position,
                    # strand/samtools as beg to the contig end
                    m = re.fullmatch(r"(.+?)(?::([\d,]+)-([\d,]*))?", f[0])
                    chrom = m.group(1)
                    if chrom not in contigs and re.fullmatch(r".+:[\d,]+", chrom):
                        raise ValueError
                    beg = int(m.group(2).replace(",", "")) if m.group(2) else 1
                    end = int(m.group(3).replace(",", "")) if m.group(3) else None
                else:
                    raise ValueError
            except (ValueError, AttributeError):
                raise WorkflowError(f"score.smk: {path}:{n}: not a region "
                                    f"(chr, chr:beg-end, chr:beg- or BED 'chr beg end'): {s}")
            if beg < 1 or (end is not None and end < beg):
                raise WorkflowError(f"score.smk: {path}:{n}: empty or negative region: {s}")
            out.append((chrom, beg, end, n))
    return out


checkpoint scatter:
    """Write the shard table: shard id, region for strand -r, POS filter ('.' = none)."""
    input:
        vcf=SRC,
        idx=SRC_INDEX,
        regions=[] if SCATTER == "contigs" else [SCATTER],
    output:
        f"{TMP}/shards.tsv",
    run:
        contigs = contig_order(input.vcf)
        rank = {c: i for i, c in enumerate(contigs)}
        rows = []
        if SCATTER == "contigs":
            rows = [(c, ".") for c in contigs]
        else:
            regions = parse_regions(SCATTER, rank)
            dropped = [r for r in regions if r[0] not in rank]
            if dropped:
                print(f"score.smk: {len(dropped)} region(s) on contigs without records skipped "
                      f"(first: line {dropped[0][3]}, {dropped[0][0]})")
            regions = sorted((r for r in regions if r[0] in rank),
                             key=lambda r: (rank[r[0]], r[1]))
            for a, b in zip(regions, regions[1:]):
                if a[0] == b[0] and (a[2] is None or b[1] <= a[2]):
                    raise WorkflowError(f"score.smk: {SCATTER}: regions of lines {a[3]} and {b[3]} "
                                        f"overlap on {a[0]}; a record in both would be scored twice")
            for chrom, beg, end, _ in regions:
                # 'chr' and 'chr:beg-' mean the same to strand -r and bcftools -t
                if end is None:
                    reg = chrom if beg == 1 else f"{chrom}:{beg}-"
                else:
                    reg = f"{chrom}:{beg}-{end}"
                rows.append((reg, reg))
        if not rows:
            rows = [("", ".")]   # no records at all: one shard over the whole (empty) input
        with open(output[0], "w") as fh:
            for i, (reg, filt) in enumerate(rows):
                fh.write(f"{i:05d}\t{reg or '.'}\t{filt}\n")


_shard_table = {}


def shard_table():
    """{shard id: (region for -r or '.', POS filter or '.')}, read once per scatter output."""
    path = checkpoints.scatter.get().output[0]
    key = (path, os.stat(path).st_mtime_ns)
    if key not in _shard_table:
        with open(path) as fh:
            rows = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
        _shard_table.clear()
        _shard_table[key] = {i: (reg, filt) for i, reg, filt in rows}
    return _shard_table[key]


def shard_row(wildcards):
    return shard_table()[wildcards.i]


def strand_command(wildcards, threads):
    reg, _ = shard_row(wildcards)
    return (STRAND_BASE + ("" if THREADS_FROM_EXTRA else f" --threads {threads}")
            + ("" if reg == "." else " -r " + q(reg)))


def pos_filter(wildcards):
    return shard_row(wildcards)[1]


# GPU slots: one lock folder per GPU; a shard takes the first free one and frees it on exit.
GPU_PRELUDE = "DEVICE=\n" if not GPUS else f"""
slots={q(TMP)}/gpu_slots; slot=; mkdir -p "$slots"
while [ -z "$slot" ]; do
  for g in $(seq 0 {GPUS - 1}); do
    if mkdir "$slots/$g" 2>/dev/null; then slot=$g; break; fi
  done
  [ -n "$slot" ] || sleep 1
done
trap 'rmdir "$slots/$slot"' EXIT
DEVICE="--device cuda:$slot"
"""


onstart:
    if GPUS:   # a killed earlier run may have left slots taken
        shutil.rmtree(f"{TMP}/gpu_slots", ignore_errors=True)
        os.makedirs(f"{TMP}/gpu_slots", exist_ok=True)


rule score_shard:
    """Score one shard; in regions mode keep only the records that START in the region."""
    input:
        vcf=SRC,
        idx=SRC_INDEX,
        ref=REF,
        shards=f"{TMP}/shards.tsv",
    output:
        temp(f"{TMP}/shard_{{i}}.bcf"),
    log:
        f"{TMP}/logs/shard_{{i}}.log",
    params:
        strand=strand_command,
        pos=pos_filter,
    threads: SHARD_THREADS
    resources:
        gpu=1 if GPUS else 0,
    shell:
        GPU_PRELUDE + """
        if [ {params.pos:q} = . ]; then
          {params.strand} $DEVICE -O b -o {output:q} {input.vcf:q} 2> {log:q}
        else
          {params.strand} $DEVICE -O u -o - {input.vcf:q} 2> {log:q} |
            bcftools view --no-version -t {params.pos:q} --targets-overlap pos -O b -o {output:q}
        fi
        """


def shard_files(wildcards):
    return [f"{TMP}/shard_{i}.bcf" for i in sorted(shard_table())]


rule gather:
    """Concatenate the shards in shard-table order and index the result."""
    input:
        shard_files,
    output:
        out=OUT,
        idx=OUT + ".csi",
    params:
        # changing model/extra/strand changes this, so Snakemake reruns the (temp) shards too
        scored_with=STRAND_BASE,
    threads: 4
    run:
        lst = f"{TMP}/concat.list"
        with open(lst, "w") as fh:
            fh.writelines(f + "\n" for f in input)
        shell("bcftools concat --threads {threads} -O {OUT_TYPE} -o {output.out:q} -f {lst:q}")
        shell("bcftools index -f -c --threads {threads} {output.out:q}")
