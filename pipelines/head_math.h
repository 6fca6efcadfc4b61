// The annotation head's arithmetic on a block of rows, shared by prediction (annotate) and
// training (train-head): forward to probabilities, and the cross-entropy gradient.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "pipelines/annotation_head.h"

namespace strand::pipelines {

// Activations of one block of n rows, kept for the backward pass (row-major).
struct HeadActivations {
  int64_t n = 0;
  std::vector<float> x_plus, x_minus;  // [n, 2d] normalised (a|b) and (b|a)
  std::vector<float> u_plus, u_minus;  // [n, K]: ReLU outputs (hidden layer) or x itself
  std::vector<float> probs;            // [n, C] softmax
};

// pairs [n, 2d] raw feature pairs → act (probabilities in act.probs).
void head_forward(const AnnotationHead& head, const float* pairs, int64_t n, HeadActivations& act);

// Adds the gradient of the summed cross-entropy of act's rows against `labels` (output
// columns; negative = ignored) to grad [params().size()]; returns the summed loss.
double head_backward(const AnnotationHead& head, const HeadActivations& act, const int8_t* labels,
                     std::span<float> grad);

}  // namespace strand::pipelines
