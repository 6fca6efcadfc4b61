// Loading whole model folders: the hand-made test checkpoints of data/models-test (PH in F32,
// PS in F16 with buffers, transformers Mamba in BF16), the golden checkpoints of data/golden
// when present, and checkpoints written here from the name table and then broken one way at a
// time: missing, misshapen, non-float and extra tensors, tied tensors stored anyway, disabled
// biases present, complement buffers that disagree, truncated files, missing files.
#include "model/weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "model/safetensors.h"
#include "model/tensor_names.h"
#include "tests/model/safetensors_builder.h"
#include "tests/test_support.h"

namespace strand::model {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using test::RawTensor;

const char* kPhConfig = R"({
  "architectures": ["CaduceusForMaskedLM"], "model_type": "caduceus",
  "d_model": 8, "n_layer": 2, "vocab_size": 12, "pad_vocab_size_multiple": 8,
  "rcps": false, "bidirectional": true, "bidirectional_strategy": "add", "bidirectional_weight_tie": true,
  "fused_add_norm": true, "residual_in_fp32": false, "rms_norm": true, "norm_epsilon": 1e-5,
  "complement_map": {"0": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 10, "8": 9, "9": 8, "10": 7, "11": 11},
  "ssm_cfg": {"d_state": 4, "d_conv": 4, "expand": 2, "dt_rank": "auto", "conv_bias": true, "bias": false}
})";

std::string ps_config(bool fused) {
  nlohmann::json j = nlohmann::json::parse(kPhConfig);
  j["rcps"] = true;
  j["fused_add_norm"] = fused;
  return j.dump();
}

float value_of(size_t tensor, size_t i) {
  return static_cast<float>(static_cast<int>((tensor * 31 + i * 7) % 17) - 8) / 16;
}

// Every tensor the table lists for `config_json` (tied ones omitted, as save_pretrained does),
// as F32, with distinct deterministic values; the complement buffers as I64 when asked.
std::vector<RawTensor> tensors_for(const std::string& config_json, bool buffers = false) {
  const ModelConfig c = parse_model_config(config_json, "config.json");
  std::vector<RawTensor> out;
  size_t k = 0;
  for (const auto& t : tensor_names(c)) {
    if (!t.tied_to.empty()) continue;
    if (t.role == TensorRole::kComplementMap) {
      if (buffers) {
        const std::vector<int64_t> map(c.complement_map.begin(), c.complement_map.end());
        out.push_back({t.name, "I64", t.shape, test::le_bytes(map)});
      }
      continue;
    }
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    for (size_t i = 0; i < v.size(); ++i) v[i] = value_of(k, i);
    ++k;
    out.push_back({t.name, "F32", t.shape, test::le_bytes(v)});
  }
  return out;
}

void write_model(const fs::path& dir, const std::string& config_json, const std::vector<RawTensor>& tensors) {
  fs::create_directories(dir);
  test::write_file(dir / "config.json", config_json);
  test::write_file(dir / "model.safetensors", test::safetensors_image(tensors));
}

RawTensor& find(std::vector<RawTensor>& tensors, std::string_view name) {
  for (auto& t : tensors)
    if (t.name == name) return t;
  ADD_FAILURE() << "no tensor " << name;
  return tensors.front();
}

void remove_tensor(std::vector<RawTensor>& tensors, std::string_view name) {
  std::erase_if(tensors, [&](const RawTensor& t) { return t.name == name; });
}

// Sum of the elements of every float tensor in a file: the parameter count of a checkpoint
// that stores each tensor once.
int64_t float_elements(const SafetensorsFile& f) {
  int64_t n = 0;
  for (const auto& t : f.tensors())
    if (is_float(t.dtype)) n += t.numel();
  return n;
}

// The tensor of `name` in `f` as fp32.
std::vector<float> read(const SafetensorsFile& f, std::string_view name) {
  const StTensorInfo* t = f.find(name);
  EXPECT_NE(t, nullptr) << name;
  if (!t) return {};
  std::vector<float> v(static_cast<size_t>(t->numel()));
  f.read_f32(*t, v);
  return v;
}

void expect_a_is_minus_exp_a_log(const Tensor& a, const std::vector<float>& a_log) {
  ASSERT_EQ(a.data.size(), a_log.size());
  for (size_t i = 0; i < a_log.size(); ++i) EXPECT_FLOAT_EQ(a.data[i], -std::exp(a_log[i])) << i;
}

TEST(Weights, ShippedCaduceusPh) {
  const fs::path dir = test::fixture("models-test/caduceus-ph");
  const ModelWeights w = load_model(dir.string());
  const SafetensorsFile f((dir / "model.safetensors").string());
  EXPECT_EQ(w.config.arch, Architecture::kCaduceus);
  EXPECT_FALSE(w.config.rcps);
  ASSERT_EQ(w.layers.size(), 2u);
  EXPECT_EQ(w.embedding->shape, (std::vector<int64_t>{16, 8}));
  EXPECT_EQ(w.embedding->data, read(f, "caduceus.backbone.embeddings.word_embeddings.weight"));
  EXPECT_EQ(w.lm_head_w.get(), w.embedding.get());  // tied: one tensor
  const LayerWeights& l1 = w.layers[1];
  EXPECT_EQ(l1.rev.in_proj_w.get(), l1.fwd.in_proj_w.get());
  EXPECT_EQ(l1.rev.out_proj_w.get(), l1.fwd.out_proj_w.get());
  EXPECT_NE(l1.rev.x_proj_w.get(), l1.fwd.x_proj_w.get());
  EXPECT_EQ(l1.fwd.in_proj_b, nullptr);
  EXPECT_EQ(l1.fwd.out_proj_b, nullptr);
  EXPECT_EQ(l1.fwd.conv_w->shape, (std::vector<int64_t>{16, 4}));
  EXPECT_EQ(l1.fwd.conv_w->data, read(f, "caduceus.backbone.layers.1.mixer.mamba_fwd.conv1d.weight"));
  EXPECT_EQ(l1.rev.conv_b->data, read(f, "caduceus.backbone.layers.1.mixer.mamba_rev.conv1d.bias"));
  EXPECT_EQ(l1.fwd.x_proj_w->shape, (std::vector<int64_t>{9, 16}));
  EXPECT_EQ(l1.rev.dt_proj_w->data, read(f, "caduceus.backbone.layers.1.mixer.mamba_rev.dt_proj.weight"));
  expect_a_is_minus_exp_a_log(*l1.rev.A, read(f, "caduceus.backbone.layers.1.mixer.mamba_rev.A_log"));
  EXPECT_EQ(l1.norm_w->data, read(f, "caduceus.backbone.layers.1.norm.weight"));
  EXPECT_EQ(w.norm_f_w->data, read(f, "caduceus.backbone.norm_f.weight"));
  // By hand: embedding 128; per layer norm 8 + forward mixer 720 + reverse mixer without the
  // tied projections 336; norm_f 8.
  EXPECT_EQ(w.parameter_count(), 128 + 2 * (8 + 720 + 336) + 8);
  EXPECT_EQ(w.parameter_count(), float_elements(f));
  EXPECT_EQ(w.checksum, sha256_file((dir / "model.safetensors").string()));
  EXPECT_EQ(w.folder, dir.string());
  // 2-D views: [rows, prod(rest)], 1-D as one row.
  EXPECT_EQ(l1.fwd.conv_w->mat().rows, 16);
  EXPECT_EQ(l1.fwd.conv_w->mat().cols, 4);
  EXPECT_EQ(l1.fwd.D->mat().rows, 1);
  EXPECT_EQ(l1.fwd.D->mat().cols, 16);
}

TEST(Weights, ShippedCaduceusPsF16) {
  const fs::path dir = test::fixture("models-test/caduceus-ps");
  const ModelWeights w = load_model(dir.string());
  const SafetensorsFile f((dir / "model.safetensors").string());
  EXPECT_TRUE(w.config.rcps);
  EXPECT_FALSE(w.config.bidirectional_weight_tie);
  EXPECT_EQ(f.find("caduceus.backbone.layers.0.norm.submodule.weight")->dtype, StDType::kF16);
  EXPECT_EQ(w.embedding->data, read(f, "caduceus.backbone.embeddings.word_embeddings.embedding.weight"));
  EXPECT_EQ(w.lm_head_w.get(), w.embedding.get());
  const LayerWeights& l0 = w.layers[0];
  EXPECT_NE(l0.rev.in_proj_w.get(), l0.fwd.in_proj_w.get());  // no weight tie
  EXPECT_EQ(l0.rev.in_proj_w->data, read(f, "caduceus.backbone.layers.0.mixer.submodule.mamba_rev.in_proj.weight"));
  ASSERT_NE(l0.fwd.in_proj_b, nullptr);
  EXPECT_EQ(l0.fwd.in_proj_b->shape, (std::vector<int64_t>{32}));
  EXPECT_EQ(l0.rev.out_proj_b->data, read(f, "caduceus.backbone.layers.0.mixer.submodule.mamba_rev.out_proj.bias"));
  EXPECT_EQ(l0.norm_w->data, read(f, "caduceus.backbone.layers.0.norm.submodule.weight"));
  EXPECT_EQ(w.norm_f_w->data, read(f, "caduceus.backbone.norm_f.submodule.weight"));
  expect_a_is_minus_exp_a_log(*l0.fwd.A, read(f, "caduceus.backbone.layers.0.mixer.submodule.mamba_fwd.A_log"));
  EXPECT_EQ(w.parameter_count(), float_elements(f));  // the int64 buffers are not parameters
}

TEST(Weights, ShippedMambaBf16) {
  const fs::path dir = test::fixture("models-test/mamba");
  const ModelWeights w = load_model(dir.string());
  const SafetensorsFile f((dir / "model.safetensors").string());
  EXPECT_EQ(w.config.arch, Architecture::kMamba);
  EXPECT_EQ(f.find("backbone.embeddings.weight")->dtype, StDType::kBF16);
  EXPECT_EQ(w.embedding->data, read(f, "backbone.embeddings.weight"));
  EXPECT_EQ(w.lm_head_w.get(), w.embedding.get());
  EXPECT_EQ(w.layers[1].fwd.x_proj_w->data, read(f, "backbone.layers.1.mixer.x_proj.weight"));
  EXPECT_EQ(w.layers[1].rev.in_proj_w, nullptr);
  EXPECT_EQ(w.parameter_count(), float_elements(f));
}

// The checkpoints of the PyTorch golden script (tests/golden), when they have been generated.
TEST(Weights, GoldenCheckpointsLoad) {
  const fs::path golden = test::source_dir() / "data" / "golden";
  int loaded = 0;
  if (fs::is_directory(golden))
    for (const auto& entry : fs::recursive_directory_iterator(golden))
      if (entry.is_regular_file() && entry.path().filename() == "model.safetensors" &&
          fs::exists(entry.path().parent_path() / "config.json")) {
        const fs::path dir = entry.path().parent_path();
        SCOPED_TRACE(dir.string());
        ModelWeights w;
        ASSERT_NO_THROW(w = load_model(dir.string()));
        EXPECT_EQ(static_cast<int>(w.layers.size()), w.config.n_layer);
        EXPECT_EQ(w.parameter_count(), float_elements(SafetensorsFile(entry.path().string())));
        ++loaded;
      }
  if (loaded == 0) GTEST_SKIP() << "no golden checkpoints in " << golden;
}

class WeightsErrors : public ::testing::Test {
 protected:
  test::TempDir tmp;
  fs::path dir = tmp / "m";
  std::string st() const { return (dir / "model.safetensors").string(); }

  // Expects loading to fail naming the safetensors file and every one of `parts`.
  void expect_load_error(std::initializer_list<std::string_view> parts, const std::string& file = {}) {
    const std::string msg = test::error_message([&] { load_model(dir.string()); });
    ASSERT_FALSE(msg.empty()) << "no error";
    EXPECT_NE(msg.find(file.empty() ? st() : file), std::string::npos) << msg;
    for (auto p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "no '" << p << "' in: " << msg;
  }
};

TEST_F(WeightsErrors, BaselineLoads) {
  write_model(dir, kPhConfig, tensors_for(kPhConfig));
  const ModelWeights w = load_model(dir.string());
  EXPECT_EQ(w.layers[0].fwd.D->data[3], value_of(9, 3));  // the 10th stored tensor
}

TEST_F(WeightsErrors, MissingTensor) {
  auto t = tensors_for(kPhConfig);
  remove_tensor(t, "caduceus.backbone.layers.1.mixer.mamba_rev.A_log");
  write_model(dir, kPhConfig, t);
  expect_load_error({"missing tensor 'caduceus.backbone.layers.1.mixer.mamba_rev.A_log'", "A_log", "layer 1"});
}

TEST_F(WeightsErrors, WrongShape) {
  auto t = tensors_for(kPhConfig);
  RawTensor& x = find(t, "caduceus.backbone.layers.0.mixer.mamba_fwd.x_proj.weight");
  x.shape = {16, 9};  // transposed: same bytes, wrong shape
  write_model(dir, kPhConfig, t);
  expect_load_error(
      {"'caduceus.backbone.layers.0.mixer.mamba_fwd.x_proj.weight'", "shape [16, 9]", "expected [9, 16]", "d_state 4"});
}

TEST_F(WeightsErrors, NonFloatDtype) {
  auto t = tensors_for(kPhConfig);
  find(t, "caduceus.backbone.layers.0.mixer.mamba_fwd.D").dtype = "I32";
  write_model(dir, kPhConfig, t);
  expect_load_error({"'caduceus.backbone.layers.0.mixer.mamba_fwd.D'", "I32", "floating-point"});
}

TEST_F(WeightsErrors, TiedTensorStoredAnyway) {
  auto t = tensors_for(kPhConfig);
  const RawTensor fwd = find(t, "caduceus.backbone.layers.0.mixer.mamba_fwd.in_proj.weight");
  const RawTensor emb = find(t, "caduceus.backbone.embeddings.word_embeddings.weight");
  t.push_back({"caduceus.backbone.layers.0.mixer.mamba_rev.in_proj.weight", "F32", fwd.shape, fwd.bytes});
  t.push_back({"lm_head.weight", "F32", emb.shape, emb.bytes});
  write_model(dir, kPhConfig, t);
  const ModelWeights w = load_model(dir.string());  // bitwise equal: accepted, still one tensor
  EXPECT_EQ(w.layers[0].rev.in_proj_w.get(), w.layers[0].fwd.in_proj_w.get());
  EXPECT_EQ(w.lm_head_w.get(), w.embedding.get());

  t.back().bytes[5] ^= 1;  // the LM head now differs from the embedding
  write_model(dir, kPhConfig, t);
  expect_load_error(
      {"'lm_head.weight'", "ties it to 'caduceus.backbone.embeddings.word_embeddings.weight'", "ambiguous"});
}

TEST_F(WeightsErrors, UntiedLmHeadIsRequired) {
  nlohmann::json j = nlohmann::json::parse(kPhConfig);
  j["tie_word_embeddings"] = false;
  const std::string config = j.dump();
  auto t = tensors_for(config);
  write_model(dir, config, t);
  const ModelWeights w = load_model(dir.string());
  EXPECT_NE(w.lm_head_w.get(), w.embedding.get());
  EXPECT_EQ(w.parameter_count(), 128 + 2 * (8 + 720 + 336) + 8 + 128);
  remove_tensor(t, "lm_head.weight");
  write_model(dir, config, t);
  expect_load_error({"missing tensor 'lm_head.weight'"});
}

TEST_F(WeightsErrors, ExtraTensorsAreWarnedAbout) {
  auto t = tensors_for(kPhConfig);
  for (int i = 0; i < 7; ++i) t.push_back({cat("optimizer.state.", i), "F32", {1}, std::string(4, '\0')});
  write_model(dir, kPhConfig, t);
  ::testing::internal::CaptureStderr();
  EXPECT_NO_THROW(load_model(dir.string()));
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("[W::model]"), std::string::npos) << err;
  EXPECT_NE(err.find("ignoring 7 tensors"), std::string::npos) << err;
  EXPECT_NE(err.find("'optimizer.state.0'"), std::string::npos) << err;
  EXPECT_NE(err.find("and 2 more"), std::string::npos) << err;
}

TEST_F(WeightsErrors, DisabledBiasPresent) {
  auto t = tensors_for(kPhConfig);
  t.push_back({"caduceus.backbone.layers.0.mixer.mamba_fwd.in_proj.bias", "F32", {32}, std::string(128, '\0')});
  write_model(dir, kPhConfig, t);
  expect_load_error({"'caduceus.backbone.layers.0.mixer.mamba_fwd.in_proj.bias'", "disables that bias"});
}

TEST_F(WeightsErrors, PsNamingAndComplementBuffers) {
  for (bool fused : {true, false}) {
    const std::string config = ps_config(fused);
    auto t = tensors_for(config, /*buffers=*/true);
    write_model(dir, config, t);
    const ModelWeights w = load_model(dir.string());
    EXPECT_TRUE(w.config.rcps);
    EXPECT_EQ(w.config.fused_add_norm, fused);
    // The PH names in a PS config are missing tensors, named as PS names them.
    write_model(dir, config, tensors_for(kPhConfig));
    expect_load_error({"missing tensor 'caduceus.backbone.embeddings.word_embeddings.embedding.weight'"});
    // A buffer that disagrees with config.json.
    std::vector<int64_t> map(16);
    for (int i = 0; i < 16; ++i) map[static_cast<size_t>(i)] = i;
    find(t, "lm_head.complement_map").bytes = test::le_bytes(map);
    write_model(dir, config, t);
    expect_load_error({"'lm_head.complement_map'", "maps token 7 to 7", "disagree"});
    find(t, "lm_head.complement_map").dtype = "F64";
    write_model(dir, config, t);
    expect_load_error({"'lm_head.complement_map'", "F64", "integer"});
  }
}

TEST_F(WeightsErrors, TruncatedOrCorruptCheckpoint) {
  write_model(dir, kPhConfig, tensors_for(kPhConfig));
  const std::string whole = test::read_file(st());
  test::write_file(st(), whole.substr(0, whole.size() / 2));
  expect_load_error({"truncated"});
  test::write_file(st(), whole.substr(0, 5));
  expect_load_error({"too short"});
  std::string corrupt = whole;
  corrupt[8] = '#';  // the header's opening brace
  test::write_file(st(), corrupt);
  expect_load_error({"not valid JSON"});
}

TEST_F(WeightsErrors, FolderProblems) {
  expect_load_error({"no such model folder"}, dir.string());
  fs::create_directories(tmp / "file");
  test::write_file(tmp / "plain", "x");
  expect_error([&] { load_model((tmp / "plain").string()); }, {"plain", "not a folder"});
  fs::create_directories(dir);
  expect_load_error({"missing"}, (dir / "config.json").string());
  test::write_file(dir / "config.json", kPhConfig);
  expect_load_error({"missing", "config.json and model.safetensors"});
  test::write_file(dir / "model.safetensors.index.json", "{}");
  expect_load_error({"sharded"});
  fs::remove(dir / "model.safetensors.index.json");
  test::write_file(dir / "pytorch_model.bin", "x");
  expect_load_error({"pytorch_model.bin"});
  test::write_file(dir / "config.json", "{\"model_type\": \"caduceus\", \"d_model\": 8,,}");
  expect_load_error({"not valid JSON"}, (dir / "config.json").string());
  test::write_file(dir / "config.json", "{\"model_type\": \"hyena\"}");
  expect_load_error({"'hyena'", "unsupported"}, (dir / "config.json").string());
}

}  // namespace
}  // namespace strand::model
