#include "pipelines/head_training.h"

#include <oneapi/tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "pipelines/head_math.h"

namespace strand::pipelines {
namespace {

// Rows per gradient block: a batch is cut into these whatever the thread count, and the
// blocks' gradients are added in order, so training is reproducible.
constexpr int64_t kBlockRows = 256;
constexpr double kAdamBeta1 = 0.9, kAdamBeta2 = 0.999, kAdamEps = 1e-8;

bool is_cds_column(const AnnotationHead& head, int column) {
  for (size_t s = 0; s < head.specs().size(); ++s)
    if (head.specs()[s].feature_type == kCdsType && (head.column(s, false) == column || head.column(s, true) == column))
      return true;
  return false;
}

// Summed loss and gradient of rows [r0, r0 + n) of `order` (a permutation of the sample).
double batch_gradient(const AnnotationHead& head, const HeadSample& sample, const std::vector<int64_t>& order,
                      int64_t r0, int64_t n, std::vector<float>& grad) {
  const int64_t width = sample.pair_width;
  const int64_t blocks = (n + kBlockRows - 1) / kBlockRows;
  std::vector<std::vector<float>> block_grad(static_cast<size_t>(blocks));
  std::vector<double> block_loss(static_cast<size_t>(blocks), 0.0);
  tbb::parallel_for(int64_t{0}, blocks, [&](int64_t b) {
    const int64_t begin = r0 + b * kBlockRows, rows = std::min(kBlockRows, r0 + n - begin);
    std::vector<float> x(static_cast<size_t>(rows * width));
    std::vector<int8_t> y(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t src = order[static_cast<size_t>(begin + r)];
      std::copy_n(&sample.pairs[static_cast<size_t>(src * width)], width, &x[static_cast<size_t>(r * width)]);
      y[static_cast<size_t>(r)] = sample.labels[static_cast<size_t>(src)];
    }
    HeadActivations act;
    head_forward(head, x.data(), rows, act);
    auto& g = block_grad[static_cast<size_t>(b)];
    g.assign(head.params().size(), 0.0f);
    block_loss[static_cast<size_t>(b)] = head_backward(head, act, y.data(), g);
  });
  std::fill(grad.begin(), grad.end(), 0.0f);
  double loss = 0.0;
  for (int64_t b = 0; b < blocks; ++b) {
    for (size_t i = 0; i < grad.size(); ++i) grad[i] += block_grad[static_cast<size_t>(b)][i];
    loss += block_loss[static_cast<size_t>(b)];
  }
  return loss;
}

double sample_loss(const AnnotationHead& head, const HeadSample& sample) {
  if (sample.rows() == 0) return 0.0;
  const HeadMetrics m = evaluate_head(head, sample);
  return m.mean_loss;
}

}  // namespace

void HeadSample::append(const float* pair, int8_t label) {
  pairs.insert(pairs.end(), pair, pair + pair_width);
  labels.push_back(label);
}

void HeadSample::append(const HeadSample& other) {
  STRAND_ASSERT(other.pair_width == pair_width || other.rows() == 0);
  pairs.insert(pairs.end(), other.pairs.begin(), other.pairs.end());
  labels.insert(labels.end(), other.labels.begin(), other.labels.end());
}

void fit_normalisation(AnnotationHead& head, const HeadSample& train) {
  const int64_t d = head.feature_width(), n = train.rows();
  STRAND_ASSERT(train.pair_width == 2 * d && n > 0);
  std::vector<double> sum(static_cast<size_t>(d), 0.0), sq(static_cast<size_t>(d), 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t half = 0; half < 2; ++half)
      for (int64_t i = 0; i < d; ++i) {
        const double v = train.pairs[static_cast<size_t>(r * 2 * d + half * d + i)];
        sum[static_cast<size_t>(i)] += v;
        sq[static_cast<size_t>(i)] += v * v;
      }
  for (int64_t i = 0; i < d; ++i) {
    const double mean = sum[static_cast<size_t>(i)] / (2.0 * static_cast<double>(n));
    const double var = std::max(0.0, sq[static_cast<size_t>(i)] / (2.0 * static_cast<double>(n)) - mean * mean);
    head.norm_mean()[static_cast<size_t>(i)] = static_cast<float>(mean);
    head.norm_scale()[static_cast<size_t>(i)] = static_cast<float>(1.0 / std::sqrt(var + 1e-6));
  }
}

void train_head(AnnotationHead& head, const HeadSample& train, const HeadSample& held_out, const HeadTrainOptions& o) {
  const int64_t n = train.rows(), d = head.feature_width(), h = head.hidden_units();
  if (n == 0) fail("no training bases");
  std::mt19937_64 rng(o.seed);
  std::vector<float>& theta = head.params();
  std::fill(theta.begin(), theta.end(), 0.0f);
  if (h > 0) {
    std::normal_distribution<float> normal(0.0f, static_cast<float>(std::sqrt(2.0 / (2.0 * static_cast<double>(d)))));
    for (size_t i = head.w1_offset(); i < head.b1_offset(); ++i) theta[i] = normal(rng);
  }
  // Output biases at the log class frequencies: training starts from the prior.
  std::vector<double> freq(static_cast<size_t>(head.columns()), 1.0);
  for (int8_t y : train.labels)
    if (y >= 0) freq[static_cast<size_t>(y)] += 1.0;
  for (size_t s = 0; s < head.specs().size(); ++s) {
    const double f = head.specs()[s].stranded
                         ? 0.5 * (freq[static_cast<size_t>(head.column(s, false))] + freq[static_cast<size_t>(head.column(s, true))])
                         : freq[static_cast<size_t>(head.column(s, false))];
    theta[head.c_offset() + s] = static_cast<float>(std::log(f / static_cast<double>(n)));
  }

  std::vector<float> grad(theta.size()), m1(theta.size(), 0.0f), m2(theta.size(), 0.0f);
  std::vector<int64_t> order(static_cast<size_t>(n));
  int64_t step = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    std::iota(order.begin(), order.end(), int64_t{0});
    std::shuffle(order.begin(), order.end(), rng);
    double loss = 0.0;
    for (int64_t r0 = 0; r0 < n; r0 += o.batch_rows) {
      const int64_t rows = std::min(o.batch_rows, n - r0);
      loss += batch_gradient(head, train, order, r0, rows, grad);
      ++step;
      const double bc1 = 1.0 - std::pow(kAdamBeta1, static_cast<double>(step));
      const double bc2 = 1.0 - std::pow(kAdamBeta2, static_cast<double>(step));
      const double lr = o.learning_rate;
      for (size_t i = 0; i < theta.size(); ++i) {
        const double g = grad[i] / static_cast<double>(rows);
        m1[i] = static_cast<float>(kAdamBeta1 * m1[i] + (1.0 - kAdamBeta1) * g);
        m2[i] = static_cast<float>(kAdamBeta2 * m2[i] + (1.0 - kAdamBeta2) * g * g);
        const bool is_weight = i < head.b1_offset() || (i >= head.w_offset() && i < head.c_offset());
        double t = theta[i];
        if (is_weight) t -= lr * o.weight_decay * t;
        t -= lr * (m1[i] / bc1) / (std::sqrt(m2[i] / bc2) + kAdamEps);
        theta[i] = static_cast<float>(t);
      }
    }
    log_info("train-head", "epoch ", epoch, "/", o.epochs, ": training loss ", format_significant(loss / static_cast<double>(n), 4),
             held_out.rows() > 0 ? cat(", held-out loss ", format_significant(sample_loss(head, held_out), 4)) : std::string());
  }
}

double HeadMetrics::precision(size_t column) const {
  const int64_t p = true_pos[column] + false_pos[column];
  return p > 0 ? static_cast<double>(true_pos[column]) / static_cast<double>(p) : 0.0;
}
double HeadMetrics::recall(size_t column) const {
  const int64_t t = true_pos[column] + false_neg[column];
  return t > 0 ? static_cast<double>(true_pos[column]) / static_cast<double>(t) : 0.0;
}

HeadMetrics evaluate_head(const AnnotationHead& head, const HeadSample& sample) {
  HeadMetrics m;
  m.columns = head.column_names();
  const size_t c = m.columns.size();
  m.true_pos.assign(c, 0), m.false_pos.assign(c, 0), m.false_neg.assign(c, 0);
  std::vector<bool> cds(c);
  for (size_t i = 0; i < c; ++i) cds[i] = is_cds_column(head, static_cast<int>(i));
  const std::vector<float> probs = head.predict(sample.pairs, sample.rows());
  double loss = 0.0;
  for (int64_t r = 0; r < sample.rows(); ++r) {
    const int y = sample.labels[static_cast<size_t>(r)];
    if (y < 0) continue;
    const float* p = &probs[static_cast<size_t>(r) * c];
    const size_t pred = static_cast<size_t>(std::max_element(p, p + c) - p);
    ++m.rows;
    loss -= std::log(std::max(p[y], 1e-30f));
    if (pred == static_cast<size_t>(y)) {
      ++m.correct, ++m.true_pos[pred];
    } else {
      ++m.false_pos[pred], ++m.false_neg[static_cast<size_t>(y)];
    }
    if (cds[pred] && cds[static_cast<size_t>(y)]) ++m.coding_tp;
    else if (cds[pred]) ++m.coding_fp;
    else if (cds[static_cast<size_t>(y)]) ++m.coding_fn;
  }
  m.mean_loss = m.rows > 0 ? loss / static_cast<double>(m.rows) : 0.0;
  return m;
}

std::string format_metrics(const HeadMetrics& m) {
  std::string out = cat("held-out bases: ", m.rows, ", accuracy ",
                        format_significant(m.rows ? static_cast<double>(m.correct) / static_cast<double>(m.rows) : 0.0, 4),
                        ", mean cross-entropy ", format_significant(m.mean_loss, 4), " nats\n");
  const auto ratio = [](int64_t a, int64_t b) { return b > 0 ? format_significant(static_cast<double>(a) / static_cast<double>(b), 4) : std::string("-"); };
  out += cat("  coding (any CDS class): precision ", ratio(m.coding_tp, m.coding_tp + m.coding_fp), ", recall ",
             ratio(m.coding_tp, m.coding_tp + m.coding_fn), "\n");
  out += "  class                 bases  precision  recall\n";
  for (size_t i = 0; i < m.columns.size(); ++i) {
    std::string name = m.columns[i];
    name.resize(std::max<size_t>(name.size(), 20), ' ');
    out += cat("  ", name, "  ", m.true_pos[i] + m.false_neg[i], "  ", ratio(m.true_pos[i], m.true_pos[i] + m.false_pos[i]),
               "  ", ratio(m.true_pos[i], m.true_pos[i] + m.false_neg[i]), "\n");
  }
  return out;
}

nlohmann::json metrics_json(const HeadMetrics& m) {
  nlohmann::json classes = nlohmann::json::object();
  for (size_t i = 0; i < m.columns.size(); ++i)
    classes[m.columns[i]] = {{"bases", m.true_pos[i] + m.false_neg[i]}, {"precision", m.precision(i)}, {"recall", m.recall(i)}};
  const auto frac = [](int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0; };
  return {{"bases", m.rows},
          {"accuracy", frac(m.correct, m.rows)},
          {"mean_cross_entropy", m.mean_loss},
          {"coding_precision", frac(m.coding_tp, m.coding_tp + m.coding_fp)},
          {"coding_recall", frac(m.coding_tp, m.coding_tp + m.coding_fn)},
          {"classes", classes}};
}

}  // namespace strand::pipelines
