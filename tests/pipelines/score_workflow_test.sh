#!/usr/bin/env bash
# score_workflow: pipelines/workflows/score.smk must give the same VCF as one `strand score` run.
#
#   score_workflow_test.sh SOURCE_DIR STRAND_EXECUTABLE
#
# Runs the workflow (snakemake --cores 2) on data/score/variants.vcf.gz (contigs q, nrun, tiny
# and absent, the last one missing from ref.fa on purpose) twice:
#   1. scatter=contigs, indexed .vcf.gz input, .vcf.gz output;
#   2. scatter=a regions file (unsorted, mixed 'chr:beg-end', 'chr', 'chr:beg-' and BED lines, one
#      region on a contig without records) whose boundaries cut through the deletion q:500 ATCT>A
#      (q:500-503) and the symbolic <DEL> q:3000 (END=3100), an unindexed copy of the input (the
#      workflow indexes a copy), .bcf output;
# and compares each output with a single `strand score` run with the same model and arguments:
# `bcftools view -H` bodies identical, headers identical except for
#   ##strandCommand=...          the shards' command lines (-r REGION, -o shard) differ
#   ##bcftools_concatVersion=... the gather's provenance lines, which a single run has not
#   ##bcftools_concatCommand=...
# Exit 77 (skip) when snakemake or bcftools is missing.
set -euo pipefail

src=${1:?usage: score_workflow_test.sh SOURCE_DIR STRAND_EXECUTABLE}
strand=${2:?usage: score_workflow_test.sh SOURCE_DIR STRAND_EXECUTABLE}
src=$(cd "$src" && pwd)
strand=$(cd "$(dirname "$strand")" && pwd)/$(basename "$strand")

for tool in snakemake bcftools; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not found" >&2
    exit 77
  fi
done

workflow=$src/pipelines/workflows/score.smk
vcf=$src/data/score/variants.vcf.gz
ref=$src/data/score/ref.fa
model=$src/data/golden/ps
extra='--window 64 --threads 1'
for f in "$strand" "$workflow" "$vcf" "$vcf.csi" "$ref" "$ref.fai" "$model/config.json"; do
  [ -e "$f" ] || { echo "FAIL: missing $f" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/score_workflow.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
export XDG_CACHE_HOME=$tmp/cache   # snakemake's caches stay in the temp dir

fail() { echo "FAIL: $*" >&2; exit 1; }

# the reference: one plain run over the whole file ($extra unquoted on purpose: two options)
# shellcheck disable=SC2086
"$strand" score -q -f "$ref" -m "$model" $extra -O z -o single.vcf.gz "$vcf" ||
  fail "single strand score run failed"
n_single=$(bcftools view -H single.vcf.gz | wc -l)
[ "$n_single" -eq 34 ] || fail "single run has $n_single records, expected 34"

# same_as_single OUT: body identical, header identical but for the lines listed at the top
same_as_single() {
  local out=$1
  [ -s "$out.csi" ] || fail "$out: no .csi index"
  bcftools view -H single.vcf.gz > single.body
  bcftools view -H "$out" > out.body
  if ! diff single.body out.body > body.diff; then
    cat body.diff >&2
    fail "$out: records differ from the single run"
  fi
  local skip='^##(strandCommand|bcftools_concatVersion|bcftools_concatCommand)='
  bcftools view -h --no-version single.vcf.gz | grep -Ev "$skip" > single.hdr
  bcftools view -h --no-version "$out" | grep -Ev "$skip" > out.hdr
  if ! diff single.hdr out.hdr > hdr.diff; then
    cat hdr.diff >&2
    fail "$out: header differs from the single run"
  fi
  echo "ok: $out equals the single run ($(wc -l < out.body) records)"
}

run_workflow() {
  snakemake -s "$workflow" --cores 2 --quiet --config \
    vcf="$1" ref="$ref" out="$2" model="$model" strand="$strand" extra="$extra" "${@:3}" \
    > "$2.snakemake.log" 2>&1 || { cat "$2.snakemake.log" >&2; fail "snakemake for $2 failed"; }
}

# 1. one shard per contig
run_workflow "$vcf" "$tmp/contigs.vcf.gz"
same_as_single contigs.vcf.gz
[ "$(wc -l < contigs.vcf.gz.shards/shards.tsv)" -eq 4 ] || fail "contigs: expected 4 shards"

# 2. shards from a regions file whose boundaries fall inside records. Precondition: strand -r
# returns a record in every region it overlaps, so without the POS filter del4to1 (q:500-503)
# would be written by the shards q:1-501 and q:502-3050.
"$strand" score -q -f "$ref" -m "$model" --window 64 --threads 1 -r q:502-3050 "$vcf" |
  grep -q $'\tdel4to1\t' || fail "strand score -r q:502-3050 should return q:500 ATCT>A"
cat > regions.txt <<'EOF'
# unsorted on purpose; 1-based 'chr:beg-end', whole contigs, BED lines (0-based) mixed
nrun
q	3050	12356
q:502-3050
q:1-501
nothere:1-1000
tiny:1-40
absent:5-
EOF
cp "$vcf" unindexed.vcf.gz
run_workflow "$tmp/unindexed.vcf.gz" "$tmp/regions.bcf" scatter="$tmp/regions.txt"
same_as_single regions.bcf
[ "$(wc -l < regions.bcf.shards/shards.tsv)" -eq 6 ] || fail "regions: expected 6 shards"
[ -s regions.bcf.shards/input.vcf.gz.csi ] || fail "regions: the unindexed input was not indexed"

echo "PASS"
