// A model's weights in memory as fp32, loaded from a Hugging Face folder (config.json +
// model.safetensors) through the one table of tensor names per architecture
// (tensor_names.h): every tensor shape-checked, tied tensors absent from the file aliased
// (the reverse mixer's in_proj/out_proj with bidirectional_weight_tie, the LM head with the
// embeddings), precomputed forms stored once (A = -exp(A_log)).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/tensor.h"
#include "model/config.h"

namespace strand::model {

// One owned fp32 tensor (row-major) and its logical shape.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  kernels::ConstMatF mat() const;  // 2-D view: [shape[0], prod(rest)] (1-D: [1, n])
  int64_t numel() const { return static_cast<int64_t>(data.size()); }
};

struct MixerWeights {
  std::shared_ptr<const Tensor> in_proj_w;   // [2 * d_inner, d_model]
  std::shared_ptr<const Tensor> in_proj_b;   // [2 * d_inner] or null
  std::shared_ptr<const Tensor> conv_w;      // [d_inner, d_conv] (file: [d_inner, 1, d_conv])
  std::shared_ptr<const Tensor> conv_b;      // [d_inner] or null
  std::shared_ptr<const Tensor> x_proj_w;    // [dt_rank + 2 * d_state, d_inner]
  std::shared_ptr<const Tensor> dt_proj_w;   // [d_inner, dt_rank]
  std::shared_ptr<const Tensor> dt_proj_b;   // [d_inner]
  std::shared_ptr<const Tensor> A;           // [d_inner, d_state] = -exp(A_log)
  std::shared_ptr<const Tensor> D;           // [d_inner]
  std::shared_ptr<const Tensor> out_proj_w;  // [d_model, d_inner]
  std::shared_ptr<const Tensor> out_proj_b;  // [d_model] or null
};

struct LayerWeights {
  MixerWeights fwd;
  MixerWeights rev;  // Caduceus bidirectional only (tied tensors share fwd's)
  std::shared_ptr<const Tensor> norm_w;  // [d_model]
};

struct ModelWeights {
  ModelConfig config;
  std::shared_ptr<const Tensor> embedding;  // [vocab_size, d_model]
  std::vector<LayerWeights> layers;
  std::shared_ptr<const Tensor> norm_f_w;   // [d_model]
  std::shared_ptr<const Tensor> lm_head_w;  // [vocab_size, d_model] (aliases embedding when tied)
  std::string checksum;                     // hex SHA-256 of model.safetensors
  std::string folder;
  int64_t parameter_count() const;          // unique tensors, aliases counted once
};

// Loads a model folder. Throws strand::Error naming the file and tensor for: missing folder
// or files, bad config, unknown architecture, missing tensor, wrong shape or dtype,
// unexpected extra tensors (warning), corrupt safetensors.
ModelWeights load_model(const std::string& folder);

}  // namespace strand::model
