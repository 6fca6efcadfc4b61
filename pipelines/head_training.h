// Fitting an annotation head (annotation_head.h) on sampled bases: feature normalisation from
// the training sample, then mini-batch AdamW on the cross-entropy, deterministic for a seed
// whatever the thread count (each batch's gradient is summed over fixed blocks in a fixed
// order); and its held-out report: per-class precision and recall.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipelines/annotation_head.h"

namespace strand::pipelines {

// Sampled bases: their raw feature pairs [rows, 2d] and labels (output columns).
struct HeadSample {
  int64_t pair_width = 0;  // 2d
  std::vector<float> pairs;
  std::vector<int8_t> labels;
  int64_t rows() const { return static_cast<int64_t>(labels.size()); }
  void append(const float* pair, int8_t label);
  void append(const HeadSample& other);
};

struct HeadTrainOptions {
  int epochs = 5;
  double learning_rate = 1e-3;
  double weight_decay = 1e-4;  // decoupled (AdamW), on the weight matrices only
  int64_t batch_rows = 1024;
  uint64_t seed = 1;
};

// Mean and 1/std per feature channel over both halves of every training row (shared by the
// halves so that the reverse-complement swap commutes with the normalisation).
void fit_normalisation(AnnotationHead& head, const HeadSample& train);

// Initialises (He for the hidden layer, zero output weights, output biases = log class
// frequencies) and trains; logs the loss per epoch (and `held_out` loss when not empty).
void train_head(AnnotationHead& head, const HeadSample& train, const HeadSample& held_out, const HeadTrainOptions& options);

struct HeadMetrics {
  std::vector<std::string> columns;
  std::vector<int64_t> true_pos, false_pos, false_neg;  // per column, argmax decisions
  int64_t rows = 0, correct = 0;
  double mean_loss = 0.0;
  // Any CDS column against the rest: is the base coding?
  int64_t coding_tp = 0, coding_fp = 0, coding_fn = 0;
  double precision(size_t column) const;
  double recall(size_t column) const;
};

HeadMetrics evaluate_head(const AnnotationHead& head, const HeadSample& sample);
// A table for the log (one line per column) and the same numbers as JSON for the head's metadata.
std::string format_metrics(const HeadMetrics& metrics);
nlohmann::json metrics_json(const HeadMetrics& metrics);

}  // namespace strand::pipelines
