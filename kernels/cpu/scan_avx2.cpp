// The selective-scan kernel compiled with -mavx2 -mfma (kernels/CMakeLists.txt); scan.cpp
// calls it only when the CPU has both. Nothing else may live here: any code in this file may
// use AVX2 instructions.
#include "kernels/cpu/scan_kernel.h"

namespace strand::kernels::cpu {

void scan_block_avx2(const ScanParams& p, int64_t s, int64_t d0, int64_t width, float* a_t, float* h, float* w_t) {
  scan_block(p, s, d0, width, a_t, h, w_t);
}

void scan_step_avx2(const ScanParams& p, int64_t s, int64_t d0, int64_t width) {
  scan_step_block(p, s, d0, width);
}

}  // namespace strand::kernels::cpu
