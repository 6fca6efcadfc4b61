#include "pipelines/annotation_head.h"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "genomics/tokenizer.h"
#include "model/safetensors.h"
#include "pipelines/head_math.h"
#include "pipelines/record_hidden.h"

namespace strand::pipelines {
namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapMat = Eigen::Map<RowMat>;
using ConstMapMat = Eigen::Map<const RowMat>;
using ConstMapVec = Eigen::Map<const Eigen::VectorXf>;

constexpr const char* kFormat = "strand annotation head";
constexpr const char* kFormatVersion = "1";
constexpr int64_t kPredictBlockRows = 4096;
// head_probabilities' pieces start at multiples of kPredictBlockRows, so predict() groups rows as
// it does for the whole record.
static_assert(kHeadPieceRows % kPredictBlockRows == 0);

nlohmann::json specs_json(const std::vector<HeadClassSpec>& specs) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& s : specs)
    j.push_back({{"name", s.name}, {"type", s.feature_type}, {"stranded", s.stranded}, {"codon_position", s.codon_position}});
  return j;
}

std::vector<HeadClassSpec> parse_specs(const std::string& text, const std::string& path) {
  std::vector<HeadClassSpec> specs;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    if (!j.is_array() || j.empty()) fail("not a non-empty array");
    for (const auto& e : j) {
      HeadClassSpec s;
      s.name = e.at("name").get<std::string>();
      s.feature_type = e.at("type").get<std::string>();
      s.stranded = e.at("stranded").get<bool>();
      s.codon_position = e.at("codon_position").get<int>();
      if (s.name.empty() || s.codon_position < -1 || s.codon_position > 2) fail("bad class '", s.name, "'");
      specs.push_back(std::move(s));
    }
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": metadata 'classes' is not valid: ", e.what());
  } catch (const Error& e) {
    fail(path, ": metadata 'classes' is not valid: ", e.what());
  }
  // What annotate relies on: names unique (they name the tracks), few enough columns for int8
  // labels, and CDS as one stranded class per codon position.
  std::set<std::string> names;
  std::array<int, 3> cds{};
  size_t columns = 0;
  for (const auto& sp : specs) {
    if (!names.insert(sp.name).second) fail(path, ": class '", sp.name, "' appears twice");
    columns += sp.stranded ? 2 : 1;
    if (sp.feature_type == kCdsType) {
      if (!sp.stranded || sp.codon_position < 0) fail(path, ": CDS class '", sp.name, "' must be stranded with a codon position");
      ++cds[static_cast<size_t>(sp.codon_position)];
    }
  }
  if (columns >= 127) fail(path, ": ", columns, " output columns; at most 126");
  if (!(cds[0] == cds[1] && cds[1] == cds[2] && cds[0] <= 1))
    fail(path, ": CDS classes must be one per codon position 1, 2, 3");
  return specs;
}

}  // namespace

std::vector<HeadClassSpec> head_class_specs(const std::vector<std::string>& feature_types) {
  if (feature_types.empty()) fail("no feature type to predict");
  std::vector<HeadClassSpec> specs = {{kIntergenicClass, "", false, -1}};
  std::set<std::string> seen;
  for (const auto& type : feature_types) {
    if (!seen.insert(type).second) fail("feature type '", type, "' given twice");
    if (type == kCdsType) {
      for (int k = 0; k < 3; ++k) specs.push_back({cat(type, "_codon", k + 1), type, true, k});
    } else {
      specs.push_back({type, type, true, -1});
    }
  }
  return specs;
}

int64_t head_feature_width(const model::Backbone& backbone) {
  return backbone.config().rcps ? backbone.hidden_width() / 2 : backbone.hidden_width();
}

HeadFeatureMode head_feature_mode(const model::Backbone& backbone) {
  return backbone.config().rcps ? HeadFeatureMode::kPsHalves : HeadFeatureMode::kRcPass;
}

namespace {

// A PS model's hidden row (h1 | h2) -> (h1 | reverse_channels(h2)) in place: the pair that swaps
// under reverse complement.
void pair_ps_halves(float* row, int64_t d) {
  std::reverse(row + d, row + 2 * d);
}

}  // namespace

std::vector<float> head_feature_pairs(model::Backbone& backbone, const std::vector<int32_t>& ids,
                                      const TilingOptions& tiling) {
  const int64_t len = static_cast<int64_t>(ids.size());
  const model::ForwardOptions fwd;
  std::vector<float> h = record_hidden_states(backbone, ids, tiling, fwd);
  if (backbone.config().rcps) {
    const int64_t d = backbone.hidden_width() / 2;
    for (int64_t i = 0; i < len; ++i) pair_ps_halves(h.data() + i * 2 * d, d);
    return h;
  }
  const int64_t d = backbone.hidden_width();
  const std::vector<float> h_rc = record_hidden_states(backbone, genomics::reverse_complement_tokens(ids), tiling, fwd);
  std::vector<float> pairs(static_cast<size_t>(len * 2 * d));
  for (int64_t i = 0; i < len; ++i) {
    std::memcpy(&pairs[static_cast<size_t>(i * 2 * d)], &h[static_cast<size_t>(i * d)], sizeof(float) * static_cast<size_t>(d));
    std::memcpy(&pairs[static_cast<size_t>(i * 2 * d + d)], &h_rc[static_cast<size_t>((len - 1 - i) * d)],
                sizeof(float) * static_cast<size_t>(d));
  }
  return pairs;
}

void head_feature_pieces(model::Backbone& backbone, const std::vector<int32_t>& ids, const TilingOptions& tiling,
                         const FeaturePairPieceFn& consume) {
  const auto len = static_cast<int64_t>(ids.size());
  if (len == 0) return;
  if (!backbone.config().rcps) {
    const std::vector<float> pairs = head_feature_pairs(backbone, ids, tiling);
    consume(0, len, pairs.data());
    return;
  }
  // Pieces of exactly kHeadPieceRows rows from row 0 (the last one shorter), whatever pieces the
  // hidden states come in (--window gives tile centres).
  const int64_t d = backbone.hidden_width() / 2;
  std::vector<float> pairs(static_cast<size_t>(std::min(kHeadPieceRows, len) * 2 * d));
  int64_t filled = 0, piece_row0 = 0;
  record_hidden_pieces(backbone, ids, tiling, model::ForwardOptions(), kHeadPieceRows,
                       [&](int64_t row0, kernels::ConstMatF h) {
                         STRAND_ASSERT(row0 == piece_row0 + filled, "hidden states out of order");
                         for (int64_t i = 0; i < h.rows; ++i) {
                           float* row = pairs.data() + filled * 2 * d;
                           std::copy(h.row(i), h.row(i) + 2 * d, row);
                           pair_ps_halves(row, d);
                           if (++filled == kHeadPieceRows || piece_row0 + filled == len) {
                             consume(piece_row0, filled, pairs.data());
                             piece_row0 += filled;
                             filled = 0;
                           }
                         }
                       });
  STRAND_ASSERT(piece_row0 == len, "hidden states of ", piece_row0, " rows, expected ", len);
}

std::vector<float> head_probabilities(const AnnotationHead& head, model::Backbone& backbone,
                                      const std::vector<int32_t>& ids, const TilingOptions& tiling) {
  const auto len = static_cast<int64_t>(ids.size());
  const int64_t columns = head.columns(), pair_width = 2 * head.feature_width();
  std::vector<float> probs(static_cast<size_t>(len * columns));
  head_feature_pieces(backbone, ids, tiling, [&](int64_t row0, int64_t rows, const float* pairs) {
    const std::vector<float> p =
        head.predict(std::span<const float>(pairs, static_cast<size_t>(rows * pair_width)), rows);
    std::copy(p.begin(), p.end(), probs.begin() + row0 * columns);
  });
  return probs;
}

AnnotationHead::AnnotationHead(std::vector<HeadClassSpec> specs, int64_t feature_width, int64_t hidden)
    : specs_(std::move(specs)), d_(feature_width), h_(hidden) {
  STRAND_ASSERT(!specs_.empty() && d_ > 0 && h_ >= 0);
  column_of_.assign(specs_.size() * 2, -1);
  for (size_t s = 0; s < specs_.size(); ++s) {
    if (specs_[s].stranded) {
      column_of_[s * 2] = static_cast<int>(column_names_.size());
      column_names_.push_back(specs_[s].name + "_plus");
      column_of_[s * 2 + 1] = static_cast<int>(column_names_.size());
      column_names_.push_back(specs_[s].name + "_minus");
    } else {
      column_of_[s * 2] = column_of_[s * 2 + 1] = static_cast<int>(column_names_.size());
      column_names_.push_back(specs_[s].name);
    }
  }
  STRAND_ASSERT(column_names_.size() < 127, "labels are stored as int8");
  mean_.assign(static_cast<size_t>(d_), 0.0f);
  scale_.assign(static_cast<size_t>(d_), 1.0f);
  theta_.assign(c_offset() + specs_.size(), 0.0f);
}

int AnnotationHead::column(size_t spec, bool minus_strand) const {
  STRAND_ASSERT(spec < specs_.size());
  return column_of_[spec * 2 + (minus_strand ? 1 : 0)];
}

void AnnotationHead::save(const std::string& path) const {
  model::SafetensorsWriter w(path);
  w.add("norm.mean", {d_}, mean_);
  w.add("norm.scale", {d_}, scale_);
  const std::span<const float> theta(theta_);
  if (h_ > 0) {
    w.add("hidden.weight", {h_, 2 * d_}, theta.subspan(w1_offset(), static_cast<size_t>(h_ * 2 * d_)));
    w.add("hidden.bias", {h_}, theta.subspan(b1_offset(), static_cast<size_t>(h_)));
  }
  w.add("out.weight", {spec_count(), out_width()}, theta.subspan(w_offset(), static_cast<size_t>(spec_count() * out_width())));
  w.add("out.bias", {spec_count()}, theta.subspan(c_offset(), specs_.size()));
  for (const auto& [k, v] : metadata_) w.set_metadata(k, v);
  w.set_metadata("format", kFormat);
  w.set_metadata("format_version", kFormatVersion);
  w.set_metadata("classes", specs_json(specs_).dump());
  w.finish();
}

AnnotationHead AnnotationHead::load(const std::string& path, const std::string& backbone_sha256) {
  const model::SafetensorsFile file(path);
  const auto& meta = file.metadata();
  const auto get = [&](const char* key) -> const std::string& {
    const auto it = meta.find(key);
    if (it == meta.end()) fail(path, ": not a strand annotation head (no '", key, "' in its metadata)");
    return it->second;
  };
  if (get("format") != kFormat) fail(path, ": not a strand annotation head (format '", get("format"), "')");
  if (get("format_version") != kFormatVersion)
    fail(path, ": annotation head format version ", get("format_version"), " is not supported (this strand reads ",
         kFormatVersion, ")");
  if (!backbone_sha256.empty() && get("backbone_sha256") != backbone_sha256)
    fail(path, ": this head was trained on another backbone (its model.safetensors SHA-256 ", get("backbone_sha256"),
         ", the model given has ", backbone_sha256, "); train a head for this model with 'strand train-head'");
  const auto tensor = [&](const char* name) -> const model::StTensorInfo& {
    const model::StTensorInfo* t = file.find(name);
    if (t == nullptr) fail(path, ": tensor '", name, "' is missing");
    return *t;
  };
  const auto& mean = tensor("norm.mean");
  if (mean.shape.size() != 1 || mean.shape[0] < 1) fail(path, ": tensor 'norm.mean' must be 1-D and not empty");
  const int64_t d = mean.shape[0];
  const model::StTensorInfo* w1 = file.find("hidden.weight");
  const int64_t h = w1 != nullptr ? (w1->shape.empty() ? -1 : w1->shape[0]) : 0;
  if (h < 0 || h > (1 << 16)) fail(path, ": tensor 'hidden.weight' has a bad shape");
  AnnotationHead head(parse_specs(get("classes"), path), d, h);
  const auto read = [&](const char* name, std::vector<int64_t> shape, std::span<float> out) {
    const auto& t = tensor(name);
    if (t.shape != shape) {
      std::string want, got;
      for (int64_t v : shape) want += cat(want.empty() ? "" : ", ", v);
      for (int64_t v : t.shape) got += cat(got.empty() ? "" : ", ", v);
      fail(path, ": tensor '", name, "' has shape [", got, "], expected [", want, "]");
    }
    file.read_f32(t, out);
  };
  read("norm.mean", {d}, head.mean_);
  read("norm.scale", {d}, head.scale_);
  std::span<float> theta(head.theta_);
  if (h > 0) {
    read("hidden.weight", {h, 2 * d}, theta.subspan(head.w1_offset(), static_cast<size_t>(h * 2 * d)));
    read("hidden.bias", {h}, theta.subspan(head.b1_offset(), static_cast<size_t>(h)));
  }
  const int64_t j = head.spec_count(), k = head.out_width();
  read("out.weight", {j, k}, theta.subspan(head.w_offset(), static_cast<size_t>(j * k)));
  read("out.bias", {j}, theta.subspan(head.c_offset(), static_cast<size_t>(j)));
  for (const auto* values : {&head.theta_, &head.mean_, &head.scale_})
    for (float v : *values)
      if (!std::isfinite(v)) fail(path, ": the head's weights or normalisation contain NaN or infinity");
  head.metadata_ = meta;
  return head;
}

void head_forward(const AnnotationHead& head, const float* pairs, int64_t n, HeadActivations& act) {
  const int64_t d = head.feature_width(), h = head.hidden_units(), k = head.out_width(), j = head.spec_count(),
                c = head.columns();
  act.n = n;
  act.x_plus.resize(static_cast<size_t>(n * 2 * d));
  act.x_minus.resize(static_cast<size_t>(n * 2 * d));
  // Normalise each half with the shared statistics; x− is x+ with its halves swapped.
  const float* mean = head.norm_mean().data();
  const float* scale = head.norm_scale().data();
  for (int64_t r = 0; r < n; ++r) {
    const float* p = pairs + r * 2 * d;
    float* xp = &act.x_plus[static_cast<size_t>(r * 2 * d)];
    float* xm = &act.x_minus[static_cast<size_t>(r * 2 * d)];
    for (int64_t i = 0; i < d; ++i) {
      const float a = (p[i] - mean[i]) * scale[i];
      const float b = (p[d + i] - mean[i]) * scale[i];
      xp[i] = a, xp[d + i] = b, xm[i] = b, xm[d + i] = a;
    }
  }
  const float* theta = head.params().data();
  if (h > 0) {
    // u± [n, H] = relu(x± [n, 2d] · W1ᵀ [2d, H] + b1)
    const ConstMapMat w1(theta + head.w1_offset(), h, 2 * d);
    const Eigen::Map<const Eigen::RowVectorXf> b1(theta + head.b1_offset(), h);
    act.u_plus.resize(static_cast<size_t>(n * h));
    act.u_minus.resize(static_cast<size_t>(n * h));
    MapMat up(act.u_plus.data(), n, h), um(act.u_minus.data(), n, h);
    up.noalias() = ConstMapMat(act.x_plus.data(), n, 2 * d) * w1.transpose();
    um.noalias() = ConstMapMat(act.x_minus.data(), n, 2 * d) * w1.transpose();
    up.rowwise() += b1;
    um.rowwise() += b1;
    up = up.cwiseMax(0.0f);
    um = um.cwiseMax(0.0f);
  } else {
    act.u_plus = act.x_plus;
    act.u_minus = act.x_minus;
  }
  // m± [n, J] = u± [n, K] · Wᵀ [K, J]
  const ConstMapMat w(theta + head.w_offset(), j, k);
  const RowMat mp = ConstMapMat(act.u_plus.data(), n, k) * w.transpose();
  const RowMat mm = ConstMapMat(act.u_minus.data(), n, k) * w.transpose();
  act.probs.resize(static_cast<size_t>(n * c));
  const float* bias = theta + head.c_offset();
  for (int64_t r = 0; r < n; ++r) {
    float* row = &act.probs[static_cast<size_t>(r * c)];
    for (int64_t s = 0; s < j; ++s) {
      if (head.specs()[static_cast<size_t>(s)].stranded) {
        row[head.column(static_cast<size_t>(s), false)] = mp(r, s) + bias[s];
        row[head.column(static_cast<size_t>(s), true)] = mm(r, s) + bias[s];
      } else {
        row[head.column(static_cast<size_t>(s), false)] = mp(r, s) + mm(r, s) + bias[s];
      }
    }
    // Softmax summed spec by spec, each strand pair as (+) + (−), which commutes: swapping
    // the strands of the input gives the same bits.
    const float mx = *std::max_element(row, row + c);
    for (int64_t i = 0; i < c; ++i) row[i] = std::exp(row[i] - mx);
    float sum = 0.0f;
    for (int64_t s = 0; s < j; ++s) {
      const int cp = head.column(static_cast<size_t>(s), false), cm = head.column(static_cast<size_t>(s), true);
      sum += cp == cm ? row[cp] : row[cp] + row[cm];
    }
    for (int64_t i = 0; i < c; ++i) row[i] /= sum;
  }
}

double head_backward(const AnnotationHead& head, const HeadActivations& act, const int8_t* labels,
                     std::span<float> grad) {
  const int64_t n = act.n, d = head.feature_width(), h = head.hidden_units(), k = head.out_width(),
                j = head.spec_count(), c = head.columns();
  // dL/dlogits = probs − onehot (ignored rows: 0), folded into dm± [n, J].
  RowMat dmp = RowMat::Zero(n, j), dmm = RowMat::Zero(n, j);
  Eigen::VectorXf dc = Eigen::VectorXf::Zero(j);
  double loss = 0.0;
  for (int64_t r = 0; r < n; ++r) {
    const int y = labels[r];
    if (y < 0) continue;
    const float* p = &act.probs[static_cast<size_t>(r * c)];
    loss -= std::log(std::max(p[y], 1e-30f));
    for (int64_t s = 0; s < j; ++s) {
      const int cp = head.column(static_cast<size_t>(s), false), cm = head.column(static_cast<size_t>(s), true);
      const float gp = p[cp] - (cp == y ? 1.0f : 0.0f);
      if (head.specs()[static_cast<size_t>(s)].stranded) {
        const float gm = p[cm] - (cm == y ? 1.0f : 0.0f);
        dmp(r, s) = gp, dmm(r, s) = gm, dc[s] += gp + gm;
      } else {
        dmp(r, s) = gp, dmm(r, s) = gp, dc[s] += gp;
      }
    }
  }
  const float* theta = head.params().data();
  const ConstMapMat up(act.u_plus.data(), n, k), um(act.u_minus.data(), n, k);
  MapMat(grad.data() + head.w_offset(), j, k).noalias() += dmp.transpose() * up + dmm.transpose() * um;
  Eigen::Map<Eigen::VectorXf>(grad.data() + head.c_offset(), j) += dc;
  if (h > 0) {
    const ConstMapMat w(theta + head.w_offset(), j, k);
    RowMat dup = dmp * w, dum = dmm * w;  // [n, H]
    dup = dup.cwiseProduct((up.array() > 0.0f).cast<float>().matrix());
    dum = dum.cwiseProduct((um.array() > 0.0f).cast<float>().matrix());
    MapMat(grad.data() + head.w1_offset(), h, 2 * d).noalias() +=
        dup.transpose() * ConstMapMat(act.x_plus.data(), n, 2 * d) + dum.transpose() * ConstMapMat(act.x_minus.data(), n, 2 * d);
    Eigen::Map<Eigen::RowVectorXf>(grad.data() + head.b1_offset(), h) += dup.colwise().sum() + dum.colwise().sum();
  }
  return loss;
}

std::vector<float> AnnotationHead::predict(std::span<const float> pairs, int64_t n) const {
  STRAND_ASSERT(static_cast<int64_t>(pairs.size()) == n * 2 * d_);
  const int64_t c = columns();
  std::vector<float> probs(static_cast<size_t>(n * c));
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, (n + kPredictBlockRows - 1) / kPredictBlockRows),
                    [&](const tbb::blocked_range<int64_t>& blocks) {
                      HeadActivations act;
                      for (int64_t b = blocks.begin(); b != blocks.end(); ++b) {
                        const int64_t r0 = b * kPredictBlockRows, rows = std::min(kPredictBlockRows, n - r0);
                        head_forward(*this, pairs.data() + r0 * 2 * d_, rows, act);
                        std::copy(act.probs.begin(), act.probs.end(), probs.begin() + r0 * c);
                      }
                    });
  return probs;
}

}  // namespace strand::pipelines
