// A build without the CUDA backend (STRAND_CUDA=OFF): the device query answers "not compiled
// in" and asking for a CUDA backend is a user-facing error.
#include "core/error.h"
#include "kernels/backend.h"
#include "kernels/device.h"

namespace strand::kernels {

bool cuda_compiled() { return false; }

std::vector<CudaDeviceInfo> cuda_devices(std::string* why_none) {
  if (why_none) *why_none = "CUDA not compiled in";
  return {};
}

std::string cuda_versions() { return ""; }

std::unique_ptr<Backend> make_cuda_backend(int ordinal, GemmPrecision) {
  fail("cuda:", ordinal, " requested, but this strand was built without CUDA (cmake -DSTRAND_CUDA=ON)");
}

}  // namespace strand::kernels
