// linear on the CPU: strand's own dot-product kernel (gemm_kernel.h: why not Eigen, and the
// fixed summation order that makes every y[i, j] independent of the rows computed with it),
// compiled for the baseline ISA here and for AVX2 + FMA and AVX-512 in gemm_avx2.cpp and
// gemm_avx512.cpp; the CPU decides at run time. AVX2 and AVX-512 give identical bits (the same
// fused multiply-adds lane by lane); the baseline differs from them in rounding only.
//
// The output is cut into tiles run in parallel with TBB. Since an element's value does not
// depend on its tile, the tiling may depend on anything (the shapes; for a decoding step's few
// rows, the thread count too): results are bitwise identical across thread counts, batch sizes
// and tilings of a long record.
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/gemm_kernel.h"
#include "kernels/cpu/parallel.h"

namespace strand::kernels::cpu {

// gemm_avx2.cpp, gemm_avx512.cpp
void gemm_tile_avx2(const LinearParams& p, int64_t r0, int64_t r1, int64_t c0, int64_t c1);
void gemm_tile_avx512(const LinearParams& p, int64_t r0, int64_t r1, int64_t c0, int64_t c1);

namespace {

using GemmTileFn = void (*)(const LinearParams&, int64_t, int64_t, int64_t, int64_t);

void gemm_tile_baseline(const LinearParams& p, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  gemm_tile(p, r0, r1, c0, c1);
}

GemmTileFn pick(Simd simd) {
  static const bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  static const bool has_avx512 = __builtin_cpu_supports("avx512f");
  if (simd == Simd::kBaseline) return gemm_tile_baseline;
  if (has_avx512 && simd == Simd::kAuto) return gemm_tile_avx512;
  return has_avx2 ? gemm_tile_avx2 : gemm_tile_baseline;
}

// A tile: up to kTileRows x kTileCols outputs. Tasks of at least kMinTaskMacs multiply-adds
// (smaller problems run inline: a decoding step's projections take microseconds, and waking
// threads would cost more than they save).
constexpr int64_t kTileRows = 64;
constexpr int64_t kTileCols = 64;
constexpr int64_t kMinTaskMacs = int64_t{1} << 17;
// Fewer rows than this are a decoding step (one row per sequence, a few sequences): its tasks
// split the columns, each at least kMinRowTaskMacs multiply-adds (128 KB of w) and a multiple
// of kRowTileCols columns (gemm_kernel.h's row blocks).
constexpr int64_t kDecodeRows = 4;
constexpr int64_t kMinRowTaskMacs = int64_t{1} << 15;
constexpr int64_t kRowTileCols = 16;

}  // namespace

// x [M, K], w [N, K], y [M, N]
void linear(const LinearParams& p, Simd simd) {
  check(p);
  check_unsplit(p);
  const int64_t m = p.x.rows, n = p.w.rows, k = p.x.cols;
  if (m == 0 || n == 0) return;
  const GemmTileFn tile_fn = pick(simd);
  const int64_t macs = m * n * std::max<int64_t>(k, 1);
  if (m < kDecodeRows) {
    // Bound by streaming w from L3: the columns are split across the arena's threads, one task
    // each, as soon as that is worth a task (the fork-join costs about a microsecond).
    const int64_t tasks = std::clamp<int64_t>(macs / kMinRowTaskMacs, 1, arena_threads());
    const int64_t col_tile = (n / tasks + kRowTileCols - 1) / kRowTileCols * kRowTileCols;
    for_each_block(n, std::max<int64_t>(col_tile, 1), [&](int64_t c0, int64_t c1) { tile_fn(p, 0, m, c0, c1); });
    return;
  }
  if (macs < 2 * kMinTaskMacs) {
    tile_fn(p, 0, m, 0, n);
    return;
  }
  // Each task takes kTileRows rows and all columns when the rows alone give enough tasks; with
  // few rows (a decoding step) the columns are split, each task keeping >= kMinTaskMacs.
  const int64_t row_tiles = (m + kTileRows - 1) / kTileRows;
  const int64_t tile_rows = std::min(m, kTileRows);
  const int64_t col_tile =
      row_tiles >= 8 ? n : std::max(kTileCols, kMinTaskMacs / (tile_rows * std::max<int64_t>(k, 1)));
  const int64_t col_tiles = (n + col_tile - 1) / col_tile;
  for_each_index(row_tiles * col_tiles, [&](int64_t task) {
    const int64_t rt = task / col_tiles, ct = task % col_tiles;
    tile_fn(p, rt * kTileRows, std::min(m, (rt + 1) * kTileRows), ct * col_tile, std::min(n, (ct + 1) * col_tile));
  });
}

}  // namespace strand::kernels::cpu
