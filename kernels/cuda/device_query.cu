// Device query through the CUDA runtime (STRAND_CUDA=ON). Every call's status is checked;
// "no device" is an answer, not an error: CPU-only machines run the same binary.
#include <cuda_runtime.h>

#include "core/error.h"
#include "kernels/device.h"

namespace strand::kernels {

bool cuda_compiled() { return true; }

std::vector<CudaDeviceInfo> cuda_devices(std::string* why_none) {
  std::vector<CudaDeviceInfo> devices;
  int count = 0;
  const cudaError_t rc = cudaGetDeviceCount(&count);
  if (rc != cudaSuccess) {
    if (why_none) *why_none = cat("no CUDA device: ", cudaGetErrorString(rc));
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return devices;
  }
  if (count == 0 && why_none) *why_none = "no CUDA device visible";
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    const cudaError_t prc = cudaGetDeviceProperties(&prop, i);
    if (prc != cudaSuccess) fail("cudaGetDeviceProperties(", i, ") failed: ", cudaGetErrorString(prc));
    devices.push_back({i, prop.name, prop.major, prop.minor, static_cast<uint64_t>(prop.totalGlobalMem)});
  }
  return devices;
}

std::string cuda_versions() {
  int runtime = 0, driver = 0;
  if (cudaRuntimeGetVersion(&runtime) != cudaSuccess) runtime = 0;
  if (cudaDriverGetVersion(&driver) != cudaSuccess) driver = 0;
  auto fmt = [](int v) { return v ? cat(v / 1000, ".", (v % 1000) / 10) : std::string("none"); };
  return cat("runtime ", fmt(runtime), ", driver ", fmt(driver));
}

}  // namespace strand::kernels
