// conv1d_silu on the GPU: depthwise, so every output element y[row, c] is independent. A thread
// takes one channel over a run of kRun consecutive positions (in processing order), keeping the
// last K-1 inputs in registers, so each input is loaded once; consecutive threads take
// consecutive channels, so the loads of x are coalesced (kernels up to kMaxFastKernel taps; a
// plain one-thread-per-element kernel does longer ones). The arithmetic per output is conv.cuh's:
// before the SiLU bitwise the CPU's; the SiLU differs by a few ulp.
//
// The carried state is written by a second kernel on the same stream, after the first has
// read the old one (state_out may be state_in). Both follow the reference's processing index
// q: position t(q) = q forward, L-1-q reverse; q < 0 reads state_in[s, c, K-1 + q].
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/conv.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace strand::kernels::cuda {
namespace {

// The input at processing index q of sequence s, channel c (q < 0: the carried state).
__device__ __forceinline__ float conv_input(const ConvArgs& a, int64_t s, int64_t c, int64_t q) {
  const int64_t k1 = a.kernel - 1;
  if (q < 0) return a.state_in ? a.state_in[(s * a.channels + c) * k1 + k1 + q] : 0.0f;
  const int64_t row = s * a.len + (a.reverse ? a.len - 1 - q : q);
  return a.x[row * a.x_ld + c];
}

constexpr int kRunThreads = 128;  // channels per block
constexpr int kRun = 32;           // positions per thread
constexpr int kMaxFastKernel = 8;

// y at processing indices [q0, q0 + kRun) of sequence s, channel c; kK taps.
template <int kK>
__global__ void __launch_bounds__(kRunThreads) conv_run_kernel(const ConvArgs a, int64_t runs_per_seq,
                                                               int64_t total_runs) {
  const int64_t c = int64_t(blockIdx.x) * kRunThreads + threadIdx.x;
  if (c >= a.channels) return;
  float w[kK];
#pragma unroll
  for (int k = 0; k < kK; ++k) w[k] = a.w[c * kK + k];
  const float bias = a.bias ? a.bias[c] : 0.0f;
  const int64_t step = a.reverse ? -1 : 1;
  for (int64_t run = blockIdx.y; run < total_runs; run += gridDim.y) {
    const int64_t s = run / runs_per_seq, q0 = (run - s * runs_per_seq) * kRun;
    float window[kK];  // inputs at q - (K-1) .. q; the last is loaded per position
#pragma unroll
    for (int k = 0; k + 1 < kK; ++k) window[k] = conv_input(a, s, c, q0 - (kK - 1) + k);
    const int count = a.len - q0 < kRun ? static_cast<int>(a.len - q0) : kRun;
    int64_t row = s * a.len + (a.reverse ? a.len - 1 - q0 : q0);
    if (count == kRun) {
      // A whole run: its kRun loads go out together, then the sums (one load at a time left
      // each warp waiting on memory: H100, ~130 us per [65,536 x 512] call against ~80 to
      // move its bytes).
      float in[kRun];
#pragma unroll
      for (int i = 0; i < kRun; ++i) in[i] = a.x[(row + i * step) * a.x_ld + c];
#pragma unroll
      for (int i = 0; i < kRun; ++i) {
        window[kK - 1] = in[i];
        float acc = bias;
#pragma unroll
        for (int k = 0; k < kK; ++k) acc = conv_tap(acc, w[k], window[k]);
        a.y[(row + i * step) * a.y_ld + c] = conv_silu(acc);
#pragma unroll
        for (int k = 0; k + 1 < kK; ++k) window[k] = window[k + 1];
      }
      continue;
    }
    for (int i = 0; i < count; ++i, row += step) {
      window[kK - 1] = a.x[row * a.x_ld + c];
      float acc = bias;
#pragma unroll
      for (int k = 0; k < kK; ++k) acc = conv_tap(acc, w[k], window[k]);
      a.y[row * a.y_ld + c] = conv_silu(acc);
#pragma unroll
      for (int k = 0; k + 1 < kK; ++k) window[k] = window[k + 1];
    }
  }
}

template <int kK>
void launch_runs(const ConvArgs& a, int64_t seqs, cudaStream_t stream) {
  const int64_t runs_per_seq = (a.len + kRun - 1) / kRun, total_runs = seqs * runs_per_seq;
  const unsigned blocks_x = static_cast<unsigned>((a.channels + kRunThreads - 1) / kRunThreads);
  const unsigned blocks_y = static_cast<unsigned>(std::min<int64_t>(total_runs, 65535));
  // y [S * L, C] from x [S * L, C], w [C, K], bias [C], state_in [S, C, K-1]: one thread per
  // (channel, run of kRun positions), runs grid-strided over y.
  conv_run_kernel<kK><<<dim3(blocks_x, blocks_y), kRunThreads, 0, stream>>>(a, runs_per_seq, total_runs);
  STRAND_CUDA_CHECK(cudaGetLastError());
}

// y[row, c] = silu(bias[c] + sum_k w[c, k] * input(q(row) - (K-1) + k)), one thread each.
__global__ void conv_kernel(const ConvArgs a) {
  const int64_t total = a.rows * a.channels;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t k1 = a.kernel - 1;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t row = idx / a.channels, c = idx - row * a.channels;
    const int64_t s = row / a.len, t = row - s * a.len;
    const int64_t q = a.reverse ? a.len - 1 - t : t;
    const float* w = a.w + c * a.kernel;
    float acc = a.bias ? a.bias[c] : 0.0f;
    for (int64_t k = 0; k <= k1; ++k) acc = conv_tap(acc, w[k], conv_input(a, s, c, q - k1 + k));
    a.y[row * a.y_ld + c] = conv_silu(acc);
  }
}

// state_out[s, c, j] = input(L - (K-1) + j) for j = 0..K-2, one thread per (s, c). Ascending
// j: the state element read, state_in[s, c, L + j] (when L - (K-1) + j < 0), lies above every
// element already written (indices < j, L >= 1), so state_out == state_in is safe. No
// __restrict__ here: the two may alias.
__global__ void conv_state_kernel(const ConvArgs a, int64_t seqs) {
  const int64_t total = seqs * a.channels;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t k1 = a.kernel - 1;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t s = idx / a.channels, c = idx - s * a.channels;
    float* out = a.state_out + (s * a.channels + c) * k1;
    for (int64_t j = 0; j < k1; ++j) out[j] = conv_input(a, s, c, a.len - k1 + j);
  }
}

}  // namespace


// x, y [S * L, C]; w [C, K]; bias [C]; state [S, C, K-1]
void conv1d_silu(const ConvParams& p, cudaStream_t stream) {
  check(p);
  const int64_t rows = p.x.rows, channels = p.x.cols;
  if (rows == 0 || channels == 0) return;
  const ConvArgs a = conv_args(p);
  const int64_t seqs = rows / p.seq_len;

  switch (p.kernel) {
    case 1: launch_runs<1>(a, seqs, stream); break;
    case 2: launch_runs<2>(a, seqs, stream); break;
    case 3: launch_runs<3>(a, seqs, stream); break;
    case 4: launch_runs<4>(a, seqs, stream); break;
    case 5: launch_runs<5>(a, seqs, stream); break;
    case 6: launch_runs<6>(a, seqs, stream); break;
    case 7: launch_runs<7>(a, seqs, stream); break;
    case 8: launch_runs<8>(a, seqs, stream); break;
    default:
      static_assert(kMaxFastKernel == 8);
      // y [S * L, C] from x [S * L, C], w [C, K], bias [C], state_in [S, C, K-1]
      conv_kernel<<<grid_blocks(rows * channels), kBlockThreads, 0, stream>>>(a);
      STRAND_CUDA_CHECK(cudaGetLastError());
  }
  conv1d_state_out(p, stream);
}

// state_out [S, C, K-1] from x [S * L, C] and state_in [S, C, K-1]
void conv1d_state_out(const ConvParams& p, cudaStream_t stream) {
  const int64_t rows = p.x.rows, channels = p.x.cols;
  if (!p.state_out || p.kernel <= 1 || rows == 0 || channels == 0) return;
  const int64_t seqs = rows / p.seq_len;
  // After the conv's kernels (same stream) have read state_in.
  conv_state_kernel<<<grid_blocks(seqs * channels), kBlockThreads, 0, stream>>>(conv_args(p), seqs);
  STRAND_CUDA_CHECK(cudaGetLastError());
}

}  // namespace strand::kernels::cuda
