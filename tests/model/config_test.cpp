// config.json parsing: the shipped test configs, every Caduceus switch, transformers and
// mamba_ssm Mamba configs, dt_rank "auto", complement_map keys as strings in any order, and
// errors naming the file and the key for bad JSON, unknown architectures, wrong types and sizes.
#include "model/config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tests/test_support.h"

namespace strand::model {
namespace {

using test::expect_error;
using Json = nlohmann::ordered_json;

// A minimal Caduceus config (published key set), modified per test.
Json caduceus_json() {
  Json map = Json::object();
  for (int i = 0; i < 12; ++i) map[std::to_string(i)] = i;
  map["7"] = 10, map["10"] = 7, map["8"] = 9, map["9"] = 8;
  return {{"architectures", {"CaduceusForMaskedLM"}},
          {"model_type", "caduceus"},
          {"d_model", 256},
          {"n_layer", 16},
          {"vocab_size", 12},
          {"pad_vocab_size_multiple", 8},
          {"rcps", true},
          {"bidirectional", true},
          {"bidirectional_strategy", "add"},
          {"bidirectional_weight_tie", true},
          {"fused_add_norm", true},
          {"residual_in_fp32", false},
          {"rms_norm", true},
          {"norm_epsilon", 1e-5},
          {"complement_map", map},
          {"ssm_cfg",
           {{"d_state", 16},
            {"d_conv", 4},
            {"expand", 2},
            {"dt_rank", "auto"},
            {"conv_bias", true},
            {"bias", false},
            {"dt_min", 0.001},
            {"dt_init", "random"},
            {"use_fast_path", true}}}};
}

ModelConfig parse(const Json& j) {
  return parse_model_config(j.dump(), "m/config.json");
}

void expect_config_error(const Json& j, std::initializer_list<std::string_view> parts) {
  const std::string msg = test::error_message([&] { parse(j); });
  ASSERT_FALSE(msg.empty()) << "no error for " << j.dump();
  EXPECT_NE(msg.find("m/config.json"), std::string::npos) << msg;
  for (auto p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "no '" << p << "' in: " << msg;
}

TEST(Config, CaduceusPublishedShape) {
  const ModelConfig c = parse(caduceus_json());
  EXPECT_EQ(c.arch, Architecture::kCaduceus);
  EXPECT_EQ(c.source, "m/config.json");
  EXPECT_EQ(c.n_layer, 16);
  EXPECT_EQ(c.d_model, 256);
  EXPECT_EQ(c.hidden_width(), 512);
  EXPECT_EQ(c.vocab_size, 16);  // 12 padded to a multiple of 8
  EXPECT_EQ(c.mixer.d_model, 256);
  EXPECT_EQ(c.mixer.d_state, 16);
  EXPECT_EQ(c.mixer.d_conv, 4);
  EXPECT_EQ(c.mixer.expand, 2);
  EXPECT_EQ(c.mixer.d_inner(), 512);
  EXPECT_EQ(c.mixer.dt_rank, 16);  // "auto" = ceil(256 / 16)
  EXPECT_TRUE(c.mixer.conv_bias);
  EXPECT_FALSE(c.mixer.bias);
  EXPECT_TRUE(c.rcps);
  EXPECT_TRUE(c.bidirectional);
  EXPECT_EQ(c.strategy, BidirectionalStrategy::kAdd);
  EXPECT_TRUE(c.bidirectional_weight_tie);
  EXPECT_TRUE(c.fused_add_norm);
  EXPECT_FALSE(c.residual_in_fp32);
  EXPECT_FLOAT_EQ(c.norm_epsilon, 1e-5f);
  EXPECT_FALSE(c.causal());
  EXPECT_EQ(c.training_length, 0);
  // Keys "0".."11" parsed as integers, A(7)<->T(10), C(8)<->G(9), padded with the identity.
  EXPECT_EQ(c.complement_map, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 11, 12, 13, 14, 15}));
}

TEST(Config, ComplementMapKeysInStringSortedOrder) {
  // transformers writes config.json with sort_keys: "0","1","10","11","2",...
  Json j = caduceus_json();
  Json sorted = Json::object();
  std::vector<std::string> keys;
  for (int i = 0; i < 16; ++i) keys.push_back(std::to_string(i));
  std::sort(keys.begin(), keys.end());
  const std::vector<int> expected = {0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 11, 12, 13, 14, 15};
  for (const auto& k : keys) sorted[k] = expected[static_cast<size_t>(std::stoi(k))];
  j["complement_map"] = sorted;
  j["vocab_size"] = 16;
  EXPECT_EQ(parse(j).complement_map, expected);
}

TEST(Config, DtRankAutoRoundsUpAndIntegersAreKept) {
  Json j = caduceus_json();
  j["d_model"] = 17;
  EXPECT_EQ(parse(j).mixer.dt_rank, 2);
  j["d_model"] = 8;
  EXPECT_EQ(parse(j).mixer.dt_rank, 1);
  j["ssm_cfg"]["dt_rank"] = 5;
  EXPECT_EQ(parse(j).mixer.dt_rank, 5);
  j["ssm_cfg"].erase("dt_rank");
  EXPECT_EQ(parse(j).mixer.dt_rank, 1);
  j["ssm_cfg"] = nullptr;  // Python None: every mixer default
  const ModelConfig c = parse(j);
  EXPECT_EQ(c.mixer.d_state, 16);
  EXPECT_EQ(c.mixer.dt_rank, 1);
}

TEST(Config, CaduceusSwitches) {
  Json j = caduceus_json();
  j["rcps"] = false;
  j["bidirectional_strategy"] = "ew_multiply";
  j["bidirectional_weight_tie"] = false;
  j["fused_add_norm"] = false;
  j["residual_in_fp32"] = true;
  j["norm_epsilon"] = 1e-6;
  j["ssm_cfg"]["bias"] = true;
  j["ssm_cfg"]["conv_bias"] = false;
  j["pad_vocab_size_multiple"] = 1;
  j["max_position_embeddings"] = 131072;
  ModelConfig c = parse(j);
  EXPECT_FALSE(c.rcps);
  EXPECT_EQ(c.hidden_width(), 256);
  EXPECT_EQ(c.strategy, BidirectionalStrategy::kEwMultiply);
  EXPECT_FALSE(c.bidirectional_weight_tie);
  EXPECT_FALSE(c.fused_add_norm);
  EXPECT_TRUE(c.residual_in_fp32);
  EXPECT_FLOAT_EQ(c.norm_epsilon, 1e-6f);
  EXPECT_TRUE(c.mixer.bias);
  EXPECT_FALSE(c.mixer.conv_bias);
  EXPECT_EQ(c.vocab_size, 12);
  EXPECT_EQ(c.complement_map.size(), 12u);
  EXPECT_EQ(c.training_length, 131072);
  EXPECT_TRUE(c.tie_word_embeddings);
  j["bidirectional_strategy"] = nullptr;  // None means "add" in the reference
  EXPECT_EQ(parse(j).strategy, BidirectionalStrategy::kAdd);
  j["bidirectional"] = false;
  EXPECT_FALSE(parse(j).bidirectional);
  j["tie_word_embeddings"] = false;  // honoured for PH ...
  EXPECT_FALSE(parse(j).tie_word_embeddings);
  j["rcps"] = true;  // ... but RCPS ties regardless
  EXPECT_TRUE(parse(j).tie_word_embeddings);
  // PH without a complement map is fine (the map is only needed by PS).
  j = caduceus_json();
  j["rcps"] = false;
  j.erase("complement_map");
  EXPECT_TRUE(parse(j).complement_map.empty());
}

TEST(Config, CaduceusDefaultsFollowTheReference) {
  const Json j = {{"model_type", "caduceus"}, {"d_model", 32}, {"n_layer", 2}, {"vocab_size", 12}};
  const ModelConfig c = parse(j);
  EXPECT_TRUE(c.rms_norm);
  EXPECT_TRUE(c.residual_in_fp32);
  EXPECT_TRUE(c.fused_add_norm);
  EXPECT_TRUE(c.bidirectional);
  EXPECT_TRUE(c.bidirectional_weight_tie);
  EXPECT_FALSE(c.rcps);
  EXPECT_EQ(c.vocab_size, 16);
  EXPECT_EQ(c.mixer.dt_rank, 2);
}

TEST(Config, TransformersMamba) {
  const Json j = {{"architectures", {"MambaForCausalLM"}},
                  {"model_type", "mamba"},
                  {"hidden_size", 128},
                  {"num_hidden_layers", 4},
                  {"state_size", 8},
                  {"conv_kernel", 3},
                  {"expand", 3},
                  {"time_step_rank", "auto"},
                  {"use_bias", true},
                  {"use_conv_bias", false},
                  {"layer_norm_epsilon", 1e-6},
                  {"residual_in_fp32", false},
                  {"vocab_size", 12},
                  {"pad_vocab_size_multiple", 8},
                  {"tie_word_embeddings", false},
                  {"hidden_act", "silu"}};
  const ModelConfig c = parse(j);
  EXPECT_EQ(c.arch, Architecture::kMamba);
  EXPECT_TRUE(c.causal());
  EXPECT_FALSE(c.mamba_ssm_naming);
  EXPECT_EQ(c.d_model, 128);
  EXPECT_EQ(c.n_layer, 4);
  EXPECT_EQ(c.mixer.d_state, 8);
  EXPECT_EQ(c.mixer.d_conv, 3);
  EXPECT_EQ(c.mixer.expand, 3);
  EXPECT_EQ(c.mixer.dt_rank, 8);
  EXPECT_TRUE(c.mixer.bias);
  EXPECT_FALSE(c.mixer.conv_bias);
  EXPECT_FLOAT_EQ(c.norm_epsilon, 1e-6f);
  EXPECT_FALSE(c.residual_in_fp32);
  EXPECT_EQ(c.vocab_size, 16);  // padded because the config has pad_vocab_size_multiple
  Json unpadded = j;
  unpadded.erase("pad_vocab_size_multiple");
  EXPECT_EQ(parse(unpadded).vocab_size, 12);  // transformers itself does not pad
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.bidirectional);
  EXPECT_FALSE(c.rcps);
  EXPECT_EQ(c.hidden_width(), 128);
}

TEST(Config, MambaSsmConfig) {
  const Json plain = {{"d_model", 64},          {"n_layer", 2},
                      {"vocab_size", 12},       {"ssm_cfg", Json::object()},
                      {"rms_norm", true},       {"residual_in_fp32", true},
                      {"fused_add_norm", true}, {"pad_vocab_size_multiple", 8}};
  for (Json j : {plain, [&] {
                   Json k = plain;
                   k["architectures"] = {"MambaLMHeadModel"};
                   return k;
                 }()}) {
    const ModelConfig c = parse(j);
    EXPECT_EQ(c.arch, Architecture::kMamba);
    EXPECT_TRUE(c.mamba_ssm_naming);
    EXPECT_EQ(c.vocab_size, 16);
    EXPECT_EQ(c.mixer.dt_rank, 4);
    EXPECT_TRUE(c.tie_word_embeddings);
  }
  Json j = plain;
  j["ssm_cfg"] = {{"layer", "Mamba2"}};
  expect_config_error(j, {"'ssm_cfg.layer'", "Mamba2", "Mamba-1"});
}

TEST(Config, BadJsonNamesThePosition) {
  const std::string msg =
      test::error_message([] { parse_model_config("{\n  \"d_model\": 256,\n  oops\n}", "x/config.json"); });
  EXPECT_NE(msg.find("x/config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not valid JSON"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 3, column 3"), std::string::npos) << msg;
  expect_error([] { parse_model_config("", "x/config.json"); }, {"x/config.json", "not valid JSON"});
  expect_error([] { parse_model_config("[1]", "x/config.json"); }, {"x/config.json", "JSON object"});
}

TEST(Config, UnknownArchitecturesAreNamed) {
  expect_config_error({{"model_type", "bert"}, {"architectures", {"BertForMaskedLM"}}},
                      {"'bert'", "BertForMaskedLM", "unsupported"});
  Json j = caduceus_json();
  j["architectures"] = {"CaduceusForSequenceClassification"};
  expect_config_error(j, {"'caduceus'", "CaduceusForSequenceClassification"});
  expect_config_error({{"model_type", 5}}, {"'model_type'", "string"});
  expect_config_error(Json::object(), {"unsupported", "(none)"});
}

TEST(Config, WrongTypesAndSizesNameTheKey) {
  const auto with = [](const char* key, Json value) {
    Json j = caduceus_json();
    j[key] = std::move(value);
    return j;
  };
  expect_config_error(with("n_layer", -1), {"'n_layer'", "found -1"});
  expect_config_error(with("n_layer", 0), {"'n_layer'"});
  expect_config_error(with("d_model", "256"), {"'d_model'", "\"256\""});
  expect_config_error(with("d_model", 256.5), {"'d_model'"});
  expect_config_error(with("d_model", 1e12), {"'d_model'"});
  expect_config_error(with("vocab_size", -12), {"'vocab_size'"});
  expect_config_error(with("vocab_size", 8), {"'vocab_size'", "12-token"});
  expect_config_error(with("pad_vocab_size_multiple", 0), {"'pad_vocab_size_multiple'"});
  expect_config_error(with("rcps", 1), {"'rcps'", "true or false"});
  expect_config_error(with("fused_add_norm", "yes"), {"'fused_add_norm'"});
  expect_config_error(with("norm_epsilon", "small"), {"'norm_epsilon'"});
  expect_config_error(with("norm_epsilon", -1), {"'norm_epsilon'"});
  expect_config_error(with("rms_norm", false), {"'rms_norm'", "LayerNorm", "not supported"});
  expect_config_error(with("bidirectional_strategy", "concat"), {"'bidirectional_strategy'", "concat"});
  expect_config_error(with("ssm_cfg", 3), {"'ssm_cfg'", "object"});
  expect_config_error(with("architectures", "CaduceusForMaskedLM"), {"'architectures'"});
  expect_config_error(with("d_model", nullptr), {"'d_model'"});
  Json j = caduceus_json();
  j.erase("n_layer");
  expect_config_error(j, {"'n_layer'", "missing"});
  for (const auto& [key, value] : std::vector<std::pair<const char*, Json>>{{"d_state", -16},
                                                                            {"d_conv", 0},
                                                                            {"expand", "2"},
                                                                            {"dt_rank", "big"},
                                                                            {"dt_rank", 0},
                                                                            {"bias", 0},
                                                                            {"conv_bias", nullptr}}) {
    Json k = caduceus_json();
    k["ssm_cfg"][key] = value;
    expect_config_error(k, {cat("'ssm_cfg.", key, "'")});
  }
  j = caduceus_json();
  j["d_model"] = 65536;
  j["ssm_cfg"]["expand"] = 64;
  expect_config_error(j, {"d_inner", "too large"});
}

TEST(Config, ComplementMapIsChecked) {
  const auto with_map = [](Json map) {
    Json j = caduceus_json();
    j["complement_map"] = std::move(map);
    return j;
  };
  Json map = caduceus_json()["complement_map"];
  Json bad = map;
  bad["7"] = 9;  // 7 -> 9 but 9 -> 8
  expect_config_error(with_map(bad), {"'complement_map'", "involution", "7 -> 9"});
  bad = map;
  bad.erase("3");
  bad["x"] = 3;
  expect_config_error(with_map(bad), {"'complement_map'", "'x'", "not an integer"});
  bad = map;
  bad.erase("11");
  bad["12"] = 12;  // keys must be 0..n-1
  expect_config_error(with_map(bad), {"'complement_map'", "12", "0..11"});
  bad = map;
  bad["5"] = 99;
  expect_config_error(with_map(bad), {"'complement_map'", "'5'", "99"});
  bad = map;
  bad["5"] = "5";
  expect_config_error(with_map(bad), {"'complement_map'", "'5'"});
  expect_config_error(with_map(Json::array({0, 1})), {"'complement_map'", "object"});
  Json big = Json::object();
  for (int i = 0; i < 17; ++i) big[std::to_string(i)] = i;
  expect_config_error(with_map(big), {"'complement_map'", "17 entries", "16"});
  Json j = caduceus_json();
  j.erase("complement_map");
  expect_config_error(j, {"'rcps'", "'complement_map'", "missing"});
}

TEST(Config, MambaErrorsNameTheKey) {
  Json j = {{"model_type", "mamba"}, {"hidden_size", 64}, {"num_hidden_layers", 2}, {"vocab_size", 16}};
  EXPECT_NO_THROW(parse(j));
  j["hidden_act"] = "gelu";
  expect_config_error(j, {"'hidden_act'", "gelu", "silu"});
  j.erase("hidden_act");
  j["time_step_rank"] = "half";
  expect_config_error(j, {"'time_step_rank'", "half"});
  j.erase("time_step_rank");
  j["state_size"] = -1;
  expect_config_error(j, {"'state_size'", "-1"});
  j.erase("state_size");
  j.erase("hidden_size");
  expect_config_error(j, {"'hidden_size'", "missing"});
}

TEST(Config, ShippedTestConfigs) {
  const ModelConfig ph = load_model_config(test::fixture("models-test/caduceus-ph/config.json").string());
  EXPECT_FALSE(ph.rcps);
  EXPECT_EQ(ph.vocab_size, 16);
  EXPECT_EQ(ph.mixer.dt_rank, 1);
  EXPECT_EQ(ph.complement_map[7], 10);
  const ModelConfig ps = load_model_config(test::fixture("models-test/caduceus-ps/config.json").string());
  EXPECT_TRUE(ps.rcps);
  EXPECT_FALSE(ps.fused_add_norm);
  EXPECT_EQ(ps.strategy, BidirectionalStrategy::kEwMultiply);
  const ModelConfig mamba = load_model_config(test::fixture("models-test/mamba/config.json").string());
  EXPECT_EQ(mamba.arch, Architecture::kMamba);
  expect_error([] { load_model_config("/nonexistent/config.json"); }, {"/nonexistent/config.json", "cannot open"});
}

}  // namespace
}  // namespace strand::model
