// The checkpoint naming of each architecture, in one place. Derived from the module trees of
// the reference code (state-dict keys are module paths):
// - CaduceusForMaskedLM: `caduceus` (Caduceus) → `backbone` (CaduceusMixerModel) →
//   `embeddings.word_embeddings` (nn.Embedding, or RCPSEmbedding holding `.embedding` and a
//   `complement_map` buffer), `layers.{i}` (mamba_ssm Block, or RCPSMambaBlock whose mixer is
//   RCPSWrapper(`.submodule` = BiMambaWrapper) and whose norm is wrapped in
//   RCPSAddNormWrapper (`.submodule`) unless fused_add_norm), `norm_f` (wrapped likewise for
//   PS without fused_add_norm); `lm_head` (nn.Linear, or RCPSLMHead holding `.lm_head` and a
//   `complement_map` buffer), tied to the embedding. BiMambaWrapper ties mamba_rev's in/out
//   projections to mamba_fwd's when bidirectional_weight_tie.
// - transformers MambaForCausalLM: `backbone.embeddings`, `backbone.layers.{i}.{norm,mixer}`,
//   `backbone.norm_f`, `lm_head` (tied when tie_word_embeddings).
// - mamba_ssm MambaLMHeadModel: as transformers, but `backbone.embedding`.
#include "model/tensor_names.h"

#include <sstream>

#include "core/error.h"

namespace strand::model {
namespace {

struct Builder {
  std::vector<TensorName> names;

  void add(TensorRole role, int layer, int direction, std::string name, std::vector<int64_t> shape,
           std::string tied_to = {}, bool required = true) {
    names.push_back({role, layer, direction, std::move(name), std::move(shape), required, std::move(tied_to)});
  }

  // One Mamba-1 mixer under `prefix` ("...mixer.mamba_fwd."). `tie_prefix` non-empty: the in
  // and out projections are the ones under that prefix (absent from the file).
  void add_mixer(const MixerConfig& m, int layer, int direction, const std::string& prefix,
                 const std::string& tie_prefix) {
    const int64_t d_model = m.d_model, d_inner = m.d_inner(), d_state = m.d_state;
    const auto tie = [&](const char* suffix) { return tie_prefix.empty() ? std::string() : tie_prefix + suffix; };
    add(TensorRole::kInProjW, layer, direction, prefix + "in_proj.weight", {2 * d_inner, d_model},
        tie("in_proj.weight"));
    if (m.bias)
      add(TensorRole::kInProjB, layer, direction, prefix + "in_proj.bias", {2 * d_inner}, tie("in_proj.bias"));
    add(TensorRole::kConvW, layer, direction, prefix + "conv1d.weight", {d_inner, 1, m.d_conv});
    if (m.conv_bias) add(TensorRole::kConvB, layer, direction, prefix + "conv1d.bias", {d_inner});
    add(TensorRole::kXProjW, layer, direction, prefix + "x_proj.weight", {m.dt_rank + 2 * d_state, d_inner});
    add(TensorRole::kDtProjW, layer, direction, prefix + "dt_proj.weight", {d_inner, m.dt_rank});
    add(TensorRole::kDtProjB, layer, direction, prefix + "dt_proj.bias", {d_inner});
    add(TensorRole::kALog, layer, direction, prefix + "A_log", {d_inner, d_state});
    add(TensorRole::kD, layer, direction, prefix + "D", {d_inner});
    add(TensorRole::kOutProjW, layer, direction, prefix + "out_proj.weight", {d_model, d_inner},
        tie("out_proj.weight"));
    if (m.bias) add(TensorRole::kOutProjB, layer, direction, prefix + "out_proj.bias", {d_model}, tie("out_proj.bias"));
  }
};

std::vector<TensorName> caduceus_names(const ModelConfig& c) {
  Builder b;
  const std::string root = "caduceus.backbone.";
  const int64_t vocab = c.vocab_size, d_model = c.d_model;
  const std::string embedding =
      root + (c.rcps ? "embeddings.word_embeddings.embedding.weight" : "embeddings.word_embeddings.weight");
  b.add(TensorRole::kEmbedding, -1, 0, embedding, {vocab, d_model});
  // PS without fused_add_norm wraps every norm in RCPSAddNormWrapper.
  const std::string norm_suffix = (c.rcps && !c.fused_add_norm) ? "norm.submodule.weight" : "norm.weight";
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string layer = cat(root, "layers.", i, ".");
    b.add(TensorRole::kLayerNorm, i, 0, layer + norm_suffix, {d_model});
    const std::string mixer = layer + (c.rcps ? "mixer.submodule." : "mixer.");
    b.add_mixer(c.mixer, i, 0, mixer + "mamba_fwd.", {});
    if (c.bidirectional)
      b.add_mixer(c.mixer, i, 1, mixer + "mamba_rev.", c.bidirectional_weight_tie ? mixer + "mamba_fwd." : "");
  }
  b.add(TensorRole::kNormF, -1, 0, root + (c.rcps && !c.fused_add_norm ? "norm_f.submodule.weight" : "norm_f.weight"),
        {d_model});
  b.add(TensorRole::kLmHead, -1, 0, c.rcps ? "lm_head.lm_head.weight" : "lm_head.weight", {vocab, d_model},
        c.tie_word_embeddings ? embedding : "");
  if (c.rcps) {
    b.add(TensorRole::kComplementMap, -1, 0, root + "embeddings.word_embeddings.complement_map", {vocab}, {}, false);
    b.add(TensorRole::kComplementMap, -1, 0, "lm_head.complement_map", {vocab}, {}, false);
  }
  return std::move(b.names);
}

std::vector<TensorName> mamba_names(const ModelConfig& c) {
  Builder b;
  const int64_t vocab = c.vocab_size, d_model = c.d_model;
  const std::string embedding = c.mamba_ssm_naming ? "backbone.embedding.weight" : "backbone.embeddings.weight";
  b.add(TensorRole::kEmbedding, -1, 0, embedding, {vocab, d_model});
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string layer = cat("backbone.layers.", i, ".");
    b.add(TensorRole::kLayerNorm, i, 0, layer + "norm.weight", {d_model});
    b.add_mixer(c.mixer, i, 0, layer + "mixer.", {});
  }
  b.add(TensorRole::kNormF, -1, 0, "backbone.norm_f.weight", {d_model});
  b.add(TensorRole::kLmHead, -1, 0, "lm_head.weight", {vocab, d_model}, c.tie_word_embeddings ? embedding : "");
  return std::move(b.names);
}

}  // namespace

const char* to_string(TensorRole role) {
  switch (role) {
    case TensorRole::kEmbedding: return "embedding";
    case TensorRole::kNormF: return "final norm";
    case TensorRole::kLmHead: return "LM head";
    case TensorRole::kLayerNorm: return "layer norm";
    case TensorRole::kInProjW: return "in_proj weight";
    case TensorRole::kInProjB: return "in_proj bias";
    case TensorRole::kConvW: return "conv1d weight";
    case TensorRole::kConvB: return "conv1d bias";
    case TensorRole::kXProjW: return "x_proj weight";
    case TensorRole::kDtProjW: return "dt_proj weight";
    case TensorRole::kDtProjB: return "dt_proj bias";
    case TensorRole::kALog: return "A_log";
    case TensorRole::kD: return "D";
    case TensorRole::kOutProjW: return "out_proj weight";
    case TensorRole::kOutProjB: return "out_proj bias";
    case TensorRole::kComplementMap: return "complement_map buffer";
  }
  return "?";
}

std::vector<TensorName> tensor_names(const ModelConfig& config) {
  return config.arch == Architecture::kCaduceus ? caduceus_names(config) : mamba_names(config);
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

}  // namespace strand::model
