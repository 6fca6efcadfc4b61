// config.json → ModelConfig. Every key is read through one typed getter that names the key
// (with its path, e.g. 'ssm_cfg.d_state') and what was wrong, so a bad config fails once, here,
// with a message that says how to fix it, never later as a shape mismatch.
#include "model/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/text.h"

namespace strand::model {
namespace {

using Json = nlohmann::ordered_json;

// The DNA character vocabulary (genomics/tokenizer.h) has 12 tokens; model/ must not depend
// on genomics/, so only the size is checked here.
constexpr int kDnaVocabTokens = 12;
// d_inner = expand * d_model, and products of it with d_state, must stay far from overflow.
constexpr int64_t kMaxInner = int64_t{1} << 20;

std::string show(const Json& value) {
  // JSON text is already escaped; long values are cut.
  std::string text = value.dump(-1, ' ', true, Json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

// Typed access to one JSON object's keys; `prefix` ("ssm_cfg.") qualifies key names in errors.
class Keys {
 public:
  Keys(const Json& object, std::string_view source, std::string prefix = {})
      : obj_(object), source_(source), prefix_(std::move(prefix)) {}

  // The value, or nullptr when the key is absent.
  const Json* find(std::string_view key) const {
    const auto it = obj_.find(std::string(key));
    return it == obj_.end() ? nullptr : &*it;
  }
  // Absent or JSON null (Python None: "use the default").
  bool absent_or_null(std::string_view key) const {
    const Json* v = find(key);
    return v == nullptr || v->is_null();
  }

  [[noreturn]] void bad(std::string_view key, std::string_view expected, const Json& found) const {
    fail(source_, ": '", prefix_, key, "' must be ", expected, ", found ", show(found));
  }

  int get_int(std::string_view key, int64_t lo, int64_t hi, const int* fallback = nullptr) const {
    const Json* v = find(key);
    if (v == nullptr) {
      if (fallback) return *fallback;
      fail(source_, ": required key '", prefix_, key, "' is missing");
    }
    const std::string range = cat("an integer in [", lo, ", ", hi, "]");
    if (!v->is_number_integer()) bad(key, range, *v);
    // nlohmann stores non-negative integers as unsigned: compare in the matching type.
    if (v->is_number_unsigned() ? v->get<uint64_t>() > static_cast<uint64_t>(hi) : v->get<int64_t>() > hi)
      bad(key, range, *v);
    if (v->is_number_unsigned() ? lo > 0 && v->get<uint64_t>() < static_cast<uint64_t>(lo) : v->get<int64_t>() < lo)
      bad(key, range, *v);
    return static_cast<int>(v->get<int64_t>());
  }
  int get_int(std::string_view key, int64_t lo, int64_t hi, int fallback) const {
    return get_int(key, lo, hi, &fallback);
  }

  bool get_bool(std::string_view key, bool fallback) const {
    const Json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) bad(key, "true or false", *v);
    return v->get<bool>();
  }

  float get_epsilon(std::string_view key, float fallback) const {
    const Json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) bad(key, "a number", *v);
    const double d = v->get<double>();
    if (!std::isfinite(d) || d < 0 || d > 1) bad(key, "a number in [0, 1]", *v);
    return static_cast<float>(d);
  }

  // "auto" → ceil(d_model / 16), as Mamba's constructor resolves it.
  int get_dt_rank(std::string_view key, int d_model) const {
    const Json* v = find(key);
    if (v == nullptr || (v->is_string() && v->get<std::string>() == "auto")) return (d_model + 15) / 16;
    if (v->is_string()) bad(key, "\"auto\" or a positive integer", *v);
    return get_int(key, 1, kMaxWidth);
  }

  const std::string& source() const { return source_; }
  const std::string& prefix() const { return prefix_; }
  const Json& object() const { return obj_; }

 private:
  const Json& obj_;
  std::string source_;
  std::string prefix_;
};

int pad_vocab(int vocab, int multiple) {
  const int64_t padded = (int64_t{vocab} + multiple - 1) / multiple * multiple;
  return static_cast<int>(padded);
}

void check_vocab(const ModelConfig& c, const Keys& keys, std::string_view key) {
  if (c.vocab_size < kDnaVocabTokens)
    fail(keys.source(), ": '", key, "' is ", c.vocab_size, ", smaller than the ", kDnaVocabTokens,
         "-token DNA vocabulary that strand feeds models");
  if (c.vocab_size > kMaxVocab) fail(keys.source(), ": '", key, "' ", c.vocab_size, " (padded) is too large");
}

void check_silu(const Keys& keys, std::string_view key) {
  const Json* act = keys.find(key);
  if (act && !(act->is_string() && act->get<std::string>() == "silu"))
    fail(keys.source(), ": '", key, "' is ", show(*act), "; strand implements Mamba with \"silu\" only");
}

void require_rms_norm(const ModelConfig& c, const Keys& keys) {
  if (!c.rms_norm)
    fail(keys.source(),
         ": 'rms_norm' is false (LayerNorm): not supported; strand implements the RMSNorm that "
         "the published models use");
}

// Mamba-1 mixer keys of an ssm_cfg object (Caduceus and mamba_ssm configs).
MixerConfig parse_ssm_cfg(const Keys& top, int d_model) {
  MixerConfig m;
  m.d_model = d_model;
  const Json* cfg = top.find("ssm_cfg");
  if (cfg == nullptr || cfg->is_null()) {
    m.dt_rank = (d_model + 15) / 16;
    return m;
  }
  if (!cfg->is_object()) top.bad("ssm_cfg", "an object", *cfg);
  const Keys k(*cfg, top.source(), "ssm_cfg.");
  if (const Json* layer = k.find("layer"); layer && !(layer->is_string() && layer->get<std::string>() == "Mamba1"))
    fail(top.source(), ": 'ssm_cfg.layer' is ", show(*layer), "; strand implements Mamba-1 mixers only");
  m.d_state = k.get_int("d_state", 1, kMaxStateOrConv, 16);
  m.d_conv = k.get_int("d_conv", 1, kMaxStateOrConv, 4);
  m.expand = k.get_int("expand", 1, 64, 2);
  m.dt_rank = k.get_dt_rank("dt_rank", d_model);
  m.conv_bias = k.get_bool("conv_bias", true);
  m.bias = k.get_bool("bias", false);
  // dt_min, dt_max, dt_init, dt_scale, dt_init_floor, use_fast_path: initialisation and kernel
  // choices that do not change a trained model's function.
  return m;
}

// Keys are strings ("0".."15") in config.json: parsed as integers, required to be exactly
// 0..n-1; the map is then padded with the identity up to the padded vocabulary, as the
// reference does, and checked to be an involutive permutation (complementing twice is the
// identity, and no two tokens share a complement).
std::vector<int> parse_complement_map(const Keys& top, int vocab_size) {
  const Json& map = *top.find("complement_map");
  if (!map.is_object()) top.bad("complement_map", "an object {\"token id\": complement id}", map);
  const auto n = static_cast<int64_t>(map.size());
  if (n > vocab_size)
    fail(top.source(), ": 'complement_map' has ", n, " entries, more than the padded vocab_size ", vocab_size);
  std::vector<int> result(static_cast<size_t>(vocab_size), -1);
  for (const auto& [key, value] : map.items()) {
    int64_t id = -1;
    try {
      id = parse_int64(key, "complement_map key");
    } catch (const Error&) {
      fail(top.source(), ": 'complement_map' key ", quote_for_message(key), " is not an integer token id");
    }
    if (id < 0 || id >= n)
      fail(top.source(), ": 'complement_map' key ", id, " is outside 0..", n - 1,
           " (the keys must be the token ids 0..n-1)");
    if (result[static_cast<size_t>(id)] != -1) fail(top.source(), ": 'complement_map' has token id ", id, " twice");
    if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() >= vocab_size)
      fail(top.source(), ": 'complement_map' value of ", quote_for_message(key), " must be a token id in [0, ",
           vocab_size, "), found ", show(value));
    result[static_cast<size_t>(id)] = static_cast<int>(value.get<int64_t>());
  }
  for (int64_t i = n; i < vocab_size; ++i) result[static_cast<size_t>(i)] = static_cast<int>(i);
  for (int i = 0; i < vocab_size; ++i) {
    const int c = result[static_cast<size_t>(i)];
    if (result[static_cast<size_t>(c)] != i)
      fail(top.source(), ": 'complement_map' is not an involution: ", i, " -> ", c, " but ", c, " -> ",
           result[static_cast<size_t>(c)], " (after padding to vocab_size ", vocab_size, ")");
  }
  return result;
}

void read_training_length(ModelConfig& c, const Keys& keys) {
  // strand's own key (shipped models set it): the variant-scoring window the model was made for.
  if (keys.find("strand_score_window")) c.score_window = keys.get_int("strand_score_window", 2, 1 << 24);
  for (const char* key : {"max_position_embeddings", "max_seq_len", "max_seqlen"}) {
    const Json* v = keys.find(key);
    if (v && v->is_number_integer() && !v->is_number_unsigned() && v->get<int64_t>() > 0) {
      c.training_length = v->get<int64_t>();
      return;
    }
    if (v && v->is_number_unsigned() && v->get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) {
      c.training_length = static_cast<int64_t>(v->get<uint64_t>());
      return;
    }
  }
}

void check_mixer(const ModelConfig& c, const Keys& keys) {
  if (int64_t{c.mixer.expand} * c.mixer.d_model > kMaxInner)
    fail(keys.source(), ": d_inner = expand * d_model = ", int64_t{c.mixer.expand} * c.mixer.d_model, " is too large");
}

// The keys Caduceus shares with mamba_ssm's MambaConfig (d_model, n_layer, vocab_size,
// pad_vocab_size_multiple, ssm_cfg, rms_norm, residual_in_fp32, fused_add_norm).
void parse_mamba_ssm_keys(const Keys& k, ModelConfig& c) {
  c.d_model = k.get_int("d_model", 1, kMaxWidth);
  c.n_layer = k.get_int("n_layer", 1, kMaxLayers);
  const int vocab = k.get_int("vocab_size", 1, kMaxVocab);
  const int multiple = k.get_int("pad_vocab_size_multiple", 1, 1 << 16, 8);
  c.vocab_size = pad_vocab(vocab, multiple);
  check_vocab(c, k, "vocab_size");
  c.mixer = parse_ssm_cfg(k, c.d_model);
  check_mixer(c, k);
  c.rms_norm = k.get_bool("rms_norm", true);
  require_rms_norm(c, k);
  c.residual_in_fp32 = k.get_bool("residual_in_fp32", true);
  c.fused_add_norm = k.get_bool("fused_add_norm", true);
}

ModelConfig parse_caduceus(const Keys& k) {
  ModelConfig c;
  c.arch = Architecture::kCaduceus;
  parse_mamba_ssm_keys(k, c);
  c.norm_epsilon = k.get_epsilon("norm_epsilon", 1e-5f);
  c.bidirectional = k.get_bool("bidirectional", true);
  c.bidirectional_weight_tie = k.get_bool("bidirectional_weight_tie", true);
  c.rcps = k.get_bool("rcps", false);
  // RCPS's tie_weights() ties unconditionally; transformers honours the key for PH.
  c.tie_word_embeddings = c.rcps || k.get_bool("tie_word_embeddings", true);
  if (!k.absent_or_null("bidirectional_strategy")) {
    const Json& s = *k.find("bidirectional_strategy");
    if (s == "add") {
      c.strategy = BidirectionalStrategy::kAdd;
    } else if (s == "ew_multiply") {
      c.strategy = BidirectionalStrategy::kEwMultiply;
    } else {
      k.bad("bidirectional_strategy", "\"add\" or \"ew_multiply\"", s);
    }
  }
  if (!k.absent_or_null("complement_map")) {
    c.complement_map = parse_complement_map(k, c.vocab_size);
  } else if (c.rcps) {
    fail(k.source(), ": 'rcps' is true but 'complement_map' is missing (RC-equivariant models need it)");
  }
  read_training_length(c, k);
  return c;
}

ModelConfig parse_transformers_mamba(const Keys& k) {
  ModelConfig c;
  c.arch = Architecture::kMamba;
  c.d_model = k.get_int("hidden_size", 1, kMaxWidth);
  c.n_layer = k.get_int("num_hidden_layers", 1, kMaxLayers);
  c.vocab_size = k.get_int("vocab_size", 1, kMaxVocab);
  // transformers' MambaConfig has no pad_vocab_size_multiple and does not pad; configs that
  // carry the key (converted from mamba_ssm, or written with the DNA vocabulary of 12) mean
  // the embedding was padded as mamba_ssm pads it.
  if (k.find("pad_vocab_size_multiple"))
    c.vocab_size = pad_vocab(c.vocab_size, k.get_int("pad_vocab_size_multiple", 1, 1 << 16));
  check_vocab(c, k, "vocab_size");
  c.mixer.d_model = c.d_model;
  c.mixer.d_state = k.get_int("state_size", 1, kMaxStateOrConv, 16);
  c.mixer.d_conv = k.get_int("conv_kernel", 1, kMaxStateOrConv, 4);
  c.mixer.expand = k.get_int("expand", 1, 64, 2);
  c.mixer.dt_rank = k.get_dt_rank("time_step_rank", c.d_model);
  c.mixer.bias = k.get_bool("use_bias", false);
  c.mixer.conv_bias = k.get_bool("use_conv_bias", true);
  check_mixer(c, k);
  check_silu(k, "hidden_act");
  c.rms_norm = true;  // MambaRMSNorm
  c.norm_epsilon = k.get_epsilon("layer_norm_epsilon", 1e-5f);
  c.residual_in_fp32 = k.get_bool("residual_in_fp32", true);
  c.fused_add_norm = false;
  c.bidirectional = false;
  c.bidirectional_weight_tie = false;
  c.tie_word_embeddings = k.get_bool("tie_word_embeddings", true);
  read_training_length(c, k);
  return c;
}

ModelConfig parse_mamba_ssm(const Keys& k) {
  ModelConfig c;
  c.arch = Architecture::kMamba;
  c.mamba_ssm_naming = true;
  parse_mamba_ssm_keys(k, c);
  c.norm_epsilon = 1e-5f;  // mamba_ssm's create_block default; not a config key there
  c.bidirectional = false;
  c.bidirectional_weight_tie = false;
  c.tie_word_embeddings = k.get_bool("tie_embeddings", true);
  read_training_length(c, k);
  return c;
}

bool has(const std::vector<std::string>& list, std::string_view what) {
  return std::find(list.begin(), list.end(), what) != list.end();
}

}  // namespace

const char* to_string(Architecture arch) {
  switch (arch) {
    case Architecture::kCaduceus: return "CaduceusForMaskedLM";
    case Architecture::kMamba: return "MambaForCausalLM";
  }
  return "?";
}

const char* to_string(BidirectionalStrategy strategy) {
  switch (strategy) {
    case BidirectionalStrategy::kAdd: return "add";
    case BidirectionalStrategy::kEwMultiply: return "ew_multiply";
  }
  return "?";
}

ModelConfig parse_model_config(std::string_view json_text, std::string_view source) {
  Json root;
  try {
    root = Json::parse(json_text.begin(), json_text.end());
  } catch (const Json::exception& e) {
    fail(source, ": not valid JSON: ", e.what());
  }
  if (!root.is_object()) fail(source, ": a model config must be a JSON object, found ", show(root));
  const Keys k(root, source);

  std::string model_type;
  if (!k.absent_or_null("model_type")) {
    const Json& t = *k.find("model_type");
    if (!t.is_string()) k.bad("model_type", "a string", t);
    model_type = t.get<std::string>();
  }
  std::vector<std::string> architectures;
  if (!k.absent_or_null("architectures")) {
    const Json& a = *k.find("architectures");
    if (!a.is_array()) k.bad("architectures", "an array of class names", a);
    for (const Json& name : a) {
      if (!name.is_string()) k.bad("architectures", "an array of class names", a);
      architectures.push_back(name.get<std::string>());
    }
  }
  const std::string described = cat("model_type ", quote_for_message(model_type), ", architectures ",
                                    k.find("architectures") ? show(*k.find("architectures")) : std::string("(none)"));

  ModelConfig config;
  if (model_type == "caduceus" && (architectures.empty() || has(architectures, "CaduceusForMaskedLM"))) {
    config = parse_caduceus(k);
  } else if (model_type == "mamba" && (architectures.empty() || has(architectures, "MambaForCausalLM"))) {
    config = parse_transformers_mamba(k);
  } else if (has(architectures, "MambaLMHeadModel") ||
             (model_type.empty() && architectures.empty() && k.find("d_model") && k.find("n_layer"))) {
    config = parse_mamba_ssm(k);
  } else {
    fail(source, ": unsupported model (", described,
         "): strand runs CaduceusForMaskedLM (model_type 'caduceus'), MambaForCausalLM (model_type 'mamba') and "
         "mamba_ssm's MambaLMHeadModel");
  }
  config.source = std::string(source);
  return config;
}

ModelConfig load_model_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open the model config");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(path, ": read error");
  return parse_model_config(text.str(), path);
}

}  // namespace strand::model
