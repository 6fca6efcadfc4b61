#!/usr/bin/env bash
# Copy the mamba_ssm CUDA sources that the reference's selective-scan forward needs out of a
# fetched snapshot of github.com/state-spaces/mamba (a bare git directory) into DEST.
#
#   tests/bench/reference/stage_mamba_sources.sh gpu/reference/mamba_csrc
#
# MAMBA_GIT_DIR   the snapshot's git directory (default: /work/.mirror/state-spaces+mamba/repo)
# MAMBA_COMMIT    the commit to copy from (default: HEAD of the snapshot)
#
# Copies only csrc/selective_scan/{selective_scan.h, selective_scan_common.h,
# selective_scan_fwd_kernel.cuh, static_switch.h} (what selective_scan_fwd_kernel.cuh includes),
# the two forward instantiation files for reference, and LICENSE; writes COMMIT. DEST is meant to
# be git-ignored (gpu/): nothing copied here is committed.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DEST" >&2
  exit 2
fi
dest=$1
git_dir=${MAMBA_GIT_DIR:-/work/.mirror/state-spaces+mamba/repo}
rev=${MAMBA_COMMIT:-HEAD}

if ! commit=$(git --git-dir="$git_dir" rev-parse --verify "$rev^{commit}" 2>/dev/null); then
  echo "error: no mamba snapshot at $git_dir (revision $rev); fetch github:state-spaces/mamba first" >&2
  exit 1
fi

files=(
  csrc/selective_scan/selective_scan.h
  csrc/selective_scan/selective_scan_common.h
  csrc/selective_scan/selective_scan_fwd_kernel.cuh
  csrc/selective_scan/static_switch.h
  csrc/selective_scan/selective_scan_fwd_fp32.cu
  csrc/selective_scan/selective_scan_fwd_bf16.cu
  LICENSE
)

mkdir -p "$dest"
for f in "${files[@]}"; do
  git --git-dir="$git_dir" show "$commit:$f" > "$dest/$(basename "$f")"
done
echo "$commit" > "$dest/COMMIT"
echo "staged mamba_ssm selective-scan sources from state-spaces/mamba@$commit into $dest:"
ls -l "$dest"
du -sh "$dest"
