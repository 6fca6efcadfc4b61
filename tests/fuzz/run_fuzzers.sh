#!/usr/bin/env bash
# Runs every libFuzzer target of a -DSTRAND_FUZZ=ON build for SECONDS each, starting from its
# seed corpus in data/fuzz/<target>/ (copied to a temporary directory, so that the repository
# is not modified). Exits non-zero if any target finds a crash, a sanitizer report, a leak, a
# timeout (-timeout=10 s per input) or an out-of-memory (2 GB); crash inputs are kept and named.
#   usage: tests/fuzz/run_fuzzers.sh BUILD_DIR SECONDS_PER_TARGET
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS_PER_TARGET" >&2
  exit 2
fi
build_dir=$1
seconds=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
targets="fuzz_region fuzz_gff3 fuzz_genbank fuzz_safetensors fuzz_model_config"

work=$(mktemp -d "${TMPDIR:-/tmp}/strand-fuzz.XXXXXX") || exit 2
failed=""
for t in $targets; do
  exe="$build_dir/tests/fuzz/$t"
  if [ ! -x "$exe" ]; then
    echo "[run_fuzzers] missing $exe (configure with -DSTRAND_FUZZ=ON and build it)" >&2
    failed="$failed $t"
    continue
  fi
  corpus="$work/$t/corpus"
  artifacts="$work/$t/artifacts"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "$root/data/fuzz/$t" ]; then cp -r "$root/data/fuzz/$t/." "$corpus/"; fi
  echo "[run_fuzzers] $t for ${seconds}s (corpus $(ls "$corpus" | wc -l) files)" >&2
  "$exe" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$work/$t/log" 2>&1
  rc=$?
  tail -n 12 "$work/$t/log" >&2
  if [ $rc -ne 0 ] || [ -n "$(ls -A "$artifacts")" ]; then
    echo "[run_fuzzers] $t FAILED (exit $rc); log and inputs kept in $work/$t" >&2
    failed="$failed $t"
  fi
done

if [ -n "$failed" ]; then
  echo "[run_fuzzers] failures:$failed" >&2
  exit 1
fi
rm -rf "$work"
echo "[run_fuzzers] all targets passed" >&2
