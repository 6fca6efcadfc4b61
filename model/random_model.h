// Random-weight models built in memory: `strand bench` times the published Caduceus-PS 131k
// shape without shipping its weights, and tests run shapes no checkpoint has. The
// initialisation follows Mamba's (A_log = log(1..N), dt bias so that softplus(bias) lies in
// [1e-3, 1e-1], D = 1, projections ~ N(0, 1/fan_in)), so activations stay O(1) over depth.
#pragma once

#include <cstdint>

#include "model/config.h"
#include "model/weights.h"

namespace strand::model {

// config.json of kuleshov-group/caduceus-ps_seqlen-131k_d_model-256_n_layer-16: PS, d_model
// 256, 16 layers, d_state 16, expand 2, bidirectional add with tied projections, fused
// add+norm.
ModelConfig caduceus_ps_131k_config();

ModelWeights make_random_model(const ModelConfig& config, uint64_t seed);

// Multiply-adds x 2 per base of one forward pass as the reference computes it (every mixer
// direction runs its own in_proj, conv, x_proj, dt_proj, scan and out_proj), split into the
// GEMM part and the rest.
struct FlopCount {
  double gemm = 0;   // in_proj, x_proj, dt_proj, out_proj
  double other = 0;  // conv, scan, norms, gating
  double total() const { return gemm + other; }
};
FlopCount flops_per_base(const ModelConfig& config);

}  // namespace strand::model
