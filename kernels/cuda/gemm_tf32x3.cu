// tf32x3 products with few output columns (x_proj: [rows, 512] -> 48), the activation split in
// registers: y = x·w^T (+ y) (+ bias) on the TF32 tensor cores (mma.sync m16n8k8),
// fp32-accurate. Each operand value v is its TF32 rounding `big` plus the remainder `small`
// (tf32.cuh), and x·w^T = x_small·w_big + x_big·w_small + x_big·w_big, the three products
// summed into one fp32 accumulator (x_small·w_small, ~2^-22 of each product, is dropped).
// gemm.cu's cuBLAS path does the same from split copies of both operands in device memory, one
// GEMM of depth 3K; for x that copy moves 16 bytes per element (read 4, write 12, then read 12
// again), more than a product with few columns costs, so those ran in plain fp32 (cuBLAS: x_proj
// at ~22 TFLOP/s, 227 us per 131,072-row call on an H100). Here x is read once, 16 bytes at a
// time by cp.async into a three-stage shared-memory pipeline, and split as each warp loads its
// fragments: 141 us per call (x_proj 0.18 -> 0.11 s per Mb). w, small, is split once per call
// into an interleaved copy. For wider products (out_proj's 256 columns, in_proj's 512) this
// kernel was slower than cuBLAS (fp32, or tf32x3 from split copies): mma.sync at 3x the tensor
// work is no match for cuBLAS's own Hopper kernels there.
//
// conv1d_silu_linear runs a variant with the mixer's depthwise conv in front (below).
//
// Tiles: a block computes 128 rows x kBN (8 kNTiles, all of N) columns of y, 32 columns of K
// per stage; each of its 8 warps 16 rows. Shared-memory rows are padded so that every fragment
// load hits 32 different banks. Every output is one thread's accumulator in a fixed order:
// deterministic.
// clang-format off
#include "kernels/cuda/cuda_ops.h"  // first: see the note on #554 there
// clang-format on
#include "kernels/cuda/conv.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/tf32.cuh"

namespace strand::kernels::cuda {
namespace {

constexpr int kBK = 32;  // K per stage
// Staged rows, padded so that the fragment loads hit every bank once: x's 8-byte loads (four
// rows per half-warp) need a row stride of 8 (mod 32) floats, w's 16-byte loads (two rows per
// quarter-warp) 16 (mod 32).
constexpr int kXRowFloats = kBK + 8;
constexpr int kWRowFloats = 2 * kBK + 16;  // big and small
constexpr int kWarps = 8;                  // along M: each warp's tile spans all of the block's columns
constexpr int kStages = 3;                 // shared-memory stages in flight
constexpr int kMaxColumns = 64;
constexpr int64_t kMinRows = 512;  // fewer rows: cuBLAS (a decoding step, a few windows)

struct Tf32x3Args {
  const float* x = nullptr;     // [M, K] (ld x_ld), 16-byte aligned rows
  const float* w = nullptr;     // [N, 2 kp]: split_weights_kernel's layout, zero past K
  const float* bias = nullptr;  // [N] or null
  float* y = nullptr;           // [M, N] (ld y_ld)
  int64_t x_ld = 0, y_ld = 0, m = 0;
  int n = 0, k = 0, kp = 0;
  bool accumulate = false;
};

__device__ __forceinline__ void copy16(float* dst, const float* src, int bytes) {
  const unsigned to = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(to), "l"(src), "r"(bytes));
}
__device__ __forceinline__ void commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int kPending>
__device__ __forceinline__ void wait_pending() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// d += a · b for one 16 x 8 x 8 TF32 tile: a (row-major 16 x 8) as a0 (g, t), a1 (g + 8, t),
// a2 (g, t + 4), a3 (g + 8, t + 4); b (8 x 8, K x N) as b0 (t, g), b1 (t + 4, g); d as
// d0 (g, 2t), d1 (g, 2t + 1), d2 (g + 8, 2t), d3 (g + 8, 2t + 1).
__device__ __forceinline__ void mma_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// y = (x·w^T (+ y)) + bias, the CPU backend's order, for one warp's accumulators: rows from r0,
// columns from c0.
template <int kMTiles, int kNTiles>
__device__ __forceinline__ void store_tile(const Tf32x3Args& a, const float (&acc)[kMTiles][kNTiles][4], int64_t r0,
                                           int c0, int g, int t) {
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
    for (int nt = 0; nt < kNTiles; ++nt) {
      const int64_t r = r0 + 16 * mt + g;
      const int c = c0 + 8 * nt + 2 * t;
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int64_t row = r + (i >= 2 ? 8 : 0);
        const int col = c + (i & 1);
        if (row >= a.m || col >= a.n) continue;
        float* const out = a.y + row * a.y_ld + col;
        float v = acc[mt][nt][i];
        if (a.accumulate) v += *out;
        if (a.bias) v += a.bias[col];
        *out = v;
      }
    }
  }
}

// v = big + small, both TF32 (tf32.cuh), as the operands' bits.
__device__ __forceinline__ void split_tf32(float v, uint32_t& big, uint32_t& small) {
  const float b = round_tf32(v);
  big = __float_as_uint(b);
  small = __float_as_uint(tf32_remainder(v, b));
}

// One stage's kBN rows of w (split_weights_kernel's layout) from column col0 of y, its K
// columns from k0; rows past N and columns past kp zero-filled.
template <int kBN, int kThreads>
__device__ __forceinline__ void stage_w(float* sw, const Tf32x3Args& a, int col0, int k0, int tid) {
  for (int f = tid; f < kBN * (2 * kBK / 4); f += kThreads) {
    const int r = f / (2 * kBK / 4), c = 4 * (f % (2 * kBK / 4));
    const int col = col0 + r;
    const bool ok = col < a.n && 2 * k0 + c < 2 * a.kp;
    copy16(sw + r * kWRowFloats + c, ok ? a.w + int64_t(col) * 2 * a.kp + 2 * k0 + c : a.w, ok ? 16 : 0);
  }
}

// acc += x·w^T over the 8 columns of K from kk of a stage: x's fragments already split (xb, xs),
// w's (both splits, interleaved) from the staged rows sw.
template <int kMTiles, int kNTiles>
__device__ __forceinline__ void mma_step(float (&acc)[kMTiles][kNTiles][4], const uint32_t (&xb)[kMTiles][4],
                                         const uint32_t (&xs)[kMTiles][4], const float* sw, int kk, int g, int t) {
#pragma unroll
  for (int nt = 0; nt < kNTiles; ++nt) {
    const float4 w4 = *reinterpret_cast<const float4*>(sw + (8 * nt + g) * kWRowFloats + 2 * kk + 4 * t);
    const uint32_t wb[2] = {__float_as_uint(w4.x), __float_as_uint(w4.y)};
    const uint32_t ws[2] = {__float_as_uint(w4.z), __float_as_uint(w4.w)};
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
      // The small products first, so that they are not lost against a large partial sum.
      mma_tf32(acc[mt][nt], xs[mt], wb);
      mma_tf32(acc[mt][nt], xb[mt], ws);
      mma_tf32(acc[mt][nt], xb[mt], wb);
    }
  }
}

template <int kMTiles, int kNTiles>
struct Tiling {
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kBM = 16 * kMTiles * kWarps;
  static constexpr int kBN = 8 * kNTiles;
  // A stage: kBM rows of x, then kBN rows of w (big and small).
  static constexpr int kStageFloats = kBM * kXRowFloats + kBN * kWRowFloats;
  static constexpr size_t kSmemBytes = sizeof(float) * kStageFloats * kStages;
};

template <int kMTiles, int kNTiles>
__global__ void __launch_bounds__(32 * kWarps) tf32x3_kernel(const Tf32x3Args a) {
  using T = Tiling<kMTiles, kNTiles>;
  extern __shared__ float4 smem4[];
  float* const smem = reinterpret_cast<float*>(smem4);
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int g = lane / 4, t = lane % 4;
  const int64_t row0 = int64_t(blockIdx.x) * T::kBM;
  const int col0 = blockIdx.y * T::kBN;
  const int k_tiles = (a.k + kBK - 1) / kBK;

  // One stage's copies (one commit group): rows past M or N and columns past K are
  // zero-filled (x's K is a multiple of 4; w's rows are zero from K to kp).
  const auto load = [&](int kt, int stage) {
    float* const s = smem + stage * T::kStageFloats;
    const int k0 = kt * kBK;
    for (int f = tid; f < T::kBM * (kBK / 4); f += T::kThreads) {
      const int r = f / (kBK / 4), c = 4 * (f % (kBK / 4));
      const int64_t row = row0 + r;
      const bool ok = row < a.m && k0 + c < a.k;
      copy16(s + r * kXRowFloats + c, ok ? a.x + row * a.x_ld + k0 + c : a.x, ok ? 16 : 0);
    }
    stage_w<T::kBN, T::kThreads>(s + T::kBM * kXRowFloats, a, col0, k0, tid);
    commit();
  };

  float acc[kMTiles][kNTiles][4] = {};
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < k_tiles)
      load(s, s);
    else
      commit();  // empty groups keep the wait counts uniform
  }
  for (int kt = 0; kt < k_tiles; ++kt) {
    wait_pending<kStages - 2>();  // this thread's copies of stage kt have landed
    __syncthreads();              // everyone's have, and stage kt - 1 is read by all
    const int next = kt + kStages - 1;
    if (next < k_tiles)
      load(next, next % kStages);
    else
      commit();
    const float* const s = smem + (kt % kStages) * T::kStageFloats;
    const float* const sx = s + warp * (16 * kMTiles) * kXRowFloats;
    const float* const sw = s + T::kBM * kXRowFloats;
    // Within each 8 columns of K, lane t takes columns 2t and 2t + 1 of x and w where the
    // fragment layouts name t and t + 4: the same products, in one 8-byte load of x and, from
    // w's interleaved layout, one 16-byte load of both splits.
#pragma unroll
    for (int kk = 0; kk < kBK; kk += 8) {
      uint32_t xb[kMTiles][4], xs[kMTiles][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        const float* p = sx + (16 * mt + g) * kXRowFloats + kk + 2 * t;
        const float2 lo = *reinterpret_cast<const float2*>(p);                    // row g
        const float2 hi = *reinterpret_cast<const float2*>(p + 8 * kXRowFloats);  // row g + 8
        const float v[4] = {lo.x, hi.x, lo.y, hi.y};
#pragma unroll
        for (int i = 0; i < 4; ++i) split_tf32(v[i], xb[mt][i], xs[mt][i]);
      }
      mma_step(acc, xb, xs, sw, kk, g, t);
    }
  }
  wait_pending<0>();
  store_tile(a, acc, row0 + warp * (16 * kMTiles), col0, g, t);
}

// ---- conv1d_silu fused in front (the mixer's conv and x_proj) -------------------------------
//
// x of the product is the conv's output y[row, c] = silu(bias[c] + sum_k w[c, k] * in(q - 3 + k))
// (conv.cuh's arithmetic, 4 taps, q the row's processing index), computed as each warp builds
// its fragments from the conv's input staged with a 3-row halo on either side, and stored to
// device memory from there: the conv's output is written once and never read back (apart, the
// conv kernel reads its input and writes its output, then this kernel reads that output again).
// Taps before a sequence's first processed position come from the carried state (or zeros),
// exactly as in conv.cu. H100, the 131k model at 131 kb in tf32x3: conv + x_proj 30.7 -> 29.7 ms
// per pass, the pass 0.150 -> 0.148 s. The kernel is issue-bound (~0.23 ms per 131,072-row call
// against ~0.18 to move its bytes: each thread computes 16 conv outputs, splits them and runs
// the products per stage); 2 stages (3 blocks per multiprocessor) were no faster, 4 slower.
constexpr int kConvTaps = 4;
constexpr int kHalo = kConvTaps - 1;

template <int kNTiles>
struct ConvTiling {
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kBM = 16 * kWarps;
  static constexpr int kRawRows = kBM + 2 * kHalo;  // rows row0 - 3 .. row0 + kBM + 2
  static constexpr int kBN = 8 * kNTiles;
  // A stage: the conv's input rows, w's rows (big and small), the conv's weights [kBK, 4] and
  // bias [kBK].
  static constexpr int kWOffset = kRawRows * kXRowFloats;
  static constexpr int kConvOffset = kWOffset + kBN * kWRowFloats;
  static constexpr int kStageFloats = kConvOffset + kBK * kConvTaps + kBK;
  static constexpr size_t kSmemBytes = sizeof(float) * kStageFloats * kStages;
};

// a.x is the conv's input (also c.x, not read here), c.y its output (8-byte aligned rows), c.w
// [K, 4] and c.bias [K] 16-byte aligned; y = conv(x)·w^T as tf32x3_kernel (one block column:
// N <= kBN).
template <int kNTiles>
__global__ void __launch_bounds__(32 * kWarps) conv_tf32x3_kernel(const Tf32x3Args a, const ConvArgs c) {
  using T = ConvTiling<kNTiles>;
  extern __shared__ float4 smem4[];
  float* const smem = reinterpret_cast<float*>(smem4);
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int g = lane / 4, t = lane % 4;
  const int64_t row0 = int64_t(blockIdx.x) * T::kBM;
  const int k_tiles = (a.k + kBK - 1) / kBK;

  // This thread's two rows (g and g + 8 of its warp): the sequence and processing index, and
  // whether a tap precedes the sequence's first processed position (then the state gives it).
  // first[h]: the first tap from the input (taps before it come from the state).
  int64_t seq[2];
  int first[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int64_t row = row0 + 16 * warp + g + 8 * h;
    seq[h] = row / c.len;
    const int64_t pos = row - seq[h] * c.len, q = c.reverse ? c.len - 1 - pos : pos;
    first[h] = row < a.m && q < kHalo ? kHalo - static_cast<int>(q) : 0;
  }

  const auto load = [&](int kt, int stage) {
    float* const s = smem + stage * T::kStageFloats;
    const int k0 = kt * kBK;
    for (int f = tid; f < T::kRawRows * (kBK / 4); f += T::kThreads) {
      const int r = f / (kBK / 4), col = 4 * (f % (kBK / 4));
      const int64_t row = row0 - kHalo + r;
      const bool ok = row >= 0 && row < a.m && k0 + col < a.k;
      copy16(s + r * kXRowFloats + col, ok ? a.x + row * a.x_ld + k0 + col : a.x, ok ? 16 : 0);
    }
    stage_w<T::kBN, T::kThreads>(s + T::kWOffset, a, 0, k0, tid);
    // The conv's weights, a float4 per channel, then its bias.
    float* const sc = s + T::kConvOffset;
    for (int f = tid; f < kBK + kBK / 4; f += T::kThreads) {
      if (f < kBK) {
        const bool ok = k0 + f < a.k;
        copy16(sc + 4 * f, ok ? c.w + int64_t(k0 + f) * kConvTaps : c.w, ok ? 16 : 0);
      } else {
        const int col = 4 * (f - kBK);
        const bool ok = c.bias && k0 + col < a.k;
        copy16(sc + kBK * kConvTaps + col, ok ? c.bias + k0 + col : c.w, ok ? 16 : 0);
      }
    }
    commit();
  };

  float acc[1][kNTiles][4] = {};
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < k_tiles)
      load(s, s);
    else
      commit();
  }
  for (int kt = 0; kt < k_tiles; ++kt) {
    wait_pending<kStages - 2>();
    __syncthreads();
    const int next = kt + kStages - 1;
    if (next < k_tiles)
      load(next, next % kStages);
    else
      commit();
    const int k0 = kt * kBK;
    const float* const s = smem + (kt % kStages) * T::kStageFloats;
    const float* const raw = s + 16 * warp * kXRowFloats;  // raw row i + 3: the warp's row i
    const float* const sw = s + T::kWOffset;
    const float* const sc = s + T::kConvOffset;
#pragma unroll
    for (int kk = 0; kk < kBK; kk += 8) {
      // Columns col and col + 1 (tf32x3_kernel's fragment order) of rows g and g + 8.
      const int col = kk + 2 * t;
      const float4 w0 = *reinterpret_cast<const float4*>(sc + 4 * col);
      const float4 w1 = *reinterpret_cast<const float4*>(sc + 4 * col + 4);
      const float2 bias = *reinterpret_cast<const float2*>(sc + kBK * kConvTaps + col);
      const float tw0[kConvTaps] = {w0.x, w0.y, w0.z, w0.w}, tw1[kConvTaps] = {w1.x, w1.y, w1.z, w1.w};
      float v[4];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int i = g + 8 * h;
        float acc0 = bias.x, acc1 = bias.y;
#pragma unroll
        for (int k = 0; k < kConvTaps; ++k) {
          // Tap k: processing index q - 3 + k, stored kHalo - k rows before the row (after it
          // in reverse).
          float2 in =
              *reinterpret_cast<const float2*>(raw + (c.reverse ? i + 2 * kHalo - k : i + k) * kXRowFloats + col);
          if (k < first[h] && k0 + col < a.k) {  // (past K: the staged zeros, never stored)
            // processing index q - 3 + k = k - first[h] < 0: conv.cu's state_in[s, c, 3 + that]
            const float* st = c.state_in + (seq[h] * a.k + k0 + col) * kHalo + kHalo + k - first[h];
            in = c.state_in ? make_float2(st[0], st[kHalo]) : make_float2(0.0f, 0.0f);
          }
          acc0 = conv_tap(acc0, tw0[k], in.x);
          acc1 = conv_tap(acc1, tw1[k], in.y);
        }
        v[h] = conv_silu(acc0);
        v[2 + h] = conv_silu(acc1);
        const int64_t row = row0 + 16 * warp + i;
        if (row < a.m && k0 + col < a.k)
          *reinterpret_cast<float2*>(c.y + row * c.y_ld + k0 + col) = make_float2(v[h], v[2 + h]);
      }
      uint32_t xb[1][4], xs[1][4];
#pragma unroll
      for (int j = 0; j < 4; ++j) split_tf32(v[j], xb[0][j], xs[0][j]);
      mma_step(acc, xb, xs, sw, kk, g, t);
    }
  }
  wait_pending<0>();
  store_tile(a, acc, row0 + 16 * warp, 0, g, t);
}

// w [N, K] (ld) -> [N, 2 kp]: per 8 columns of K, for t = 0..3, big(2t), big(2t + 1),
// small(2t), small(2t + 1) (the kernel's fragment order); zero in columns K..kp-1.
__global__ void split_weights_kernel(const float* __restrict__ w, int n, int k, int64_t ld, int kp,
                                     float* __restrict__ out) {
  const int64_t total = int64_t(n) * kp;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = i / kp;
    const int col = static_cast<int>(i - row * kp);
    const float v = col < k ? w[row * ld + col] : 0.0f;
    uint32_t big, small;
    split_tf32(v, big, small);
    float* const group = out + row * 2 * kp + 2 * (col & ~7);
    const int t = (col & 7) / 2, j = col & 1;
    group[4 * t + j] = __uint_as_float(big);
    group[4 * t + 2 + j] = __uint_as_float(small);
  }
}

template <int kMTiles, int kNTiles>
void launch(const Tf32x3Args& a, cudaStream_t stream) {
  using T = Tiling<kMTiles, kNTiles>;
  const auto kernel = tf32x3_kernel<kMTiles, kNTiles>;
  // The dynamic shared-memory limit is raised once per device and kernel; the attribute is
  // cheap to set again, so it is set at every launch (no state to keep per device).
  STRAND_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(T::kSmemBytes)));
  const int64_t blocks_m = (a.m + T::kBM - 1) / T::kBM, blocks_n = (a.n + T::kBN - 1) / T::kBN;
  STRAND_ASSERT(blocks_m <= 0x7fffffff && blocks_n <= 65535, "linear (cuda tf32x3): grid ", blocks_m, " x ", blocks_n,
                " exceeds the limits");
  // x [M, K], w [N, 2 kp] -> y [M, N]: one block per kBM x kBN tile of y.
  kernel<<<dim3(static_cast<unsigned>(blocks_m), static_cast<unsigned>(blocks_n)), T::kThreads, T::kSmemBytes,
           stream>>>(a);
  STRAND_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

bool tf32x3_kernel_applies(const LinearParams& p) {
  const int64_t m = p.x.rows, n = p.w.rows, k = p.x.cols;
  return m >= kMinRows && n > 0 && n <= kMaxColumns && k > 0 && k <= (1 << 30) && k % 4 == 0 && p.x.ld % 4 == 0 &&
         reinterpret_cast<uintptr_t>(p.x.data) % 16 == 0;
}

namespace {

// The kernels' arguments for p, with w split into kGemmW.
Tf32x3Args split_args(const LinearParams& p, cudaStream_t stream, Workspace& ws) {
  const int n = static_cast<int>(p.w.rows), k = static_cast<int>(p.x.cols);
  const int kp = (k + 7) / 8 * 8;
  auto* w = static_cast<float*>(ws.scratch(Workspace::kGemmW, sizeof(float) * size_t(n) * kp * 2));
  // [N, K] (ld) -> [N, 2 kp]
  split_weights_kernel<<<grid_blocks(int64_t(n) * kp), kBlockThreads, 0, stream>>>(p.w.data, n, k, p.w.ld, kp, w);
  STRAND_CUDA_CHECK(cudaGetLastError());
  Tf32x3Args a;
  a.x = p.x.data;
  a.x_ld = p.x.ld;
  a.w = w;
  a.bias = p.bias;
  a.y = p.y.data;
  a.y_ld = p.y.ld;
  a.m = p.x.rows;
  a.n = n;
  a.k = k;
  a.kp = kp;
  a.accumulate = p.accumulate;
  return a;
}

template <int kNTiles>
void launch_conv(const Tf32x3Args& a, const ConvArgs& c, cudaStream_t stream) {
  using T = ConvTiling<kNTiles>;
  const auto kernel = conv_tf32x3_kernel<kNTiles>;
  STRAND_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(T::kSmemBytes)));
  const int64_t blocks = (a.m + T::kBM - 1) / T::kBM;
  STRAND_ASSERT(blocks <= 0x7fffffff, "conv1d_silu_linear (cuda): grid ", blocks, " exceeds the limits");
  // conv input [M, K] (+ state) -> conv output [M, K], and with w [N, 2 kp] -> y [M, N]: one
  // block per kBM rows.
  kernel<<<static_cast<unsigned>(blocks), T::kThreads, T::kSmemBytes, stream>>>(a, c);
  STRAND_CUDA_CHECK(cudaGetLastError());
}

bool aligned(const void* ptr, size_t bytes) {
  return reinterpret_cast<uintptr_t>(ptr) % bytes == 0;
}

}  // namespace

// x [M, K], w [N, K], bias [N], y [M, N]
void tf32x3_linear(const LinearParams& p, cudaStream_t stream, Workspace& ws) {
  STRAND_ASSERT(tf32x3_kernel_applies(p), "tf32x3_linear: shape or alignment not supported");
  const Tf32x3Args a = split_args(p, stream, ws);
  const int n = a.n;
  // One warp tile spans the columns, 8 warps over 128 rows (two row tiles per warp, 256 rows per
  // block: x_proj 0.123 s per Mb on an H100 against 0.113 with one).
  if (n <= 16)
    launch<1, 2>(a, stream);
  else if (n <= 32)
    launch<1, 4>(a, stream);
  else if (n <= 48)
    launch<1, 6>(a, stream);
  else
    launch<1, 8>(a, stream);
}

bool conv_linear_fused_applies(const ConvParams& conv, const LinearParams& lin, GemmPrecision precision) {
  // The kernel stages the conv's input as tf32x3_kernel stages x, and stores its output by pairs.
  LinearParams staged = lin;
  staged.x = conv.x;
  return conv.kernel == kConvTaps && linear_uses_tf32x3_kernel(staged, precision) && lin.x_small.empty() &&
         conv.y.ld % 2 == 0 && aligned(conv.y.data, 8) && aligned(conv.w, 16) && aligned(conv.bias, 16);
}

// conv: x, y [S * L, K]; w [K, 4]; bias [K]; state [S, K, 3]. lin: y [S * L, N] = conv y · w [N, K]^T
void conv1d_silu_linear(const ConvParams& conv, const LinearParams& lin, GemmPrecision precision, cudaStream_t stream,
                        Workspace& ws) {
  check(conv, lin);
  STRAND_ASSERT(conv_linear_fused_applies(conv, lin, precision),
                "conv1d_silu_linear (cuda): shape or alignment not supported");
  ws.split_x = {};  // as every linear call: kGemmX holds no split of a view this call wrote
  const Tf32x3Args a = split_args({conv.x, lin.w, lin.bias, lin.y, lin.accumulate}, stream, ws);
  const ConvArgs c = conv_args(conv);
  const int n = a.n;
  if (n <= 16)
    launch_conv<2>(a, c, stream);
  else if (n <= 32)
    launch_conv<4>(a, c, stream);
  else if (n <= 48)
    launch_conv<6>(a, c, stream);
  else
    launch_conv<8>(a, c, stream);
  conv1d_state_out(conv, stream);
}

}  // namespace strand::kernels::cuda
