#include "model/backbone.h"

#include <algorithm>
#include <map>

#include <oneapi/tbb/task_group.h>

#include "core/error.h"

namespace strand::model {

using kernels::ConstMatF;
using kernels::MatF;

namespace {

const float* data_or_null(const std::shared_ptr<const Tensor>& t) { return t ? t->data.data() : nullptr; }

}  // namespace

// Per-tile scratch of one mixer pass: [T, width] matrices, reused across tiles and passes.
struct Backbone::Workspace {
  std::vector<float> normed, xz, xc, xdbl, delta, y, out;
  std::vector<float> conv_state, scan_state;

  Workspace(int64_t tile_rows, const ModelConfig& c) {
    const int64_t d = c.d_model, di = c.mixer.d_inner(), n = c.mixer.d_state, k = c.mixer.d_conv;
    const int64_t xdbl_cols = c.mixer.dt_rank + 2 * n;
    normed.resize(static_cast<size_t>(tile_rows * d));
    xz.resize(static_cast<size_t>(tile_rows * 2 * di));
    xc.resize(static_cast<size_t>(tile_rows * di));
    xdbl.resize(static_cast<size_t>(tile_rows * xdbl_cols));
    delta.resize(static_cast<size_t>(tile_rows * di));
    y.resize(static_cast<size_t>(tile_rows * di));
    out.resize(static_cast<size_t>(tile_rows * d));
    conv_state.resize(static_cast<size_t>(di * (k - 1)));
    scan_state.resize(static_cast<size_t>(di * n));
  }
};

Backbone::Backbone(const ModelWeights& weights, kernels::Backend& backend)
    : weights_(weights), config_(weights.config), backend_(backend) {
  const int d = config_.d_model;
  const bool ps = config_.rcps;
  const bool bidirectional = config_.arch == Architecture::kCaduceus && config_.bidirectional;
  STRAND_ASSERT(weights_.embedding && weights_.norm_f_w && weights_.lm_head_w, "incomplete weights");
  STRAND_ASSERT(static_cast<int>(weights_.layers.size()) == config_.n_layer);

  if (ps) {
    STRAND_ASSERT(static_cast<int>(config_.complement_map.size()) == config_.vocab_size);
    complement_.assign(config_.complement_map.begin(), config_.complement_map.end());
    const ConstMatF table = weights_.embedding->mat();
    const ConstMatF head = weights_.lm_head_w->mat();
    embedding_rc_.resize(static_cast<size_t>(table.rows * d));
    lm_head_rc_.resize(static_cast<size_t>(head.rows * d));
    for (int64_t v = 0; v < table.rows; ++v) {
      const int64_t cv = complement_[static_cast<size_t>(v)];
      for (int c = 0; c < d; ++c) {
        embedding_rc_[static_cast<size_t>(v * d + c)] = table.at(cv, d - 1 - c);
        lm_head_rc_[static_cast<size_t>(v * d + c)] = head.at(cv, d - 1 - c);
      }
    }
    norm_f_rc_.assign(weights_.norm_f_w->data.rbegin(), weights_.norm_f_w->data.rend());
  }

  for (int l = 0; l < config_.n_layer; ++l) {
    const LayerWeights& lw = weights_.layers[static_cast<size_t>(l)];
    LayerPlan plan;
    HalfPlan fwd;
    fwd.col0 = 0;
    fwd.norm_w = lw.norm_w->data.data();
    fwd.mixer[0] = view_of(lw.fwd, false, l, 0);
    fwd.reverse[0] = false;
    if (bidirectional) {
      fwd.mixer[1] = view_of(lw.rev, false, l, 1);
      fwd.reverse[1] = true;
      fwd.passes = 2;
    }
    plan.halves.push_back(fwd);
    if (ps) {
      // RCPSWrapper's second half: mixer(rc(x2)) reverse-complemented back. Running mamba_fwd
      // over rc(x2) is a right-to-left pass over x2 with channels reversed (and mamba_rev a
      // left-to-right one), which the reversed weight copies express without any flip.
      HalfPlan rc;
      rc.col0 = d;
      owned_.emplace_back(lw.norm_w->data.rbegin(), lw.norm_w->data.rend());
      rc.norm_w = owned_.back().data();
      rc.mixer[0] = view_of(lw.fwd, true, l, 0);
      rc.reverse[0] = true;
      if (bidirectional) {
        rc.mixer[1] = view_of(lw.rev, true, l, 1);
        rc.reverse[1] = false;
        rc.passes = 2;
      }
      plan.halves.push_back(rc);
    }
    layers_.push_back(std::move(plan));
  }
}

Backbone::MixerView Backbone::view_of(const MixerWeights& m, bool reversed_half, int layer, int direction) {
  STRAND_ASSERT(m.in_proj_w && m.conv_w && m.x_proj_w && m.dt_proj_w && m.dt_proj_b && m.A && m.D && m.out_proj_w,
                "layer ", layer, " direction ", direction, ": incomplete mixer weights");
  MixerView v;
  v.in_w = m.in_proj_w->mat();
  v.in_b = data_or_null(m.in_proj_b);
  v.conv_w = m.conv_w->data.data();
  v.conv_b = data_or_null(m.conv_b);
  v.x_proj_w = m.x_proj_w->mat();
  v.dt_w = m.dt_proj_w->mat();
  v.dt_b = m.dt_proj_b->data.data();
  v.A = m.A->mat();
  v.D = m.D->data.data();
  v.out_w = m.out_proj_w->mat();
  v.out_b = data_or_null(m.out_proj_b);
  if (!reversed_half) return v;

  // in_proj applied to channel-reversed input = in_proj with its columns reversed; out_proj
  // followed by a channel reversal = out_proj with its rows (and bias) reversed. Tied weights
  // are shared between the directions, so their reversed copies are too.
  auto reversed = [&](const Tensor& t, bool cols) -> const float* {
    const auto key = std::make_pair(static_cast<const void*>(&t), cols);
    if (const auto it = reversed_cache_.find(key); it != reversed_cache_.end()) return it->second;
    const ConstMatF src = t.mat();
    std::vector<float> dst(static_cast<size_t>(src.rows * src.cols));
    for (int64_t r = 0; r < src.rows; ++r)
      for (int64_t c = 0; c < src.cols; ++c)
        dst[static_cast<size_t>(r * src.cols + c)] =
            cols ? src.at(r, src.cols - 1 - c) : src.at(src.rows - 1 - r, c);
    owned_.push_back(std::move(dst));
    reversed_cache_.emplace(key, owned_.back().data());
    return owned_.back().data();
  };
  v.in_w = ConstMatF(reversed(*m.in_proj_w, true), v.in_w.rows, v.in_w.cols);
  v.out_w = ConstMatF(reversed(*m.out_proj_w, false), v.out_w.rows, v.out_w.cols);
  if (m.out_proj_b) {
    // A bias is a [1, n] matrix: reversing its columns reverses it.
    v.out_b = reversed(*m.out_proj_b, true);
  }
  return v;
}

void Backbone::run(std::span<const int32_t> ids, MatF out, const ForwardOptions& options) {
  const int64_t len = static_cast<int64_t>(ids.size());
  const int width = hidden_width();
  STRAND_ASSERT(len > 0, "empty record");
  STRAND_ASSERT(out.rows == len && out.cols == width, "output is [", out.rows, ", ", out.cols, "], expected [", len,
                ", ", width, "]");
  STRAND_ASSERT(options.tile_rows > 0);
  STRAND_ASSERT(options.layer >= -1 && options.layer <= config_.n_layer, "layer ", options.layer, " of ",
                config_.n_layer);
  for (int64_t i = 0; i < len; ++i)
    if (ids[static_cast<size_t>(i)] < 0 || ids[static_cast<size_t>(i)] >= config_.vocab_size)
      fail("token id ", ids[static_cast<size_t>(i)], " at position ", i, " is outside the vocabulary of ",
           config_.vocab_size);

  // H lives in the caller's output; R is the residual stream.
  MatF h = out;
  std::vector<float> r_store(static_cast<size_t>(len * width));
  MatF r(r_store.data(), len, width);
  const int64_t tile_rows = std::min(options.tile_rows, len);
  // One workspace per channel half: the two strand halves of a PS layer are independent (both
  // read R, each writes its own columns of H), so they run concurrently. Every op is bitwise
  // deterministic, so this changes the speed, never the result.
  std::vector<Workspace> ws;
  for (size_t i = 0; i < layers_.front().halves.size(); ++i) ws.emplace_back(tile_rows, config_);

  embed(ids, h);
  const size_t blocks = options.layer < 0 ? layers_.size() : static_cast<size_t>(options.layer);
  for (size_t l = 0; l < blocks; ++l) {
    add_residual(h, r, l == 0);
    const auto& halves = layers_[l].halves;
    const auto run_half = [&](size_t i) {
      for (int pass = 0; pass < halves[i].passes; ++pass) run_pass(halves[i], pass, r, h, ws[i], tile_rows);
    };
    if (halves.size() == 1) {
      run_half(0);
    } else {
      tbb::task_group group;
      group.run([&] { run_half(1); });
      run_half(0);
      group.wait();
    }
  }
  if (options.layer < 0) final_norm(h, r);
}

void Backbone::embed(std::span<const int32_t> ids, MatF h) {
  const int d = config_.d_model;
  // [L, d] = table[ids]
  backend_.embedding({ids.data(), weights_.embedding->mat(), h.col_slice(0, d)});
  if (config_.rcps) {
    // [L, d] second half = column-reversed embedding of the complemented token.
    const ConstMatF table_rc(embedding_rc_.data(), static_cast<int64_t>(embedding_rc_.size()) / d, d);
    backend_.embedding({ids.data(), table_rc, h.col_slice(d, d)});
  }
}

void Backbone::add_residual(MatF h, MatF r, bool first_layer) {
  using kernels::ElementwiseOp;
  const int d = config_.d_model;
  const bool swap = config_.rcps && config_.fused_add_norm;
  if (!swap) {
    // [L, W] r = h + r  (r = h at the first layer, where the reference has no residual yet)
    if (first_layer) backend_.flip({h, r, false, false});
    else backend_.elementwise({ElementwiseOp::kAdd, h, r, r});
    return;
  }
  // RCPSMambaBlock with fused add+norm: the new residual's first half is h2 + r2 and its second
  // half h1 + r1. h is dead after this (the mixers overwrite it), so it serves as scratch.
  MatF h1 = h.col_slice(0, d), h2 = h.col_slice(d, d);
  MatF r1 = r.col_slice(0, d), r2 = r.col_slice(d, d);
  if (first_layer) {
    backend_.flip({h2, r1, false, false});
    backend_.flip({h1, r2, false, false});
    return;
  }
  backend_.elementwise({ElementwiseOp::kAdd, h1, r1, h1});  // h1 := h1 + r1
  backend_.elementwise({ElementwiseOp::kAdd, h2, r2, r1});  // r1 := h2 + r2
  backend_.flip({h1, r2, false, false});                    // r2 := h1 + r1 (old)
}

void Backbone::run_pass(const HalfPlan& half, int pass, ConstMatF r, MatF h, Workspace& ws, int64_t tile_rows) {
  const MixerView& m = half.mixer[pass];
  const bool reverse = half.reverse[pass];
  const int64_t len = r.rows;
  const int d = config_.d_model;
  const int64_t di = config_.mixer.d_inner(), n = config_.mixer.d_state, rank = config_.mixer.dt_rank;
  const int64_t xdbl_cols = rank + 2 * n;
  std::fill(ws.conv_state.begin(), ws.conv_state.end(), 0.0f);
  std::fill(ws.scan_state.begin(), ws.scan_state.end(), 0.0f);

  const int64_t tiles = (len + tile_rows - 1) / tile_rows;
  for (int64_t k = 0; k < tiles; ++k) {
    // Forward passes take tiles left to right, reverse passes right to left, carrying state.
    const int64_t tile = reverse ? tiles - 1 - k : k;
    const int64_t t0 = tile * tile_rows;
    const int64_t rows = std::min(tile_rows, len - t0);

    // [rows, d] mixer input = RMSNorm(residual half) (recomputed: cheaper than storing it)
    const MatF normed(ws.normed.data(), rows, d);
    kernels::AddRmsNormParams np;
    np.residual_in = r.row_slice(t0, rows).col_slice(half.col0, d);
    np.weight = half.norm_w;
    np.eps = config_.norm_epsilon;
    np.y = normed;
    backend_.add_rms_norm(np);

    // [rows, 2*di] = normed · in_w^T (+ in_b): x | z
    const MatF xz(ws.xz.data(), rows, 2 * di);
    backend_.linear({normed, m.in_w, m.in_b, xz, false});

    // [rows, di] x = silu(depthwise conv(x)), state carried between tiles
    const MatF xc(ws.xc.data(), rows, di);
    kernels::ConvParams cp;
    cp.x = xz.col_slice(0, di);
    cp.w = m.conv_w;
    cp.bias = m.conv_b;
    cp.y = xc;
    cp.seq_len = rows;
    cp.kernel = config_.mixer.d_conv;
    cp.reverse = reverse;
    cp.state_in = ws.conv_state.data();
    cp.state_out = ws.conv_state.data();
    backend_.conv1d_silu(cp);

    // [rows, rank + 2N] = x · x_proj^T: dt | B | C
    const MatF xdbl(ws.xdbl.data(), rows, xdbl_cols);
    backend_.linear({xc, m.x_proj_w, nullptr, xdbl, false});
    // [rows, di] = dt · dt_proj^T (its bias goes in the scan, before softplus)
    const MatF delta(ws.delta.data(), rows, di);
    backend_.linear({xdbl.col_slice(0, rank), m.dt_w, nullptr, delta, false});

    // [rows, di] y = selective scan, gated by silu(z), state carried between tiles
    const MatF y(ws.y.data(), rows, di);
    kernels::ScanParams sp;
    sp.u = xc;
    sp.delta = delta;
    sp.delta_bias = m.dt_b;
    sp.A = m.A;
    sp.B = xdbl.col_slice(rank, n);
    sp.C = xdbl.col_slice(rank + n, n);
    sp.Dskip = m.D;
    sp.z = xz.col_slice(di, di);
    sp.y = y;
    sp.seq_len = rows;
    sp.reverse = reverse;
    sp.h_in = ws.scan_state.data();
    sp.h_out = ws.scan_state.data();
    backend_.selective_scan(sp);

    // [rows, d] = y · out_w^T (+ out_b), written or combined into this half of H
    const MatF target = h.row_slice(t0, rows).col_slice(half.col0, d);
    if (pass == 0) {
      backend_.linear({y, m.out_w, m.out_b, target, false});
    } else if (config_.strategy == BidirectionalStrategy::kAdd) {
      backend_.linear({y, m.out_w, m.out_b, target, true});
    } else {
      const MatF tmp(ws.out.data(), rows, d);
      backend_.linear({y, m.out_w, m.out_b, tmp, false});
      backend_.elementwise({kernels::ElementwiseOp::kMul, target, tmp, target});
    }
  }
}

void Backbone::final_norm(MatF h, ConstMatF r) {
  // [L, W] out = norm_f(h + r), per half for PS (the final norm never swaps halves).
  const int d = config_.d_model;
  const int halves = config_.rcps ? 2 : 1;
  for (int half = 0; half < halves; ++half) {
    kernels::AddRmsNormParams np;
    np.x = h.col_slice(half * d, d);
    np.residual_in = r.col_slice(half * d, d);
    np.weight = half == 0 ? weights_.norm_f_w->data.data() : norm_f_rc_.data();
    np.eps = config_.norm_epsilon;
    np.y = h.col_slice(half * d, d);
    backend_.add_rms_norm(np);
  }
}

void Backbone::logits(ConstMatF hidden, MatF out) {
  const int d = config_.d_model;
  STRAND_ASSERT(hidden.cols == hidden_width() && out.cols == config_.vocab_size && out.rows == hidden.rows);
  // [L, V] = h1 · W^T (+ h2 · W_rc^T for PS: RCPSLMHead sums the two strands' logits)
  backend_.linear({hidden.col_slice(0, d), weights_.lm_head_w->mat(), nullptr, out, false});
  if (config_.rcps) {
    const ConstMatF head_rc(lm_head_rc_.data(), config_.vocab_size, d);
    backend_.linear({hidden.col_slice(d, d), head_rc, nullptr, out, true});
  }
}

}  // namespace strand::model
