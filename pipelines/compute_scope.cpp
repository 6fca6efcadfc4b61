#include "pipelines/compute_scope.h"

#include <oneapi/tbb/info.h>

#include "core/error.h"

namespace strand::pipelines {
namespace {

int resolve_threads(const ComputeOptions& options, std::string_view job) {
  if (options.device.kind != kernels::DeviceSpec::Kind::kCpu)
    fail("strand ", job, ": --device ", options.device.to_string(), " is not supported yet (CPU only in this version)");
  return options.threads > 0 ? options.threads : tbb::info::default_concurrency();
}

}  // namespace

ComputeScope::ComputeScope(const ComputeOptions& options, std::string_view job)
    : threads_(resolve_threads(options, job)),
      limit_(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads_)),
      backend_(kernels::make_cpu_backend()) {}

}  // namespace strand::pipelines
