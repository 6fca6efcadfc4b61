// selective_scan on the CPU: TBB over (sequence, block of kScanBlock channels), each task
// running the whole recurrence of its block (scan_kernel.h), the fused dt_proj included. No two
// tasks share anything, so results are independent of the thread count, and bitwise independent
// of tiling (the state is carried in fp32 exactly). The kernel is compiled for the baseline ISA
// here and for AVX2 + FMA in scan_avx2.cpp; the CPU decides at run time. The two differ only in
// rounding (FMA), both well within the 1e-6 of the reference that the tests require.
// A one-position call with the state carried (a decoding step) takes scan_step_block instead:
// the same arithmetic on the state where it lies, no scratch, tasks of kStepChannels channels;
// its AVX-512 copy (scan_avx512.cpp) gives the AVX2 kernel's bits.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scan_kernel.h"

namespace strand::kernels::cpu {

// scan_avx2.cpp, scan_avx512.cpp
void scan_block_avx2(const ScanParams& p, int64_t s, int64_t d0, int64_t width, float* a_t, float* h, float* w_t);
void scan_step_avx2(const ScanParams& p, int64_t s, int64_t d0, int64_t width);
void scan_step_avx512(const ScanParams& p, int64_t s, int64_t d0, int64_t width);

namespace {

using ScanBlockFn = void (*)(const ScanParams&, int64_t, int64_t, int64_t, float*, float*, float*);

void scan_block_baseline(const ScanParams& p, int64_t s, int64_t d0, int64_t width, float* a_t, float* h, float* w_t) {
  scan_block(p, s, d0, width, a_t, h, w_t);
}

using ScanStepFn = void (*)(const ScanParams&, int64_t, int64_t, int64_t);

void scan_step_baseline(const ScanParams& p, int64_t s, int64_t d0, int64_t width) {
  scan_step_block(p, s, d0, width);
}

bool use_avx2(Simd simd) {
  static const bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return simd != Simd::kBaseline && has_avx2;
}

// Channels per task of a one-position call: a decoding step's whole scan is a few microseconds,
// so it is split only as far as two threads can share it.
constexpr int64_t kStepChannels = 8 * kScanBlock;

// seq_len 1 with the state carried (a decoding step): scan_step_block, in place, no scratch.
void scan_step(const ScanParams& p, Simd simd) {
  static const bool has_avx512 = __builtin_cpu_supports("avx512f");
  const ScanStepFn step_fn = !use_avx2(simd)                       ? scan_step_baseline
                             : has_avx512 && simd == Simd::kAuto ? scan_step_avx512
                                                                 : scan_step_avx2;
  const int64_t dim = p.u.cols, seqs = p.u.rows;
  const int64_t groups = (dim + kStepChannels - 1) / kStepChannels;
  for_each_index(seqs * groups, [&](int64_t task) {
    const int64_t s = task / groups, g0 = (task % groups) * kStepChannels;
    const int64_t g1 = std::min(dim, g0 + kStepChannels);
    for (int64_t d0 = g0; d0 < g1; d0 += kScanBlock) step_fn(p, s, d0, std::min(kScanBlock, g1 - d0));
  });
}

}  // namespace

// u, delta, z, y [S * L, D]; dt_in [S * L, R]; dt_w [D, R]; A [D, N]; B, C [S * L, N]; h [S, D, N]
void selective_scan(const ScanParams& p, Simd simd) {
  check(p);
  check_unsplit(p);
  const int64_t dim = p.u.cols, nstate = p.A.cols, rank = scan_rank(p);
  if (p.u.rows == 0 || dim == 0) return;
  if (p.seq_len == 1 && p.h_out) {
    scan_step(p, simd);
    return;
  }
  const ScanBlockFn block_fn = use_avx2(simd) ? scan_block_avx2 : scan_block_baseline;
  const int64_t seqs = p.u.rows / p.seq_len;
  const int64_t blocks = (dim + kScanBlock - 1) / kScanBlock;
  for_each_index(seqs * blocks, [&](int64_t task) {
    const int64_t s = task / blocks, d0 = (task % blocks) * kScanBlock;
    // A transposed, h, dt_w transposed: per task, not thread_local, since ops run concurrently
    // and TBB may start another task on this thread while one waits.
    std::vector<float> scratch((2 * nstate + rank) * kScanBlock, 0.0f);
    float* a_t = scratch.data();
    block_fn(p, s, d0, std::min(kScanBlock, dim - d0), a_t, a_t + nstate * kScanBlock, a_t + 2 * nstate * kScanBlock);
  });
}

}  // namespace strand::kernels::cpu
