// The scalar reference backend: one plain loop nest per op, written straight from the
// formulas of ops.h, the ground truth the fast backends are tested against. Arithmetic is
// fp32 as in the PyTorch reference, except the dot products and the RMSNorm mean of squares,
// accumulated in double: the GEMM's, and the scan's fused dt_proj (the same dot product as the
// linear it replaces). Short sums (the conv taps, the scan's sum over the d_state states) are
// fp32 in index order, as the fast backends do them. Built with -ffp-contract=off
// (kernels/CMakeLists.txt): no FMA even with -march=native, so that y += v is a separate add.
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/backend.h"

namespace strand::kernels {
namespace {

// The two nonlinearities, as PyTorch defines them (F.silu, F.softplus with threshold 20).
float silu(float v) {
  return v / (1.0f + std::exp(-v));
}
float softplus(float v) {
  return v > 20.0f ? v : std::log1p(std::exp(v));
}

// y[M, N] = x[M, K] · w[N, K]^T (+ bias) (+ y)
void linear(const LinearParams& p) {
  check(p);
  check_unsplit(p);
  for (int64_t i = 0; i < p.x.rows; ++i) {
    for (int64_t j = 0; j < p.w.rows; ++j) {
      double acc = 0.0;
      for (int64_t k = 0; k < p.x.cols; ++k) acc += double(p.x.at(i, k)) * double(p.w.at(j, k));
      if (p.bias) acc += p.bias[j];
      const float v = float(acc);
      p.y.at(i, j) = p.accumulate ? p.y.at(i, j) + v : v;
    }
  }
}

// x, y [S * L, C]; w [C, K]; state [S, C, K-1]. Processing index q runs 0..L-1 through the
// positions t(q) = q (forward) or L-1-q (reverse); q < 0 reads the carried state.
void conv1d_silu(const ConvParams& p) {
  check(p);
  const int64_t channels = p.x.cols, len = p.seq_len, k1 = p.kernel - 1;
  const int64_t seqs = len > 0 ? p.x.rows / len : 0;
  for (int64_t s = 0; s < seqs; ++s) {
    for (int64_t c = 0; c < channels; ++c) {
      const float* state = p.state_in ? p.state_in + (s * channels + c) * k1 : nullptr;
      auto input = [&](int64_t q) -> float {
        if (q < 0) return state ? state[k1 + q] : 0.0f;
        return p.x.at(s * len + (p.reverse ? len - 1 - q : q), c);
      };
      for (int64_t q = 0; q < len; ++q) {
        float acc = p.bias ? p.bias[c] : 0.0f;
        for (int64_t k = 0; k <= k1; ++k) acc += p.w[c * p.kernel + k] * input(q - k1 + k);
        p.y.at(s * len + (p.reverse ? len - 1 - q : q), c) = silu(acc);
      }
      if (p.state_out) {
        // Ascending j reads state[k1 + len - k1 + j] >= state[j + 1]: safe when state_out == state_in.
        for (int64_t j = 0; j < k1; ++j) p.state_out[(s * channels + c) * k1 + j] = input(len - k1 + j);
      }
    }
  }
}

// delta[row, d], given or through the fused dt_proj: a dot product over r = 0..R-1 accumulated
// in double, as linear() does, so that the fused scan equals linear-then-scan bitwise here.
float scan_delta(const ScanParams& p, int64_t row, int64_t d) {
  if (!p.delta.empty()) return p.delta.at(row, d);
  double acc = 0.0;
  for (int64_t r = 0; r < p.dt_in.cols; ++r) acc += double(p.dt_in.at(row, r)) * double(p.dt_w.at(d, r));
  return float(acc);
}

// u, delta, z, y [S * L, D]; dt_in [S * L, R]; dt_w [D, R]; A [D, N]; B, C [S * L, N]; h [S, D, N].
void selective_scan(const ScanParams& p) {
  check(p);
  check_unsplit(p);
  const int64_t dim = p.u.cols, nstate = p.A.cols, len = p.seq_len;
  const int64_t seqs = len > 0 ? p.u.rows / len : 0;
  std::vector<float> h(nstate);
  for (int64_t s = 0; s < seqs; ++s) {
    for (int64_t d = 0; d < dim; ++d) {
      for (int64_t n = 0; n < nstate; ++n) h[n] = p.h_in ? p.h_in[(s * dim + d) * nstate + n] : 0.0f;
      for (int64_t q = 0; q < len; ++q) {
        const int64_t row = s * len + (p.reverse ? len - 1 - q : q);
        const float u = p.u.at(row, d);
        const float delta = scan_delta(p, row, d);
        const float dt = softplus(p.delta_bias ? delta + p.delta_bias[d] : delta);
        const float du = dt * u;
        float acc = 0.0f;
        for (int64_t n = 0; n < nstate; ++n) {
          h[n] = std::exp(dt * p.A.at(d, n)) * h[n] + p.B.at(row, n) * du;
          if (!p.y.empty()) acc += p.C.at(row, n) * h[n];
        }
        if (p.y.empty()) continue;
        if (p.Dskip) acc += p.Dskip[d] * u;
        if (!p.z.empty() && !p.gate_sum) acc *= silu(p.z.at(row, d));
        const float v = p.accumulate ? p.y.at(row, d) + acc : acc;
        p.y.at(row, d) = p.gate_sum ? v * silu(p.z.at(row, d)) : v;
      }
      if (p.h_out) {
        for (int64_t n = 0; n < nstate; ++n) p.h_out[(s * dim + d) * nstate + n] = h[n];
      }
    }
  }
}

// [R, W] row by row; a row buffer makes the permitted aliasing (y = x, residual_out =
// residual_in) trivially safe.
void add_rms_norm(const AddRmsNormParams& p) {
  check(p);
  check_unsplit(p);
  const int64_t width = p.y.cols;
  std::vector<float> r(width);
  for (int64_t i = 0; i < p.y.rows; ++i) {
    double sum_sq = 0.0;
    for (int64_t c = 0; c < width; ++c) {
      if (p.x.empty())
        r[c] = p.residual_in.at(i, c);
      else if (p.residual_in.empty())
        r[c] = p.x.at(i, c);
      else
        r[c] = p.x.at(i, c) + p.residual_in.at(i, c);
      sum_sq += double(r[c]) * double(r[c]);
    }
    const float mean_sq = width > 0 ? float(sum_sq / double(width)) : 0.0f;
    const float rstd = 1.0f / std::sqrt(mean_sq + p.eps);
    for (int64_t c = 0; c < width; ++c) {
      if (!p.residual_out.empty()) p.residual_out.at(i, c) = r[c];
      p.y.at(i, c) = r[c] * rstd * p.weight[c];
    }
  }
}

void embedding(const EmbeddingParams& p) {
  check(p);
  for (int64_t i = 0; i < p.y.rows; ++i) {
    for (int64_t c = 0; c < p.y.cols; ++c) p.y.at(i, c) = p.table.at(p.ids[i], c);
  }
}

void elementwise(const ElementwiseParams& p) {
  check(p);
  for (int64_t i = 0; i < p.y.rows; ++i) {
    for (int64_t c = 0; c < p.y.cols; ++c) {
      const float a = p.a.at(i, c), b = p.b.at(i, c);
      switch (p.op) {
        case ElementwiseOp::kAdd: p.y.at(i, c) = a + b; break;
        case ElementwiseOp::kMul: p.y.at(i, c) = a * b; break;
        case ElementwiseOp::kAverage: p.y.at(i, c) = (a + b) * 0.5f; break;
      }
    }
  }
}

void flip(const FlipParams& p) {
  check(p);
  const int64_t rows = p.x.rows, cols = p.x.cols;
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t c = 0; c < cols; ++c) {
      p.y.at(i, c) = p.x.at(p.rows ? rows - 1 - i : i, p.cols ? cols - 1 - c : c);
    }
  }
}

class ReferenceBackend final : public Backend {
 public:
  std::string name() const override { return "reference"; }
  void linear(const LinearParams& p) override { kernels::linear(p); }
  void conv1d_silu(const ConvParams& p) override { kernels::conv1d_silu(p); }
  void selective_scan(const ScanParams& p) override { kernels::selective_scan(p); }
  void add_rms_norm(const AddRmsNormParams& p) override { kernels::add_rms_norm(p); }
  void embedding(const EmbeddingParams& p) override { kernels::embedding(p); }
  void elementwise(const ElementwiseParams& p) override { kernels::elementwise(p); }
  void flip(const FlipParams& p) override { kernels::flip(p); }
};

}  // namespace

std::unique_ptr<Backend> make_reference_backend() {
  return std::make_unique<ReferenceBackend>();
}

}  // namespace strand::kernels
