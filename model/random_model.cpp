#include "model/random_model.h"

#include <cmath>
#include <random>

namespace strand::model {
namespace {

std::shared_ptr<const Tensor> make(std::vector<int64_t> shape, std::mt19937_64& rng, float stddev, float mean = 0.0f) {
  auto t = std::make_shared<Tensor>();
  t->shape = std::move(shape);
  int64_t n = 1;
  for (int64_t s : t->shape) n *= s;
  t->data.resize(static_cast<size_t>(n));
  std::normal_distribution<float> dist(mean, stddev);
  for (float& v : t->data) v = dist(rng);
  return t;
}

MixerWeights make_mixer(const ModelConfig& c, std::mt19937_64& rng, const MixerWeights* tied) {
  const MixerConfig& m = c.mixer;
  const int64_t d = m.d_model, di = m.d_inner(), n = m.d_state, r = m.dt_rank;
  MixerWeights w;
  w.in_proj_w = tied ? tied->in_proj_w : make({2 * di, d}, rng, 1.0f / std::sqrt(static_cast<float>(d)));
  w.out_proj_w = tied ? tied->out_proj_w : make({d, di}, rng, 1.0f / std::sqrt(static_cast<float>(di)));
  w.conv_w = make({di, m.d_conv}, rng, 1.0f / std::sqrt(static_cast<float>(m.d_conv)));
  if (m.conv_bias) w.conv_b = make({di}, rng, 0.1f);
  w.x_proj_w = make({r + 2 * n, di}, rng, 1.0f / std::sqrt(static_cast<float>(di)));
  w.dt_proj_w = make({di, r}, rng, 1.0f / std::sqrt(static_cast<float>(r)));
  // softplus(bias) log-uniform in [1e-3, 1e-1]: bias = log(expm1(dt)).
  auto dt_b = std::make_shared<Tensor>();
  dt_b->shape = {di};
  std::uniform_real_distribution<double> u(std::log(1e-3), std::log(1e-1));
  for (int64_t i = 0; i < di; ++i) dt_b->data.push_back(static_cast<float>(std::log(std::expm1(std::exp(u(rng))))));
  w.dt_proj_b = dt_b;
  auto a = std::make_shared<Tensor>();
  a->shape = {di, n};
  for (int64_t i = 0; i < di; ++i)
    for (int64_t j = 0; j < n; ++j) a->data.push_back(-static_cast<float>(j + 1));  // -exp(log(j+1))
  w.A = a;
  auto dskip = std::make_shared<Tensor>();
  dskip->shape = {di};
  dskip->data.assign(static_cast<size_t>(di), 1.0f);
  w.D = dskip;
  return w;
}

// The published 131k shape's sizes (shared by the random causal model): d_model 256, d_state 16,
// d_conv 4, expand 2, dt_rank ceil(256 / 16), RMSNorm eps 1e-5, the DNA vocabulary of 16.
void set_width_256(ModelConfig& c, int n_layer) {
  c.n_layer = n_layer;
  c.d_model = 256;
  c.vocab_size = 16;
  c.mixer.d_model = 256;
  c.mixer.d_state = 16;
  c.mixer.d_conv = 4;
  c.mixer.expand = 2;
  c.mixer.dt_rank = 16;
  c.rms_norm = true;
  c.norm_epsilon = 1e-5f;
}

}  // namespace

ModelConfig caduceus_ps_131k_config() {
  ModelConfig c;
  c.arch = Architecture::kCaduceus;
  c.source = "caduceus-ps_seqlen-131k_d_model-256_n_layer-16 (shape only, random weights)";
  set_width_256(c, 16);
  c.residual_in_fp32 = false;
  c.fused_add_norm = true;
  c.bidirectional = true;
  c.strategy = BidirectionalStrategy::kAdd;
  c.bidirectional_weight_tie = true;
  c.rcps = true;
  c.complement_map.resize(16);
  for (int i = 0; i < 16; ++i) c.complement_map[static_cast<size_t>(i)] = i;
  c.complement_map[7] = 10;
  c.complement_map[10] = 7;
  c.complement_map[8] = 9;
  c.complement_map[9] = 8;
  return c;
}

ModelConfig mamba_2m_config() {
  ModelConfig c;
  c.arch = Architecture::kMamba;
  c.source = "causal Mamba LM, d_model 256, 4 layers (~2.1M parameters; shape only, random weights)";
  set_width_256(c, 4);
  c.residual_in_fp32 = true;
  c.fused_add_norm = false;
  c.bidirectional = false;
  c.bidirectional_weight_tie = false;
  return c;
}

ModelWeights make_random_model(const ModelConfig& config, uint64_t seed) {
  std::mt19937_64 rng(seed);
  ModelWeights w;
  w.config = config;
  w.folder = "(random)";
  w.checksum = "random-seed-" + std::to_string(seed);
  const int64_t d = config.d_model;
  w.embedding = make({config.vocab_size, d}, rng, 1.0f);
  const bool bidirectional = config.arch == Architecture::kCaduceus && config.bidirectional;
  for (int l = 0; l < config.n_layer; ++l) {
    LayerWeights layer;
    layer.fwd = make_mixer(config, rng, nullptr);
    if (bidirectional) layer.rev = make_mixer(config, rng, config.bidirectional_weight_tie ? &layer.fwd : nullptr);
    layer.norm_w = make({d}, rng, 0.1f, 1.0f);
    w.layers.push_back(std::move(layer));
  }
  w.norm_f_w = make({d}, rng, 0.1f, 1.0f);
  w.lm_head_w = w.embedding;
  return w;
}

}  // namespace strand::model
