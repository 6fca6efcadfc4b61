// FLOPs per base of a forward pass (2 per multiply-add), for the benchmark's efficiency ratios:
// as the reference computes them (every mixer direction runs all its projections), and as a
// Backbone executes them (Backbone::executed_flops_per_base: shared projections, plus the
// checkpoint sweep). Transcendentals count as a few FLOPs each; only the GEMM part is exact.
#pragma once

#include "model/config.h"

namespace strand::model {

struct FlopCount {
  double gemm = 0;   // in_proj, x_proj, dt_proj, out_proj
  double other = 0;  // conv, scan, norms, gating
  double total() const { return gemm + other; }
};

// The parts of one mixer direction, per base.
struct MixerFlops {
  double in_x = 0, in_z = 0;    // in_proj's x and z halves
  double x_proj = 0, dt_proj = 0, out_proj = 0;
  double conv = 0;              // depthwise conv + SiLU
  double scan_state = 0;        // softplus, exp(dt A) h + dt B u
  double scan_output = 0;       // C · h, skip, gate
};
MixerFlops mixer_flops(const ModelConfig& config);

// Norm of one channel half (~4 per channel) and a combine / residual add (1 per channel).
double norm_flops(const ModelConfig& config);

// As the reference computes a forward pass: every direction of every half runs everything.
FlopCount flops_per_base(const ModelConfig& config);

}  // namespace strand::model
