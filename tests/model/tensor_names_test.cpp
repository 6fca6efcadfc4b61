// The name table against names spelled out by hand from the reference module trees (and the
// published checkpoints): PH vs PS, fused vs wrapped norms, weight tie, biases, one direction,
// transformers and mamba_ssm Mamba; shapes from the config; tie targets listed first.
#include "model/tensor_names.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/test_support.h"

namespace strand::model {
namespace {

ModelConfig caduceus(bool rcps, bool fused = true) {
  ModelConfig c;
  c.arch = Architecture::kCaduceus;
  c.n_layer = 2;
  c.d_model = 16;
  c.vocab_size = 16;
  c.mixer = MixerConfig{.d_model = 16, .d_state = 4, .d_conv = 4, .expand = 2, .dt_rank = 1};
  c.rcps = rcps;
  c.fused_add_norm = fused;
  c.complement_map = {0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 11, 12, 13, 14, 15};
  return c;
}

std::map<std::string, TensorName> by_name(const ModelConfig& c) {
  std::map<std::string, TensorName> m;
  for (auto& t : tensor_names(c)) EXPECT_TRUE(m.emplace(t.name, t).second) << "duplicate " << t.name;
  return m;
}

TEST(TensorNames, CaduceusPh) {
  const auto m = by_name(caduceus(false));
  // 1 embedding + 2 layers x (norm + 2 mixers x 9 tensors) + norm_f + lm_head.
  EXPECT_EQ(m.size(), 1u + 2 * (1 + 2 * 9) + 2);
  const auto& emb = m.at("caduceus.backbone.embeddings.word_embeddings.weight");
  EXPECT_EQ(emb.role, TensorRole::kEmbedding);
  EXPECT_EQ(emb.shape, (std::vector<int64_t>{16, 16}));
  const auto& in = m.at("caduceus.backbone.layers.1.mixer.mamba_fwd.in_proj.weight");
  EXPECT_EQ(in.layer, 1);
  EXPECT_EQ(in.direction, 0);
  EXPECT_EQ(in.shape, (std::vector<int64_t>{64, 16}));
  EXPECT_TRUE(in.tied_to.empty());
  EXPECT_EQ(m.at("caduceus.backbone.layers.0.mixer.mamba_fwd.conv1d.weight").shape, (std::vector<int64_t>{32, 1, 4}));
  EXPECT_EQ(m.at("caduceus.backbone.layers.0.mixer.mamba_fwd.conv1d.bias").shape, (std::vector<int64_t>{32}));
  EXPECT_EQ(m.at("caduceus.backbone.layers.0.mixer.mamba_fwd.x_proj.weight").shape, (std::vector<int64_t>{9, 32}));
  EXPECT_EQ(m.at("caduceus.backbone.layers.0.mixer.mamba_fwd.dt_proj.weight").shape, (std::vector<int64_t>{32, 1}));
  EXPECT_EQ(m.at("caduceus.backbone.layers.0.mixer.mamba_fwd.dt_proj.bias").shape, (std::vector<int64_t>{32}));
  EXPECT_EQ(m.at("caduceus.backbone.layers.0.mixer.mamba_fwd.A_log").shape, (std::vector<int64_t>{32, 4}));
  EXPECT_EQ(m.at("caduceus.backbone.layers.0.mixer.mamba_fwd.D").shape, (std::vector<int64_t>{32}));
  EXPECT_EQ(m.at("caduceus.backbone.layers.0.mixer.mamba_fwd.out_proj.weight").shape, (std::vector<int64_t>{16, 32}));
  // Weight tie: the reverse mixer's projections alias the forward ones; the rest are its own.
  const auto& rev_in = m.at("caduceus.backbone.layers.0.mixer.mamba_rev.in_proj.weight");
  EXPECT_EQ(rev_in.direction, 1);
  EXPECT_EQ(rev_in.tied_to, "caduceus.backbone.layers.0.mixer.mamba_fwd.in_proj.weight");
  EXPECT_EQ(m.at("caduceus.backbone.layers.0.mixer.mamba_rev.out_proj.weight").tied_to,
            "caduceus.backbone.layers.0.mixer.mamba_fwd.out_proj.weight");
  EXPECT_TRUE(m.at("caduceus.backbone.layers.0.mixer.mamba_rev.x_proj.weight").tied_to.empty());
  EXPECT_EQ(m.at("caduceus.backbone.layers.1.norm.weight").role, TensorRole::kLayerNorm);
  EXPECT_EQ(m.at("caduceus.backbone.norm_f.weight").role, TensorRole::kNormF);
  EXPECT_EQ(m.at("lm_head.weight").tied_to, "caduceus.backbone.embeddings.word_embeddings.weight");
  EXPECT_FALSE(m.count("in_proj.bias"));
}

TEST(TensorNames, CaduceusPsFusedAndWrapped) {
  const auto fused = by_name(caduceus(true, true));
  EXPECT_TRUE(fused.count("caduceus.backbone.embeddings.word_embeddings.embedding.weight"));
  EXPECT_TRUE(fused.count("caduceus.backbone.layers.0.mixer.submodule.mamba_fwd.in_proj.weight"));
  EXPECT_TRUE(fused.count("caduceus.backbone.layers.1.mixer.submodule.mamba_rev.A_log"));
  EXPECT_TRUE(fused.count("caduceus.backbone.layers.0.norm.weight"));
  EXPECT_TRUE(fused.count("caduceus.backbone.norm_f.weight"));
  EXPECT_EQ(fused.at("lm_head.lm_head.weight").tied_to,
            "caduceus.backbone.embeddings.word_embeddings.embedding.weight");
  EXPECT_FALSE(fused.at("caduceus.backbone.embeddings.word_embeddings.complement_map").required);
  EXPECT_EQ(fused.at("lm_head.complement_map").role, TensorRole::kComplementMap);
  // PS tensors have the d_model (half) widths.
  EXPECT_EQ(fused.at("caduceus.backbone.layers.0.mixer.submodule.mamba_fwd.out_proj.weight").shape,
            (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(fused.at("caduceus.backbone.layers.0.norm.weight").shape, (std::vector<int64_t>{16}));

  const auto wrapped = by_name(caduceus(true, false));
  EXPECT_TRUE(wrapped.count("caduceus.backbone.layers.0.norm.submodule.weight"));
  EXPECT_TRUE(wrapped.count("caduceus.backbone.norm_f.submodule.weight"));
  EXPECT_FALSE(wrapped.count("caduceus.backbone.layers.0.norm.weight"));
  // PH never wraps its norms.
  const auto ph = by_name(caduceus(false, false));
  EXPECT_TRUE(ph.count("caduceus.backbone.layers.0.norm.weight"));
  EXPECT_TRUE(ph.count("caduceus.backbone.norm_f.weight"));
}

TEST(TensorNames, CaduceusBiasesTieAndDirections) {
  ModelConfig c = caduceus(false);
  c.mixer.bias = true;
  c.mixer.conv_bias = false;
  auto m = by_name(c);
  EXPECT_EQ(m.at("caduceus.backbone.layers.0.mixer.mamba_fwd.in_proj.bias").shape, (std::vector<int64_t>{64}));
  EXPECT_EQ(m.at("caduceus.backbone.layers.0.mixer.mamba_fwd.out_proj.bias").shape, (std::vector<int64_t>{16}));
  EXPECT_EQ(m.at("caduceus.backbone.layers.0.mixer.mamba_rev.in_proj.bias").tied_to,
            "caduceus.backbone.layers.0.mixer.mamba_fwd.in_proj.bias");
  EXPECT_FALSE(m.count("caduceus.backbone.layers.0.mixer.mamba_fwd.conv1d.bias"));

  c.bidirectional_weight_tie = false;
  m = by_name(c);
  EXPECT_TRUE(m.at("caduceus.backbone.layers.0.mixer.mamba_rev.in_proj.weight").tied_to.empty());

  c.bidirectional = false;
  m = by_name(c);
  for (const auto& [name, t] : m) EXPECT_EQ(name.find("mamba_rev"), std::string::npos) << name;

  c = caduceus(false);
  c.tie_word_embeddings = false;
  EXPECT_TRUE(by_name(c).at("lm_head.weight").tied_to.empty());
}

TEST(TensorNames, Mamba) {
  ModelConfig c;
  c.arch = Architecture::kMamba;
  c.n_layer = 3;
  c.d_model = 24;
  c.vocab_size = 16;
  c.mixer = MixerConfig{.d_model = 24, .d_state = 8, .d_conv = 3, .expand = 2, .dt_rank = 2};
  auto m = by_name(c);
  EXPECT_EQ(m.size(), 1u + 3 * (1 + 9) + 2);
  EXPECT_EQ(m.at("backbone.embeddings.weight").shape, (std::vector<int64_t>{16, 24}));
  EXPECT_EQ(m.at("backbone.layers.2.mixer.in_proj.weight").shape, (std::vector<int64_t>{96, 24}));
  EXPECT_EQ(m.at("backbone.layers.2.mixer.conv1d.weight").shape, (std::vector<int64_t>{48, 1, 3}));
  EXPECT_EQ(m.at("backbone.layers.2.mixer.x_proj.weight").shape, (std::vector<int64_t>{18, 48}));
  EXPECT_TRUE(m.count("backbone.layers.0.norm.weight"));
  EXPECT_TRUE(m.count("backbone.norm_f.weight"));
  EXPECT_EQ(m.at("lm_head.weight").tied_to, "backbone.embeddings.weight");
  c.tie_word_embeddings = false;
  EXPECT_TRUE(by_name(c).at("lm_head.weight").tied_to.empty());
  c.mamba_ssm_naming = true;
  c.tie_word_embeddings = true;
  m = by_name(c);
  EXPECT_TRUE(m.count("backbone.embedding.weight"));
  EXPECT_EQ(m.at("lm_head.weight").tied_to, "backbone.embedding.weight");
}

TEST(TensorNames, TieTargetsComeFirst) {
  for (const ModelConfig& c : {caduceus(false), caduceus(true), caduceus(true, false)}) {
    std::set<std::string> seen;
    for (const auto& t : tensor_names(c)) {
      if (!t.tied_to.empty()) {
        EXPECT_TRUE(seen.count(t.tied_to)) << t.name << " before " << t.tied_to;
      }
      seen.insert(t.name);
    }
  }
}

TEST(TensorNames, ShapeString) {
  EXPECT_EQ(shape_string({}), "[]");
  EXPECT_EQ(shape_string({3, 1, 4}), "[3, 1, 4]");
}

}  // namespace
}  // namespace strand::model
