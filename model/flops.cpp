#include "model/flops.h"

namespace strand::model {

MixerFlops mixer_flops(const ModelConfig& c) {
  const double d = c.mixer.d_model, di = c.mixer.d_inner(), n = c.mixer.d_state, r = c.mixer.dt_rank;
  const double k = c.mixer.d_conv;
  MixerFlops f;
  f.in_x = 2 * d * di;
  f.in_z = 2 * d * di;
  f.x_proj = 2 * di * (r + 2 * n);
  f.dt_proj = 2 * r * di;
  f.out_proj = 2 * di * d;
  f.conv = di * (2 * k + 5);
  f.scan_state = di * n * 5 + di * 5;   // exp + 4 mul/add per (d, n); softplus per d
  f.scan_output = di * n * 2 + di * 5;  // C · h; skip and gate per d
  return f;
}

double norm_flops(const ModelConfig& c) {
  return 4.0 * c.mixer.d_model;
}

FlopCount flops_per_base(const ModelConfig& c) {
  const MixerFlops m = mixer_flops(c);
  const double directions = (c.arch == Architecture::kCaduceus && c.bidirectional) ? 2 : 1;
  const double halves = c.rcps ? 2 : 1;
  FlopCount f;
  f.gemm = (m.in_x + m.in_z + m.x_proj + m.dt_proj + m.out_proj) * directions * halves * c.n_layer;
  // One norm per layer and half, plus the direction combine / residual add.
  f.other = ((m.conv + m.scan_state + m.scan_output) * directions + norm_flops(c) + c.mixer.d_model) * halves *
            c.n_layer;
  return f;
}

}  // namespace strand::model
