// The one table of checkpoint tensor names per architecture: how the published Caduceus
// (PH: ...mixer.mamba_fwd..., PS: ...mixer.submodule.mamba_fwd...) and transformers Mamba
// checkpoints name each weight, and which names are absent because they are tied.
#pragma once

#include <string>
#include <vector>

#include "model/config.h"

namespace strand::model {

enum class TensorRole {
  kEmbedding, kNormF, kLmHead, kLayerNorm,
  kInProjW, kInProjB, kConvW, kConvB, kXProjW, kDtProjW, kDtProjB, kALog, kD, kOutProjW, kOutProjB,
};
const char* to_string(TensorRole role);

struct TensorName {
  TensorRole role;
  int layer = -1;          // -1 for model-level tensors
  int direction = 0;       // 0 forward mixer, 1 reverse mixer (Caduceus bidirectional)
  std::string name;        // as in model.safetensors
  std::vector<int64_t> shape;  // expected shape (from the config)
  bool required = true;    // false: may be absent (optional biases)
  std::string tied_to;     // non-empty: absent from the file, alias of this name
};

// Every tensor the architecture has, in a stable order.
std::vector<TensorName> tensor_names(const ModelConfig& config);

}  // namespace strand::model
