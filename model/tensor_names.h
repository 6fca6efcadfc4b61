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
  // Caduceus PS persistent buffers (integer, not parameters): the complement map of the
  // RCPS embedding and LM head. Optional; when present they must equal the config's map.
  kComplementMap,
};
const char* to_string(TensorRole role);

struct TensorName {
  TensorRole role;
  int layer = -1;          // -1 for model-level tensors
  int direction = 0;       // 0 forward mixer, 1 reverse mixer (Caduceus bidirectional)
  std::string name;        // as in model.safetensors
  std::vector<int64_t> shape;  // expected shape (from the config)
  bool required = true;    // false: may be absent (the complement_map buffers). Biases that
                           // the config disables are not listed at all.
  std::string tied_to;     // non-empty: absent from the file, alias of this name
};

// Every tensor the architecture has, in a stable order: a tie target always comes before the
// names tied to it.
std::vector<TensorName> tensor_names(const ModelConfig& config);

// "[2, 3]" — shapes in messages.
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace strand::model
