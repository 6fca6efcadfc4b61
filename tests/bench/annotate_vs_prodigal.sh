#!/usr/bin/env bash
# strand annotate and Prodigal on the same genomes and machine, each scored against the genome's
# reference annotation by stop codon (compare_gene_calls.py), with wall time and peak memory.
#
#   tests/bench/annotate_vs_prodigal.sh GENOMES.tsv OUTDIR [strand annotate options...]
#
# GENOMES.tsv: one genome per line, tab-separated: name, FASTA (plain or .gz), reference
# annotation (GFF3 or GenBank, plain or .gz), and optionally the reference contigs to score
# (comma-separated, e.g. contigs held out of training). Lines starting with # are skipped.
# Environment: STRAND (default: strand), PRODIGAL (default: prodigal), ROUNDS (default: 1; the
# tools alternate within each round). Writes OUTDIR/results.tsv (one line per genome, tool and
# round) and keeps the gene calls in OUTDIR. Example (the runs of tests/bench/README.md):
#   STRAND="gpu/run strand" tests/bench/annotate_vs_prodigal.sh genomes.tsv out --device cuda
set -euo pipefail

if [[ $# -lt 2 ]]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 1
fi
genomes=$1 outdir=$2
shift 2
strand=${STRAND:-strand} prodigal=${PRODIGAL:-prodigal} rounds=${ROUNDS:-1}
here=$(cd "$(dirname "$0")" && pwd)
[[ -r $genomes ]] || { echo "annotate_vs_prodigal: cannot read $genomes" >&2; exit 1; }
mkdir -p "$outdir"
results=$outdir/results.tsv
printf 'genome\ttool\tround\treference\tpredicted\tmatched\tsensitivity\tprecision\tf1\twall_s\tpeak_rss_kb\n' > "$results.tmp"

# score NAME TOOL ROUND REFERENCE CONTIGS CALLS TIMEFILE: one line of results.
score() {
  local contigs=()
  [[ -n $5 ]] && contigs=(--contigs "$5")
  local line
  line=$(python3 "$here/compare_gene_calls.py" "$4" "$6" "${contigs[@]}" | tail -1 | cut -f2-)
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$line" "$(cat "$7")" >> "$results.tmp"
}

for ((round = 1; round <= rounds; ++round)); do
  while IFS=$'\t' read -r name fasta reference contigs; do
    [[ -z $name || $name == \#* ]] && continue
    base=$outdir/$name
    # strand reads .gz itself; Prodigal needs plain FASTA.
    /usr/bin/time -f '%e\t%M' -o "$base.strand.time" $strand annotate "$fasta" -o "$base.strand.gff3" "$@" 2> "$base.strand.log" ||
      { echo "annotate_vs_prodigal: strand failed on $name (see $base.strand.log)" >&2; exit 1; }
    score "$name" strand "$round" "$reference" "${contigs:-}" "$base.strand.gff3" "$base.strand.time"
    if [[ $fasta == *.gz ]]; then gzip -dc "$fasta" > "$base.fa"; else cp "$fasta" "$base.fa"; fi
    /usr/bin/time -f '%e\t%M' -o "$base.prodigal.time" $prodigal -q -i "$base.fa" -f gff -o "$base.prodigal.gff" ||
      { echo "annotate_vs_prodigal: prodigal failed on $name" >&2; exit 1; }
    rm -f "$base.fa"
    score "$name" prodigal "$round" "$reference" "${contigs:-}" "$base.prodigal.gff" "$base.prodigal.time"
  done < "$genomes"
done
mv "$results.tmp" "$results"
column -t -s $'\t' "$results"
