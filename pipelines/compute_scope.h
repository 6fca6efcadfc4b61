// The compute a job runs with, set up once: --threads resolved (0 = all cores) and TBB's
// parallelism capped to it for the job's lifetime, and the backend for --device (cpu, or one
// CUDA device; several GPUs in one job are refused, naming the job).
#pragma once

#include <memory>
#include <string_view>

#include <oneapi/tbb/global_control.h>

#include "kernels/backend.h"
#include "pipelines/shared_options.h"

namespace strand::pipelines {

class ComputeScope {
 public:
  ComputeScope(const ComputeOptions& options, std::string_view job);
  int threads() const { return threads_; }
  kernels::Backend& backend() { return *backend_; }

 private:
  int threads_;
  tbb::global_control limit_;
  std::unique_ptr<kernels::Backend> backend_;
};

}  // namespace strand::pipelines
