// Compute devices: which backend runs the ops (--device cpu | cuda[:N][,cuda:M...]) and what
// CUDA devices this build can see. The CUDA side lives in kernels/cuda/ and is compiled only
// with STRAND_CUDA; without it the query answers "not compiled in".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strand::kernels {

struct DeviceSpec {
  enum class Kind { kCpu, kCuda };
  Kind kind = Kind::kCpu;
  std::vector<int> cuda_ordinals;  // for kCuda: one or more device ordinals, in order given
  std::string to_string() const;
};

// "cpu", "cuda" (= cuda:0), "cuda:1", "cuda:0,cuda:1" (also "cuda:0,1"). Throws strand::Error.
DeviceSpec parse_device_spec(std::string_view text);

struct CudaDeviceInfo {
  int ordinal = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  uint64_t total_memory_bytes = 0;
};

// Whether this binary was built with the CUDA backend.
bool cuda_compiled();
// Visible CUDA devices; empty when none (or not compiled in), with the reason in *why_none.
std::vector<CudaDeviceInfo> cuda_devices(std::string* why_none = nullptr);
// The CUDA runtime/driver versions as "runtime 13.0, driver 13.0", or "" without CUDA.
std::string cuda_versions();

// Throws strand::Error when `spec` names CUDA devices that this build or machine lacks.
void check_device_available(const DeviceSpec& spec);

}  // namespace strand::kernels
