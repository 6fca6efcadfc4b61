#include "pipelines/window_scorer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/error.h"
#include "genomics/tokenizer.h"

namespace strand::pipelines {
namespace {

using kernels::ConstMatF;
using kernels::MatF;

// The nucleotide log-probabilities of the windows group[masked[j]], whose masked rows' final
// hidden states are rows[j]: one LM-head call for all of them.
void masked_outputs(model::Backbone& backbone, std::span<const size_t> group, std::span<const size_t> masked,
                    ConstMatF rows, std::span<WindowOutput> outputs) {
  const int64_t vocab = backbone.vocab_size();
  std::vector<float> logits(masked.size() * static_cast<size_t>(vocab));
  backbone.logits(rows, MatF(logits.data(), rows.rows, vocab));
  for (size_t j = 0; j < masked.size(); ++j) {
    const std::span<const float> nucleotides(logits.data() + j * static_cast<size_t>(vocab) + genomics::kTokenA, 4);
    for (size_t b = 0; b < 4; ++b) outputs[group[masked[j]]].nucleotide_logp[b] = log_softmax_at(nucleotides, b);
  }
}

// Outputs of the windows `group` (all of length len), whose hidden states are `hidden`
// [group.size() * len, width]; group[masked[j]] are the masked ones (their rows checked).
void read_outputs(model::Backbone& backbone, std::span<const WindowRequest> requests, std::span<const size_t> group,
                  std::span<const size_t> masked, int64_t len, ConstMatF hidden, std::span<WindowOutput> outputs) {
  const int64_t width = hidden.cols, vocab = backbone.vocab_size();
  const size_t count = group.size();

  if (!masked.empty()) {
    std::vector<float> rows(masked.size() * static_cast<size_t>(width));
    for (size_t j = 0; j < masked.size(); ++j) {
      const float* src = hidden.row(static_cast<int64_t>(masked[j]) * len + requests[group[masked[j]]].masked_row);
      std::copy(src, src + width, rows.begin() + static_cast<ptrdiff_t>(j * static_cast<size_t>(width)));
    }
    masked_outputs(backbone, group, masked, ConstMatF(rows.data(), static_cast<int64_t>(masked.size()), width),
                   outputs);
  }

  // Log-likelihoods: one LM-head call over the group's rows when any window wants one (a row's
  // logits do not depend on the rows computed with it).
  std::vector<float> logits;
  bool any_loglik = false;
  for (size_t k = 0; k < count; ++k) any_loglik |= requests[group[k]].loglik;
  if (any_loglik) {
    logits.resize(static_cast<size_t>(hidden.rows * vocab));
    backbone.logits(hidden, MatF(logits.data(), hidden.rows, vocab));
  }
  const bool ps = backbone.config().rcps;
  const int64_t d = ps ? width / 2 : width;
  for (size_t k = 0; k < count; ++k) {
    const WindowRequest& req = requests[group[k]];
    WindowOutput& out = outputs[group[k]];
    if (req.loglik) {
      const float* window_logits = logits.data() + static_cast<int64_t>(k) * len * vocab;
      double sum = 0.0;
      for (int64_t t = 1; t < len; ++t)
        sum += log_softmax_at(std::span<const float>(window_logits + (t - 1) * vocab, static_cast<size_t>(vocab)),
                              static_cast<size_t>(req.ids[static_cast<size_t>(t)]));
      out.loglik = sum;
    }
    if (req.features) {
      std::vector<double> sum(static_cast<size_t>(d), 0.0);
      for (int64_t t = 0; t < len; ++t) {
        const float* h = hidden.row(static_cast<int64_t>(k) * len + t);
        if (ps) {
          for (int64_t c = 0; c < d; ++c)
            sum[static_cast<size_t>(c)] += 0.5 * (double{h[c]} + double{h[2 * d - 1 - c]});
        } else {
          for (int64_t c = 0; c < d; ++c) sum[static_cast<size_t>(c)] += h[c];
        }
      }
      for (double& v : sum) v /= static_cast<double>(len);
      out.features = std::move(sum);
    }
  }
}

}  // namespace

std::vector<WindowOutput> run_windows(model::Backbone& backbone, std::span<const WindowRequest> requests, int batch) {
  STRAND_ASSERT(batch >= 1);
  std::vector<WindowOutput> outputs(requests.size());
  // Windows by length, in order of first appearance.
  std::vector<int64_t> lengths;
  std::map<int64_t, std::vector<size_t>> by_length;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto len = static_cast<int64_t>(requests[i].ids.size());
    STRAND_ASSERT(len > 0, "empty window");
    auto [it, added] = by_length.try_emplace(len);
    if (added) lengths.push_back(len);
    it->second.push_back(i);
  }
  const int64_t width = backbone.hidden_width();
  std::vector<int32_t> ids, keep;
  std::vector<size_t> masked;
  std::vector<float> hidden;
  for (const int64_t len : lengths) {
    const std::vector<size_t>& all = by_length[len];
    for (size_t g0 = 0; g0 < all.size(); g0 += static_cast<size_t>(batch)) {
      const std::span<const size_t> group(all.data() + g0, std::min(all.size() - g0, static_cast<size_t>(batch)));
      const int64_t rows = static_cast<int64_t>(group.size()) * len;
      ids.clear();
      for (const size_t i : group) ids.insert(ids.end(), requests[i].ids.begin(), requests[i].ids.end());
      // Masked windows only: just their masked rows come back from the model.
      bool masked_only = true;
      keep.clear();
      masked.clear();
      for (size_t k = 0; k < group.size(); ++k) {
        const WindowRequest& req = requests[group[k]];
        masked_only &= !req.loglik && !req.features;
        if (req.masked_row >= 0) {
          STRAND_ASSERT(req.masked_row < len, "masked row ", req.masked_row, " outside a window of ", len);
          keep.push_back(static_cast<int32_t>(static_cast<int64_t>(k) * len + req.masked_row));
          masked.push_back(k);
        }
      }
      if (masked_only && rows <= std::numeric_limits<int32_t>::max()) {  // row indices are int32
        if (keep.empty()) continue;
        hidden.resize(keep.size() * static_cast<size_t>(width));
        const MatF h(hidden.data(), static_cast<int64_t>(keep.size()), width);
        backbone.run_batch(ids, len, h, {.tile_rows = rows}, keep);
        masked_outputs(backbone, group, masked, h, outputs);
        continue;
      }
      hidden.resize(static_cast<size_t>(rows * width));
      const MatF h(hidden.data(), rows, width);
      backbone.run_batch(ids, len, h, {.tile_rows = rows});
      read_outputs(backbone, requests, group, masked, len, h, outputs);
    }
  }
  return outputs;
}

double log_softmax_at(std::span<const float> values, size_t index) {
  double top = -std::numeric_limits<double>::infinity();
  for (const float v : values) top = std::max(top, static_cast<double>(v));
  double sum = 0.0;
  for (const float v : values) sum += std::exp(static_cast<double>(v) - top);
  return static_cast<double>(values[index]) - top - std::log(sum);
}

double cosine_distance(std::span<const double> a, std::span<const double> b) {
  STRAND_ASSERT(a.size() == b.size());
  double na = 0.0, nb = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na == 0.0 || nb == 0.0) return std::numeric_limits<double>::quiet_NaN();
  na = std::sqrt(na);
  nb = std::sqrt(nb);
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = a[i] / na - b[i] / nb;
    sum += diff * diff;
  }
  return 0.5 * sum;
}

}  // namespace strand::pipelines
