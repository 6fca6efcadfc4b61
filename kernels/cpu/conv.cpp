// conv1d_silu on the CPU: depthwise, so each output row is K multiply-adds of whole input rows
// by a tap vector, channels contiguous (the inner loops vectorise). Tasks are (sequence, block
// of positions in processing order); the carried state is transposed once to [K-1, C] rows so
// that the first positions of a sequence read it exactly like input rows. The sum runs in the
// reference's order (bias, then taps 0..K-1), so results are bitwise equal to it and
// independent of the thread count and of tiling. A one-position call (a decoding step) skips
// the plan: conv_step reads the taps and the state where they lie.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/fast_math.h"
#include "kernels/cpu/parallel.h"

namespace strand::kernels::cpu {
namespace {

constexpr int64_t kPositionBlock = 256;

// out[c] += w[c] * in[c]: the one inner loop (restrict: no aliasing, so no runtime checks).
void multiply_add(float* __restrict out, const float* __restrict w, const float* __restrict in, int64_t n) {
  for (int64_t c = 0; c < n; ++c) out[c] += w[c] * in[c];
}

struct ConvPlan {
  const ConvParams& p;
  int64_t channels, len, k1;
  std::vector<float> taps;   // [K, C]: taps[k * C + c] = w[c, k]
  std::vector<float> state;  // [S, K-1, C]: the carried inputs as rows, zeros without state_in

  // Row of the input at processing index q of sequence s (q < 0: the carried state).
  const float* input(int64_t s, int64_t q) const {
    if (q < 0) return state.data() + (s * k1 + k1 + q) * channels;
    return p.x.row(s * len + (p.reverse ? len - 1 - q : q));
  }
  float* output(int64_t s, int64_t q) const { return p.y.row(s * len + (p.reverse ? len - 1 - q : q)); }
};

// Sequences per task of a one-position call.
constexpr int64_t kStepSeqs = 16;

// One sequence's outputs before SiLU, y[c] = bias[c] + sum_k w[c, k] * input k (the K-1 carried
// inputs, then x), and the state shifted by one (in place when state_out is state_in: j reads
// j + 1 before writing j). kK > 0 fixes K (4, every published Mamba) so that the tap loops
// unroll; kK == 0 takes it at run time.
template <int kK>
void conv_step_row(const ConvParams& p, const float* x, float* y, const float* state, float* next) {
  const int64_t channels = p.x.cols, kernel = kK > 0 ? kK : p.kernel, k1 = kernel - 1;
  for (int64_t c = 0; c < channels; ++c) {
    const float* w = p.w + c * kernel;
    float out = p.bias ? p.bias[c] : 0.0f;
    if (state) {
      for (int64_t k = 0; k < k1; ++k) out += w[k] * state[c * k1 + k];
    } else {
      for (int64_t k = 0; k < k1; ++k) out += w[k] * 0.0f;
    }
    out += w[k1] * x[c];
    y[c] = out;
  }
  if (!next) return;
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t j = 0; j + 1 < k1; ++j) next[c * k1 + j] = state ? state[c * k1 + j + 1] : 0.0f;
    if (k1 > 0) next[c * k1 + k1 - 1] = x[c];
  }
}

// seq_len 1 (a decoding step): the K-1 carried inputs of a channel are read where they are
// ([S, C, K-1] is channel-major) instead of through ConvPlan's transposed copies, and shifted in
// place. The same sum in the same order as below (bias, then taps 0..K-1), so the same bits.
void conv_step(const ConvParams& p) {
  const int64_t channels = p.x.cols, k1 = p.kernel - 1;
  for_each_block(p.x.rows, kStepSeqs, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      float* y = p.y.row(s);
      const float* state = p.state_in ? p.state_in + s * channels * k1 : nullptr;
      float* next = p.state_out ? p.state_out + s * channels * k1 : nullptr;
      if (p.kernel == 4)
        conv_step_row<4>(p, p.x.row(s), y, state, next);
      else
        conv_step_row<0>(p, p.x.row(s), y, state, next);
      for (int64_t c = 0; c < channels; ++c) y[c] = silu_fast(y[c]);
    }
  });
}

}  // namespace

// x, y [S * L, C]; w [C, K]; state [S, C, K-1]
void conv1d_silu(const ConvParams& p) {
  check(p);
  const int64_t channels = p.x.cols, len = p.seq_len, kernel = p.kernel;
  if (p.x.rows == 0 || channels == 0) return;
  if (len == 1) {
    conv_step(p);
    return;
  }
  const int64_t seqs = p.x.rows / len;
  ConvPlan plan{p,
                channels,
                len,
                kernel - 1,
                std::vector<float>(kernel * channels),
                std::vector<float>(seqs * (kernel - 1) * channels, 0.0f)};
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t k = 0; k < kernel; ++k) plan.taps[k * channels + c] = p.w[c * kernel + k];
  }
  if (p.state_in) {
    for (int64_t s = 0; s < seqs; ++s) {
      for (int64_t c = 0; c < channels; ++c) {
        for (int64_t j = 0; j < plan.k1; ++j) {
          plan.state[(s * plan.k1 + j) * channels + c] = p.state_in[(s * channels + c) * plan.k1 + j];
        }
      }
    }
  }

  const int64_t blocks = (len + kPositionBlock - 1) / kPositionBlock;
  for_each_index(seqs * blocks, [&](int64_t task) {
    const int64_t s = task / blocks, b = task % blocks;
    for (int64_t q = b * kPositionBlock; q < std::min(len, (b + 1) * kPositionBlock); ++q) {
      float* out = plan.output(s, q);
      if (p.bias)
        std::copy(p.bias, p.bias + channels, out);
      else
        std::fill(out, out + channels, 0.0f);
      for (int64_t k = 0; k < kernel; ++k) {
        multiply_add(out, plan.taps.data() + k * channels, plan.input(s, q - plan.k1 + k), channels);
      }
      for (int64_t c = 0; c < channels; ++c) out[c] = silu_fast(out[c]);
    }
  });

  // After every block has read the old state (state_out may be state_in).
  if (p.state_out) {
    for (int64_t s = 0; s < seqs; ++s) {
      for (int64_t j = 0; j < plan.k1; ++j) {
        const float* row = plan.input(s, len - plan.k1 + j);
        for (int64_t c = 0; c < channels; ++c) p.state_out[(s * channels + c) * plan.k1 + j] = row[c];
      }
    }
  }
}

}  // namespace strand::kernels::cpu
