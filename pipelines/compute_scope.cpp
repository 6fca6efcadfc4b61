#include "pipelines/compute_scope.h"

#include <oneapi/tbb/info.h>

#include "core/error.h"
#include "kernels/device.h"

namespace strand::pipelines {
namespace {

int resolve_threads(const ComputeOptions& options) {
  return options.threads > 0 ? options.threads : tbb::info::default_concurrency();
}

std::unique_ptr<kernels::Backend> make_backend(const kernels::DeviceSpec& device, kernels::GemmPrecision precision,
                                               std::string_view job) {
  if (device.kind == kernels::DeviceSpec::Kind::kCpu) return kernels::make_cpu_backend();
  kernels::check_device_available(device);
  if (device.cuda_ordinals.size() != 1)
    fail("strand ", job, ": --device ", device.to_string(),
         ": several GPUs in one job are not supported yet; give one (e.g. cuda:0)");
  return kernels::make_cuda_backend(device.cuda_ordinals.front(), precision);
}

}  // namespace

ComputeScope::ComputeScope(const ComputeOptions& options, std::string_view job)
    : threads_(resolve_threads(options)),
      limit_(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads_)),
      backend_(make_backend(options.device, options.precision, job)) {}

}  // namespace strand::pipelines
