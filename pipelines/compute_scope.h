// The compute a job runs with, set up once: --threads resolved (0 = all cores) and TBB's
// parallelism capped to it for the job's lifetime, and the backends for --device: the CPU, or
// one per CUDA device named (cuda:0,cuda:1,...). Jobs that spread their work over several GPUs
// say so; the others refuse more than one, naming the job.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include <oneapi/tbb/global_control.h>

#include "kernels/backend.h"
#include "pipelines/shared_options.h"

namespace strand::pipelines {

class ComputeScope {
 public:
  ComputeScope(const ComputeOptions& options, std::string_view job, bool several_gpus = false);
  int threads() const { return threads_; }
  kernels::Backend& backend() { return *backends_.front(); }
  // Every backend, in --device order (one unless several GPUs were named).
  size_t backend_count() const { return backends_.size(); }
  kernels::Backend& backend(size_t i) { return *backends_.at(i); }

 private:
  int threads_;
  tbb::global_control limit_;
  std::vector<std::unique_ptr<kernels::Backend>> backends_;
};

}  // namespace strand::pipelines
