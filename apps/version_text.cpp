#include "apps/version_text.h"

#include <htslib/hts.h>
#include <oneapi/tbb/version.h>

#include <Eigen/Core>
#include <cstdio>

#include "core/error.h"
#include "core/version.h"
#include "kernels/device.h"

#ifndef STRAND_BUILD_TYPE
#define STRAND_BUILD_TYPE "unknown"
#endif

namespace strand::apps {
namespace {

std::string compiler() {
#if defined(__clang__)
  return cat("clang ", __clang_major__, ".", __clang_minor__, ".", __clang_patchlevel__);
#elif defined(__GNUC__)
  return cat("GCC ", __GNUC__, ".", __GNUC_MINOR__, ".", __GNUC_PATCHLEVEL__);
#else
  return "unknown compiler";
#endif
}

std::string build_flavour() {
  std::string s = STRAND_BUILD_TYPE;
#if defined(__SANITIZE_ADDRESS__)
  s += ", AddressSanitizer";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  s += ", AddressSanitizer";
#endif
#endif
#if defined(__AVX512F__)
  s += ", AVX-512";
#elif defined(__AVX2__)
  s += ", AVX2";
#endif
  return s;
}

std::string gib(uint64_t bytes) {
  const double value = static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", value);
  return buf;
}

}  // namespace

std::string version_text() {
  std::string s = cat("strand ", STRAND_VERSION, " (git ", git_revision(), ")\n");
  s += cat("HTSlib ", hts_version(), "\n");
  s += cat("TBB ", TBB_runtime_version(), " (interface ", TBB_runtime_interface_version(), ")\n");
  s += cat("Eigen ", EIGEN_WORLD_VERSION, ".", EIGEN_MAJOR_VERSION, ".", EIGEN_MINOR_VERSION, "\n");
  s += cat("Compiler ", compiler(), ", C++", __cplusplus / 100 % 100, " (", build_flavour(), ")\n");
  if (!kernels::cuda_compiled()) {
    s += "CUDA not compiled in (rebuild with -DSTRAND_CUDA=ON)";
    return s;
  }
  s += cat("CUDA compiled in (", kernels::cuda_versions(), ")\n");
  std::string why;
  const auto devices = kernels::cuda_devices(&why);
  if (devices.empty()) {
    s += cat("CUDA devices: none (", why, ")");
    return s;
  }
  for (const auto& d : devices)
    s += cat(&d == &devices.front() ? "" : "\n", "  cuda:", d.ordinal, " ", d.name, ", compute capability ", d.cc_major,
             ".", d.cc_minor, ", ", gib(d.total_memory_bytes));
  return s;  // without a final newline: CLI11 adds one
}

}  // namespace strand::apps
