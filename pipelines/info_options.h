// Options of `strand info`: what a model is (architecture, sizes, tensors, checksum), or the
// list of shipped models.
#pragma once

#include <string>

namespace strand::pipelines {

struct InfoOptions {
  std::string model;  // a folder or a shipped model's name; empty = list the shipped models

  void validate() const {}
};

}  // namespace strand::pipelines
