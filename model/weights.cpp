// Loading a model folder: config.json → the name table → every tensor located, type- and
// shape-checked and widened to fp32, ties resolved by sharing one Tensor, and the forms the
// forward pass wants precomputed once (A = -exp(A_log), conv weights as [d_inner, d_conv]).
#include "model/weights.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_set>

#include "core/error.h"
#include "core/log.h"
#include "core/sha256.h"
#include "model/safetensors.h"
#include "model/tensor_names.h"

namespace strand::model {
namespace {

namespace fs = std::filesystem;

// How many unexpected tensor names a warning lists before "and N more".
constexpr size_t kExtraNamesShown = 5;

std::string config_summary(const ModelConfig& c) {
  return cat("config ", c.source, ": d_model ", c.d_model, ", d_state ", c.mixer.d_state, ", d_conv ", c.mixer.d_conv,
             ", expand ", c.mixer.expand, ", dt_rank ", c.mixer.dt_rank, ", vocab_size ", c.vocab_size);
}

std::string checkpoint_path(const fs::path& dir) {
  const fs::path st = dir / "model.safetensors";
  if (fs::exists(st)) return st.string();
  if (fs::exists(dir / "model.safetensors.index.json"))
    fail(st.string(),
         ": missing; the folder holds a sharded checkpoint (model.safetensors.index.json), which strand "
         "does not read: save it as one model.safetensors");
  if (fs::exists(dir / "pytorch_model.bin"))
    fail(st.string(),
         ": missing; the folder holds PyTorch pickle weights (pytorch_model.bin), which strand does not "
         "read: convert them to safetensors");
  fail(st.string(), ": missing (a model folder holds config.json and model.safetensors)");
}

// The fp32 contents of one located, checked tensor.
std::shared_ptr<Tensor> read_tensor(const SafetensorsFile& file, const StTensorInfo& info, const TensorName& entry,
                                    const ModelConfig& config) {
  if (!is_float(info.dtype))
    fail(file.path(), ": tensor '", entry.name, "' (", to_string(entry.role), ") has dtype ", to_string(info.dtype),
         ", expected a floating-point type (F32, F16, BF16 or F64)");
  if (info.shape != entry.shape)
    fail(file.path(), ": tensor '", entry.name, "' (", to_string(entry.role), ") has shape ", shape_string(info.shape),
         ", expected ", shape_string(entry.shape), " (", config_summary(config), ")");
  auto t = std::make_shared<Tensor>();
  t->shape = info.shape;
  t->data.resize(static_cast<size_t>(info.numel()));
  file.read_f32(info, t->data);
  return t;
}

void check_complement_buffer(const SafetensorsFile& file, const StTensorInfo& info, const TensorName& entry,
                             const ModelConfig& config) {
  if (info.shape != entry.shape)
    fail(file.path(), ": tensor '", entry.name, "' (", to_string(entry.role), ") has shape ", shape_string(info.shape),
         ", expected ", shape_string(entry.shape));
  if (is_float(info.dtype) || info.dtype == StDType::kBool || info.dtype == StDType::kF8E4M3 ||
      info.dtype == StDType::kF8E5M2)
    fail(file.path(), ": tensor '", entry.name, "' (", to_string(entry.role), ") has dtype ", to_string(info.dtype),
         ", expected an integer type");
  const std::vector<int64_t> stored = file.read_i64(info);
  for (size_t i = 0; i < stored.size(); ++i)
    if (stored[i] != config.complement_map[i])
      fail(file.path(), ": tensor '", entry.name, "' maps token ", i, " to ", stored[i], ", but 'complement_map' of ",
           config.source, " maps it to ", config.complement_map[i], ": the checkpoint and its config disagree");
}

// A tied tensor that is present anyway is harmless only when it is exactly its target.
void check_tied_copy(const SafetensorsFile& file, const StTensorInfo& info, const TensorName& entry,
                     const Tensor& target, const ModelConfig& config) {
  const auto copy = read_tensor(file, info, entry, config);
  if (copy->data.size() != target.data.size() ||
      std::memcmp(copy->data.data(), target.data.data(), target.data.size() * sizeof(float)) != 0)
    fail(file.path(), ": tensor '", entry.name, "' is stored, but the model ties it to '", entry.tied_to,
         "' and the two differ: ambiguous checkpoint (which one did the model use?)");
}

// Tensors the table does not know: a bias that the config disables would silently be
// ignored, so that is an error; anything else is warned about (training leftovers, heads).
void check_extras(const SafetensorsFile& file, const std::set<std::string>& known, const ModelConfig& config) {
  std::vector<std::string> extras;
  for (const auto& t : file.tensors()) {
    if (known.count(t.name)) continue;
    static constexpr std::string_view kBias = ".bias";
    if (t.name.size() > kBias.size() && t.name.ends_with(kBias) &&
        known.count(t.name.substr(0, t.name.size() - kBias.size()) + ".weight"))
      fail(file.path(), ": tensor '", t.name, "' is present, but ", config.source,
           " disables that bias (ssm_cfg.bias / conv_bias, use_bias / use_conv_bias)");
    extras.push_back(t.name);
  }
  if (extras.empty()) return;
  std::string listed;
  for (size_t i = 0; i < extras.size() && i < kExtraNamesShown; ++i) listed += cat(i ? ", " : "", "'", extras[i], "'");
  if (extras.size() > kExtraNamesShown) listed += cat(" and ", extras.size() - kExtraNamesShown, " more");
  log_warning("model", file.path(), ": ignoring ", extras.size(), " tensor", extras.size() == 1 ? "" : "s", " that ",
              to_string(config.arch), " does not use: ", listed);
}

std::shared_ptr<const Tensor> negative_exp(const Tensor& a_log) {
  auto a = std::make_shared<Tensor>();
  a->shape = a_log.shape;
  a->data.resize(a_log.data.size());
  // In double, then rounded once: the correctly rounded fp32 of -exp(A_log) in all but
  // vanishingly rare cases (the reference computes it in fp32 with a ~1 ulp exp).
  for (size_t i = 0; i < a_log.data.size(); ++i)
    a->data[i] = static_cast<float>(-std::exp(static_cast<double>(a_log.data[i])));
  return a;
}

void place(ModelWeights& w, const TensorName& entry, std::shared_ptr<Tensor> t) {
  if (entry.layer < 0) {
    switch (entry.role) {
      case TensorRole::kEmbedding: w.embedding = std::move(t); return;
      case TensorRole::kNormF: w.norm_f_w = std::move(t); return;
      case TensorRole::kLmHead: w.lm_head_w = std::move(t); return;
      default: STRAND_ASSERT(false, "model-level tensor of role ", to_string(entry.role));
    }
  }
  LayerWeights& layer = w.layers.at(static_cast<size_t>(entry.layer));
  if (entry.role == TensorRole::kLayerNorm) {
    layer.norm_w = std::move(t);
    return;
  }
  MixerWeights& m = entry.direction == 0 ? layer.fwd : layer.rev;
  switch (entry.role) {
    case TensorRole::kInProjW: m.in_proj_w = std::move(t); return;
    case TensorRole::kInProjB: m.in_proj_b = std::move(t); return;
    case TensorRole::kConvW: m.conv_w = std::move(t); return;
    case TensorRole::kConvB: m.conv_b = std::move(t); return;
    case TensorRole::kXProjW: m.x_proj_w = std::move(t); return;
    case TensorRole::kDtProjW: m.dt_proj_w = std::move(t); return;
    case TensorRole::kDtProjB: m.dt_proj_b = std::move(t); return;
    case TensorRole::kALog: m.A = negative_exp(*t); return;
    case TensorRole::kD: m.D = std::move(t); return;
    case TensorRole::kOutProjW: m.out_proj_w = std::move(t); return;
    case TensorRole::kOutProjB: m.out_proj_b = std::move(t); return;
    default: STRAND_ASSERT(false, "layer tensor of role ", to_string(entry.role));
  }
}

}  // namespace

kernels::ConstMatF Tensor::mat() const {
  if (shape.size() <= 1) return kernels::ConstMatF(data.data(), 1, numel());
  const int64_t rows = shape[0];
  return kernels::ConstMatF(data.data(), rows, rows == 0 ? 0 : numel() / rows);
}

int64_t ModelWeights::parameter_count() const {
  std::unordered_set<const Tensor*> seen;
  int64_t total = 0;
  const auto count = [&](const std::shared_ptr<const Tensor>& t) {
    if (t && seen.insert(t.get()).second) total += t->numel();
  };
  count(embedding);
  count(norm_f_w);
  count(lm_head_w);
  for (const auto& layer : layers) {
    count(layer.norm_w);
    for (const MixerWeights* m : {&layer.fwd, &layer.rev})
      for (const auto* t : {&m->in_proj_w, &m->in_proj_b, &m->conv_w, &m->conv_b, &m->x_proj_w, &m->dt_proj_w,
                            &m->dt_proj_b, &m->A, &m->D, &m->out_proj_w, &m->out_proj_b})
        count(*t);
  }
  return total;
}

ModelWeights load_model(const std::string& folder) {
  const fs::path dir(folder);
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail(folder, ": no such model folder");
  if (!fs::is_directory(dir, ec))
    fail(folder, ": not a folder (a model is a folder holding config.json and model.safetensors)");
  const fs::path config_path = dir / "config.json";
  if (!fs::exists(config_path, ec))
    fail(config_path.string(), ": missing (a model folder holds config.json and model.safetensors)");

  ModelWeights w;
  w.folder = folder;
  w.config = load_model_config(config_path.string());
  const ModelConfig& config = w.config;
  const SafetensorsFile file(checkpoint_path(dir));

  w.layers.resize(static_cast<size_t>(config.n_layer));
  std::map<std::string, std::shared_ptr<Tensor>> by_name;  // for the ties
  std::set<std::string> known;
  for (const TensorName& entry : tensor_names(config)) {
    known.insert(entry.name);
    const StTensorInfo* info = file.find(entry.name);
    if (entry.role == TensorRole::kComplementMap) {
      if (info) check_complement_buffer(file, *info, entry, config);
      continue;
    }
    std::shared_ptr<Tensor> t;
    if (!entry.tied_to.empty()) {
      const auto target = by_name.find(entry.tied_to);
      STRAND_ASSERT(target != by_name.end(), "tie target '", entry.tied_to, "' listed after '", entry.name, "'");
      if (info) check_tied_copy(file, *info, entry, *target->second, config);
      t = target->second;
    } else if (info) {
      t = read_tensor(file, *info, entry, config);
      // [d_inner, 1, d_conv] → [d_inner, d_conv]: the same bytes (conv weights are never tied).
      if (entry.role == TensorRole::kConvW) t->shape = {config.mixer.d_inner(), config.mixer.d_conv};
    } else if (entry.required) {
      fail(file.path(), ": missing tensor '", entry.name, "' (", to_string(entry.role),
           entry.layer >= 0 ? cat(" of layer ", entry.layer) : std::string(), ") that ", config.source, " implies");
    } else {
      continue;
    }
    by_name.emplace(entry.name, t);
    place(w, entry, std::move(t));
  }
  check_extras(file, known, config);

  Sha256 sha;
  sha.update(file.file_bytes());
  w.checksum = sha.finish_hex();
  log_debug("model", "loaded ", to_string(config.arch), config.rcps ? " (PS)" : "", " from ", folder, ": ",
            w.parameter_count(), " parameters, sha256 ", w.checksum);
  return w;
}

}  // namespace strand::model
