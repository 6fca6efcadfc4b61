#!/usr/bin/env bash
# Build mamba_ssm's CUDA selective-scan forward (fp32 and bf16 inputs, real fp32 weights) for sm_90
# into a shared library that caduceus_reference.py loads with ctypes. Run on the GPU machine from
# the repository root, after stage_mamba_sources.sh has put the sources into SRC:
#
#   tests/bench/reference/build_mamba_scan.sh [SRC [OUT]]
#       SRC  staged mamba csrc/selective_scan files  (default gpu/reference/mamba_csrc)
#       OUT  build folder (default build-reference/mamba_scan: git-ignored like every /build*/, and
#            outside gpu/, so a later call that carries gpu/ again keeps the library)
#   -> OUT/libstrand_mamba_scan.so, logs OUT/*.log
#
# Skips the build when OUT already holds a library built from the same inputs (FORCE=1 rebuilds).
# Environment: PYTHON (default python3, the one with PyTorch: only its headers are used),
# NVCC (default $CUDA_HOME/bin/nvcc, nvcc on PATH, /usr/local/cuda/bin/nvcc),
# GENCODE (default "-gencode arch=compute_90,code=sm_90"), SCAN_TYPES (default "f32 bf16").
#
# Flags as mamba's setup.py builds selective_scan_cuda (-O3, --use_fast_math, the -U__CUDA_NO_*
# switches, relaxed constexpr / extended lambdas, -lineinfo), one architecture, and only the
# selective_scan_fwd_cuda<input_t, float> instantiations. No torch library is linked: the kernel
# header's C10_CUDA_CHECK / C10_CUDA_KERNEL_LAUNCH_CHECK come from a small shim (written into OUT)
# that throws std::runtime_error, which the binding turns into an error message. The CUDA
# runtime is linked statically with its symbols kept private, so it cannot clash with PyTorch's.
set -euo pipefail

t_start=$(date +%s)
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-gpu/reference/mamba_csrc}
out=${2:-build-reference/mamba_scan}
python=${PYTHON:-python3}
gencode=${GENCODE:-"-gencode arch=compute_90,code=sm_90"}
scan_types=${SCAN_TYPES:-"f32 bf16"}

die() {
  echo "build_mamba_scan: error: $*" >&2
  exit 1
}

# ---- inputs -------------------------------------------------------------------------------
for f in selective_scan.h selective_scan_common.h selective_scan_fwd_kernel.cuh static_switch.h; do
  [ -f "$src/$f" ] ||
    die "missing $src/$f (run tests/bench/reference/stage_mamba_sources.sh $src on the dev machine and carry it)"
done
binding=$here/mamba_scan_binding.cu
[ -f "$binding" ] || die "missing $binding"
commit=$(cat "$src/COMMIT" 2>/dev/null || echo unknown)

nvcc=${NVCC:-}
if [ -z "$nvcc" ]; then
  if [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ]; then
    nvcc=$CUDA_HOME/bin/nvcc
  elif command -v nvcc > /dev/null 2>&1; then
    nvcc=$(command -v nvcc)
  elif [ -x /usr/local/cuda/bin/nvcc ]; then
    nvcc=/usr/local/cuda/bin/nvcc
  else
    die "nvcc not found (set NVCC or CUDA_HOME)"
  fi
fi
"$nvcc" --version > /dev/null 2>&1 || die "$nvcc does not run"
nvcc_version=$("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')

torch_info=$("$python" - <<'PY' 2> /dev/null
import os, torch
inc = os.path.join(os.path.dirname(torch.__file__), "include")
print(inc)
print(int(getattr(torch._C, "_GLIBCXX_USE_CXX11_ABI", 1)))
print(torch.__version__, torch.version.cuda)
PY
) || die "'$python' cannot import torch (set PYTHON to the interpreter that has PyTorch)"
torch_inc=$(sed -n 1p <<< "$torch_info")
cxx11_abi=$(sed -n 2p <<< "$torch_info")
torch_version=$(sed -n 3p <<< "$torch_info")
[ -f "$torch_inc/c10/util/BFloat16.h" ] || die "PyTorch headers not found under $torch_inc"

echo "build_mamba_scan: mamba@$commit, nvcc $nvcc_version ($nvcc), torch $torch_version headers $torch_inc"
echo "build_mamba_scan: $gencode, input types: $scan_types"

mkdir -p "$out/shim/c10/cuda"
out=$(cd "$out" && pwd)

# ---- the error-check shim for <c10/cuda/CUDAException.h> ----------------------------------
cat > "$out/shim/c10/cuda/CUDAException.h" <<'EOF'
// Written by tests/bench/reference/build_mamba_scan.sh: the two macros that mamba's
// selective_scan_fwd_kernel.cuh uses, without linking libc10_cuda.
#pragma once
#include <cuda_runtime.h>
#include <stdexcept>
#include <string>
#define C10_CUDA_CHECK(EXPR)                                                              \
  do {                                                                                    \
    const cudaError_t strand_err_ = (EXPR);                                               \
    if (strand_err_ != cudaSuccess)                                                       \
      throw std::runtime_error(std::string("CUDA error: ") +                              \
                               cudaGetErrorString(strand_err_) + " (" + __FILE__ + ":" + \
                               std::to_string(__LINE__) + ")");                           \
  } while (0)
#define C10_CUDA_KERNEL_LAUNCH_CHECK() C10_CUDA_CHECK(cudaGetLastError())
EOF

# shellcheck disable=SC2206
gencode_flags=($gencode)
common=(
  -O3
  -U__CUDA_NO_HALF_OPERATORS__ -U__CUDA_NO_HALF_CONVERSIONS__
  -U__CUDA_NO_BFLOAT16_OPERATORS__ -U__CUDA_NO_BFLOAT16_CONVERSIONS__
  -U__CUDA_NO_BFLOAT162_OPERATORS__ -U__CUDA_NO_BFLOAT162_CONVERSIONS__
  --expt-relaxed-constexpr --expt-extended-lambda --use_fast_math -lineinfo
  "${gencode_flags[@]}"
  -Xcompiler -fPIC -Xcompiler -fvisibility=hidden
  "-D_GLIBCXX_USE_CXX11_ABI=$cxx11_abi"
  "-DSTRAND_MAMBA_COMMIT=\"$commit\"" "-DSTRAND_GENCODE=\"$gencode\""
  -I"$out/shim" -I"$src" -I"$torch_inc"
)

# ---- C++ standard: mamba's c++17, or c++20 where these torch headers demand it ----------------
probe=$out/std_probe.cu
printf '#include <%s>\n' c10/util/BFloat16.h c10/util/Half.h c10/util/complex.h > "$probe"
echo 'int main() { return 0; }' >> "$probe"
std=""
for s in c++17 c++20; do
  if "$nvcc" -std=$s "${common[@]}" -c "$probe" -o "$out/std_probe.o" > "$out/std_probe_$s.log" 2>&1; then
    std=$s
    break
  fi
done
[ -n "$std" ] ||
  die "the torch headers do not compile with $nvcc (see $out/std_probe_c++17.log, $out/std_probe_c++20.log)"
echo "build_mamba_scan: -std=$std"

# ---- up to date? (same sources, binding, flags, compiler, torch headers) ----------------------
lib=$out/libstrand_mamba_scan.so
stamp=$( (cat "$src"/*.h "$src"/*.cuh "$binding" "$0"
  echo "$std ${common[*]} $scan_types $nvcc_version $torch_version") | sha256sum | cut -d' ' -f1)
if [ -z "${FORCE:-}" ] && [ -f "$lib" ] && [ "$(cat "$out/stamp" 2> /dev/null)" = "$stamp" ]; then
  echo "build_mamba_scan: $lib is up to date (FORCE=1 rebuilds)"
  exit 0
fi
rm -f "$out/stamp"

# ---- compile the instantiations in parallel, then link ------------------------------------
objs=()
pids=()
for t in $scan_types; do
  case $t in
    f32) bf16=0 ;;
    bf16) bf16=1 ;;
    *) die "unknown scan type '$t' (f32, bf16)" ;;
  esac
  obj=$out/scan_$t.o
  log=$out/scan_$t.log
  rm -f "$obj"
  echo "build_mamba_scan: compiling $t (log $log)"
  "$nvcc" -std=$std "${common[@]}" --ptxas-options=-v -DSTRAND_SCAN_INPUT_BF16=$bf16 \
    -c "$binding" -o "$obj" > "$log" 2>&1 &
  pids+=($!)
  objs+=("$obj")
done
failed=0
i=0
for t in $scan_types; do
  if ! wait "${pids[$i]}"; then
    echo "build_mamba_scan: error: compiling $t failed; the end of $out/scan_$t.log:" >&2
    grep -v '^ptxas info' "$out/scan_$t.log" | tail -40 >&2
    failed=1
  fi
  i=$((i + 1))
done
[ $failed -eq 0 ] || exit 1
case " $scan_types " in *" f32 "*) ;; *) die "SCAN_TYPES must include f32" ;; esac

"$nvcc" -shared "${gencode_flags[@]}" -o "$lib.tmp" "${objs[@]}" \
  -Xlinker --exclude-libs,ALL -Xlinker -Bsymbolic -Xlinker --no-undefined > "$out/link.log" 2>&1 ||
  { cat "$out/link.log" >&2; die "linking $lib failed"; }
mv "$lib.tmp" "$lib"

# ---- check that it loads next to PyTorch and exports the entry points --------------------------
"$python" - "$lib" "$scan_types" <<'PY' || die "$lib does not load"
import ctypes, sys
import torch  # noqa: F401  (load PyTorch's CUDA runtime first, as the benchmark does)
lib = ctypes.CDLL(sys.argv[1])
lib.strand_mamba_scan_info.restype = ctypes.c_char_p
for t in sys.argv[2].split():
    getattr(lib, "strand_mamba_scan_fwd_" + t)
print("build_mamba_scan: loads:", lib.strand_mamba_scan_info().decode())
PY
echo "$stamp" > "$out/stamp"
echo "build_mamba_scan: built $lib ($(du -h "$lib" | cut -f1)) in $(($(date +%s) - t_start)) s"
