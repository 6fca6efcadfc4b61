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

// A causal Mamba LM of about 2M parameters (d_model 256, 4 layers, d_state 16): the size the
// generation benchmark is specified for.
ModelConfig mamba_2m_config();

ModelWeights make_random_model(const ModelConfig& config, uint64_t seed);

}  // namespace strand::model
