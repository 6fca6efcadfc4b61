// Model configurations, parsed once from a Hugging Face config.json into typed structs and
// validated: CaduceusForMaskedLM (model_type "caduceus", PH and PS) and MambaForCausalLM
// (model_type "mamba", transformers naming) over the DNA character vocabulary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strand::model {

enum class Architecture { kCaduceus, kMamba };
enum class BidirectionalStrategy { kAdd, kEwMultiply };
const char* to_string(Architecture arch);
const char* to_string(BidirectionalStrategy strategy);

// One Mamba-1 mixer's dimensions.
struct MixerConfig {
  int d_model = 0;    // mixer input width (per strand half for PS)
  int d_state = 16;   // N
  int d_conv = 4;     // K
  int expand = 2;
  int dt_rank = 0;    // resolved: "auto" = ceil(d_model / 16)
  bool conv_bias = true;
  bool bias = false;  // in_proj/out_proj bias
  int d_inner() const { return expand * d_model; }
};

struct ModelConfig {
  Architecture arch = Architecture::kCaduceus;
  std::string source;     // the config.json path, for messages
  int n_layer = 0;
  int d_model = 0;        // config d_model / hidden_size
  int vocab_size = 0;     // after padding to pad_vocab_size_multiple
  MixerConfig mixer;
  bool rms_norm = true;   // false = LayerNorm (rejected: the published models use RMSNorm)
  float norm_epsilon = 1e-5f;
  bool residual_in_fp32 = true;
  bool fused_add_norm = true;
  // Caduceus only
  bool bidirectional = true;
  BidirectionalStrategy strategy = BidirectionalStrategy::kAdd;
  bool bidirectional_weight_tie = true;
  bool rcps = false;                 // PS (true) or PH (false)
  std::vector<int> complement_map;   // vocab_size entries, keys parsed as integers
  // LM head tied to the embedding (Mamba; Caduceus PH: transformers' tie_word_embeddings,
  // default true; Caduceus PS always ties, whatever the config says, as the reference does).
  bool tie_word_embeddings = true;
  // Mamba only
  bool mamba_ssm_naming = false;     // MambaLMHeadModel (mamba_ssm) names: backbone.embedding.weight
  // Informational: the training length if the config states one (max_position_embeddings,
  // max_seq_len, max_seqlen); 0 when it does not. SSMs have no context limit.
  int64_t training_length = 0;
  // `strand score`'s default --window for this model (config key strand_score_window, which
  // strand's shipped models carry); 0 when absent.
  int64_t score_window = 0;

  // Width of the hidden states the model outputs: 2 * d_model for PS, d_model otherwise.
  int hidden_width() const { return rcps ? 2 * d_model : d_model; }
  bool causal() const { return arch == Architecture::kMamba; }
};

// Parses config.json text; `source` names the file in errors ("config.json: 'n_layer' must
// be a positive integer, found -1"). Unknown model_type/architectures are errors naming them.
// Sizes are bounded (kMaxLayers, kMaxWidth, ...) so that a hostile config cannot ask for
// absurd allocations. Semantics follow the reference code:
// - caduceus: CaduceusConfig defaults for absent switches; vocab_size padded up to
//   pad_vocab_size_multiple and complement_map (keys parsed as integers) padded with the
//   identity, checked to be a permutation and an involution. Required for rcps; empty when
//   absent otherwise.
// - mamba (transformers MambaConfig): vocab_size is padded only when the config has
//   pad_vocab_size_multiple (transformers itself never pads; configs converted from mamba_ssm
//   carry the key with an already padded size); fused_add_norm is false (its block adds, then
//   norms); hidden_act must be silu.
// - MambaLMHeadModel (mamba_ssm config: architectures says so, or no model_type but d_model
//   and n_layer): vocab padded as mamba_ssm does, tie_embeddings, mamba_ssm_naming set.
inline constexpr int kMaxLayers = 4096;
inline constexpr int kMaxWidth = 1 << 16;        // d_model, d_inner, dt_rank
inline constexpr int kMaxStateOrConv = 1 << 12;  // d_state, d_conv
inline constexpr int kMaxVocab = 1 << 22;
ModelConfig parse_model_config(std::string_view json_text, std::string_view source);
ModelConfig load_model_config(const std::string& path);

}  // namespace strand::model
