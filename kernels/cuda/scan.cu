// selective_scan on the GPU. The recurrence is sequential in the position, parallel in
// everything else: one thread per (sequence, channel d, state n), the N states of a channel
// in one group of next_pow2(N) consecutive lanes of a warp (N <= 32; lanes n >= N are padding
// that hold h = 0 and add 0). Every thread walks all L positions in processing order with its
// h[d, n] in a register; at each position the group sums C[t, n] * h[n] with a butterfly of
// __shfl_xor_sync and its lane 0 writes y[t, d].
//
// The loop is latency-bound, so positions are taken kChunk at a time: the chunk's inputs (u,
// delta, B, C, z rows) are loaded first, all independent, then the chunk's steps run from
// registers. Chunking changes no arithmetic. The state update uses explicitly rounded
// multiplies and adds in the reference's order (no FMA contraction), so tiling a record is
// bitwise exact and y-empty runs give the same h_out bitwise; expf/log1pf differ from the
// CPU's by an ulp or two, and the sum over n runs in butterfly rather than index order.
//
// Every thread runs the same trip count (all sequences have length L), so the shuffles are
// reached by every lane of every warp, active or not. Offsets are 64-bit throughout.
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace strand::kernels::cuda {
namespace {

constexpr int kScanThreads = 128;  // a multiple of 32, so a group never straddles warps
constexpr int kChunk = 8;          // positions whose inputs are loaded together
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int64_t kMaxState = 32;

// Plain pointers and strides for the kernel (the Mat views' methods are host code).
struct ScanArgs {
  const float* u = nullptr;
  const float* delta = nullptr;
  const float* delta_bias = nullptr;  // [D] or null
  const float* A = nullptr;
  const float* B = nullptr;
  const float* C = nullptr;
  const float* Dskip = nullptr;  // [D] or null
  const float* z = nullptr;      // null: no gate
  float* y = nullptr;            // null: state only
  int64_t u_ld = 0, delta_ld = 0, A_ld = 0, B_ld = 0, C_ld = 0, z_ld = 0, y_ld = 0;
  int64_t dim = 0, nstate = 0, len = 0;
  int64_t channels = 0;  // S * D: groups with work
  bool reverse = false;
  const float* h_in = nullptr;  // [S, D, N] or null (zeros)
  float* h_out = nullptr;       // [S, D, N] or null; may equal h_in
};

// PyTorch's F.softplus with threshold 20 and F.silu, as the reference writes them.
__device__ __forceinline__ float softplus(float v) {
  return v > 20.0f ? v : log1pf(expf(v));
}
__device__ __forceinline__ float silu(float v) {
  return v / (1.0f + expf(-v));
}

// kGroup = lanes per channel = next_pow2(N) (1, 2, 4, ..., 32).
template <int kGroup>
__global__ void __launch_bounds__(kScanThreads) scan_kernel(const ScanArgs a) {
  const int64_t thread = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t g = thread / kGroup;  // s * D + d
  const int64_t n = thread % kGroup;  // state index (>= N: padding lane)
  const bool channel_ok = g < a.channels;
  const bool lane_ok = channel_ok && n < a.nstate;
  const int64_t s = channel_ok ? g / a.dim : 0;
  const int64_t d = channel_ok ? g - s * a.dim : 0;
  const bool want_y = a.y != nullptr;
  const bool gate = a.z != nullptr;

  const float a_dn = lane_ok ? a.A[d * a.A_ld + n] : 0.0f;
  const float dt_bias = channel_ok && a.delta_bias ? a.delta_bias[d] : 0.0f;
  const float d_skip = channel_ok && a.Dskip ? a.Dskip[d] : 0.0f;
  // This thread's element of the state is read here and written at the end by this thread
  // alone, so h_out == h_in is safe.
  float h = lane_ok && a.h_in ? a.h_in[g * a.nstate + n] : 0.0f;
  const int64_t first_row = s * a.len;

  for (int64_t q0 = 0; q0 < a.len; q0 += kChunk) {
    float u_c[kChunk], delta_c[kChunk], b_c[kChunk], c_c[kChunk], z_c[kChunk];
#pragma unroll
    for (int i = 0; i < kChunk; ++i) {
      const int64_t q = q0 + i;
      u_c[i] = delta_c[i] = b_c[i] = c_c[i] = z_c[i] = 0.0f;
      if (channel_ok && q < a.len) {
        const int64_t row = first_row + (a.reverse ? a.len - 1 - q : q);
        u_c[i] = a.u[row * a.u_ld + d];
        delta_c[i] = a.delta[row * a.delta_ld + d];
        if (lane_ok) {
          b_c[i] = a.B[row * a.B_ld + n];
          if (want_y) c_c[i] = a.C[row * a.C_ld + n];
        }
        if (want_y && gate) z_c[i] = a.z[row * a.z_ld + d];
      }
    }
#pragma unroll
    for (int i = 0; i < kChunk; ++i) {
      const int64_t q = q0 + i;
      if (q >= a.len) break;  // the same for every thread: all lanes reach the shuffles
      const float dt = softplus(a.delta_bias ? __fadd_rn(delta_c[i], dt_bias) : delta_c[i]);
      const float du = __fmul_rn(dt, u_c[i]);
      // h = exp(dt * A) * h + B * du
      h = __fadd_rn(__fmul_rn(expf(__fmul_rn(dt, a_dn)), h), __fmul_rn(b_c[i], du));
      if (!want_y) continue;
      float acc = lane_ok ? __fmul_rn(c_c[i], h) : 0.0f;
#pragma unroll
      for (int offset = kGroup / 2; offset > 0; offset /= 2) {
        acc = __fadd_rn(acc, __shfl_xor_sync(kFullMask, acc, offset));
      }
      if (n == 0 && channel_ok) {
        const int64_t row = first_row + (a.reverse ? a.len - 1 - q : q);
        if (a.Dskip) acc = __fadd_rn(acc, __fmul_rn(d_skip, u_c[i]));
        if (gate) acc = __fmul_rn(acc, silu(z_c[i]));
        a.y[row * a.y_ld + d] = acc;
      }
    }
  }
  if (lane_ok && a.h_out) a.h_out[g * a.nstate + n] = h;
}

int next_pow2(int64_t v) {
  int p = 1;
  while (p < v) p *= 2;
  return p;
}

template <int kGroup>
void launch(const ScanArgs& a, cudaStream_t stream) {
  const int64_t threads = a.channels * kGroup;
  const int64_t blocks = (threads + kScanThreads - 1) / kScanThreads;
  STRAND_ASSERT(blocks <= 0x7fffffff, "selective_scan (cuda): ", blocks, " blocks exceed the grid limit");
  // u, delta, z, y [S * L, D]; A [D, N]; B, C [S * L, N]; h [S, D, N]:
  // one thread per (s, d, n padded to kGroup), kScanThreads per block.
  scan_kernel<kGroup><<<static_cast<unsigned>(blocks), kScanThreads, 0, stream>>>(a);
  STRAND_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

// u, delta, z, y [S * L, D]; A [D, N]; B, C [S * L, N]; h [S, D, N]
void selective_scan(const ScanParams& p, cudaStream_t stream) {
  check(p);
  const int64_t rows = p.u.rows, dim = p.u.cols, nstate = p.A.cols;
  STRAND_ASSERT(nstate <= kMaxState, "selective_scan (cuda): d_state ", nstate, " > ", kMaxState,
                " is not supported (one warp per channel at most)");
  if (rows == 0 || dim == 0) return;
  ScanArgs a;
  a.u = p.u.data;
  a.delta = p.delta.data;
  a.delta_bias = p.delta_bias;
  a.A = p.A.data;
  a.B = p.B.data;
  a.C = p.C.data;
  a.Dskip = p.Dskip;
  a.z = p.z.data;
  a.y = p.y.data;
  a.u_ld = p.u.ld;
  a.delta_ld = p.delta.ld;
  a.A_ld = p.A.ld;
  a.B_ld = p.B.ld;
  a.C_ld = p.C.ld;
  a.z_ld = p.z.ld;
  a.y_ld = p.y.ld;
  a.dim = dim;
  a.nstate = nstate;
  a.len = p.seq_len;
  a.channels = rows / p.seq_len * dim;
  a.reverse = p.reverse;
  a.h_in = p.h_in;
  a.h_out = p.h_out;
  switch (next_pow2(nstate)) {
    case 1: launch<1>(a, stream); break;
    case 2: launch<2>(a, stream); break;
    case 4: launch<4>(a, stream); break;
    case 8: launch<8>(a, stream); break;
    case 16: launch<16>(a, stream); break;
    case 32: launch<32>(a, stream); break;
    default: STRAND_ASSERT(false, "selective_scan (cuda): d_state ", nstate);
  }
}

}  // namespace strand::kernels::cuda
