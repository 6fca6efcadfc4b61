// Device query of a build without the CUDA backend (STRAND_CUDA=OFF).
#include "kernels/device.h"

namespace strand::kernels {

bool cuda_compiled() { return false; }

std::vector<CudaDeviceInfo> cuda_devices(std::string* why_none) {
  if (why_none) *why_none = "CUDA not compiled in";
  return {};
}

std::string cuda_versions() { return ""; }

}  // namespace strand::kernels
