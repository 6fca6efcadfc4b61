#include "pipelines/compute_scope.h"

#include <oneapi/tbb/info.h>

#include "core/error.h"
#include "kernels/device.h"

namespace strand::pipelines {
namespace {

int resolve_threads(const ComputeOptions& options) {
  return options.threads > 0 ? options.threads : tbb::info::default_concurrency();
}

std::vector<std::unique_ptr<kernels::Backend>> make_backends(const ComputeOptions& options, std::string_view job,
                                                            bool several_gpus) {
  std::vector<std::unique_ptr<kernels::Backend>> backends;
  const kernels::DeviceSpec& device = options.device;
  if (device.kind == kernels::DeviceSpec::Kind::kCpu) {
    backends.push_back(kernels::make_cpu_backend());
    return backends;
  }
  kernels::check_device_available(device);
  if (device.cuda_ordinals.size() != 1 && !several_gpus)
    fail("strand ", job, ": --device ", device.to_string(),
         ": this command runs on one GPU; give one (e.g. cuda:0)");
  for (size_t i = 0; i < device.cuda_ordinals.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (device.cuda_ordinals[i] == device.cuda_ordinals[j])
        fail("--device ", device.to_string(), ": cuda:", device.cuda_ordinals[i], " is named twice");
  for (const int ordinal : device.cuda_ordinals) backends.push_back(kernels::make_cuda_backend(ordinal, options.precision));
  return backends;
}

}  // namespace

ComputeScope::ComputeScope(const ComputeOptions& options, std::string_view job, bool several_gpus)
    : threads_(resolve_threads(options)),
      limit_(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads_)),
      backends_(make_backends(options, job, several_gpus)) {}

}  // namespace strand::pipelines
