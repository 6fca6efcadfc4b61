// The linear kernel (gemm_kernel.h) compiled for AVX512 (kernels/CMakeLists.txt); gemm.cpp calls
// it only when the CPU has it. Nothing else may live here: any code in this file may use
// AVX512 instructions.
#include "kernels/cpu/gemm_kernel.h"

namespace strand::kernels::cpu {

void gemm_tile_avx512(const LinearParams& p, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  gemm_tile(p, r0, r1, c0, c1);
}

}  // namespace strand::kernels::cpu
