// The one-position scan kernel (scan_kernel.h's scan_step_block) compiled for AVX-512
// (kernels/CMakeLists.txt): a channel's 16 states are one register, compares set mask
// registers, and exp_fast's constants stay in the 32 vector registers. scan.cpp calls it only
// when the CPU has AVX-512F; it computes what the AVX2 kernels compute, element for element
// (the same expressions and FMA contractions), so a step equals a whole-record pass bit for
// bit. Nothing else may live here: any code in this file may use AVX-512 instructions.
#include "kernels/cpu/scan_kernel.h"

namespace strand::kernels::cpu {

void scan_step_avx512(const ScanParams& p, int64_t s, int64_t d0, int64_t width) {
  scan_step_block(p, s, d0, width);
}

}  // namespace strand::kernels::cpu
