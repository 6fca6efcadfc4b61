#!/usr/bin/env bash
# Installs strand's build dependencies on Debian 12 (bookworm) and builds strand into build/.
#   scripts/setup.sh            Release build, with CUDA when nvcc is present (sm_90)
#   BUILD_DIR=... CMAKE_ARGS="-DSTRAND_CUDA=OFF" scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  libhts-dev libeigen3-dev libtbb-dev libcli11-dev nlohmann-json3-dev libbigwig-dev zlib1g-dev
  libgtest-dev libgmock-dev
  clang-14 libclang-rt-14-dev         # libFuzzer targets (tests/fuzz)
  samtools bcftools tabix genometools # used by tests to cross-check our outputs
  snakemake                           # pipelines/workflows (score.smk) and its test
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "[M::setup] installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The CUDA toolkit is not a Debian package here: use it when it is installed.
if [ -z "${CUDACXX:-}" ] && ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export CUDACXX=/usr/local/cuda/bin/nvcc
fi

build_dir=${BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-}
cmake --build "$build_dir" -j"$(nproc)"
echo "[M::setup] built $build_dir/apps/strand" >&2
