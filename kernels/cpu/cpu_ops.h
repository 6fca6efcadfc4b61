// The CPU backend's ops as free functions (one file per op family), so that tests and
// benchmarks can call them directly; cpu_backend.cpp wraps them in a kernels::Backend.
// All run on the threads of the caller's tbb::task_arena, with work split into blocks fixed by
// the shapes alone, so that the result never depends on the thread count.
#pragma once

#include "kernels/ops.h"

namespace strand::kernels::cpu {

void conv1d_silu(const ConvParams& p);  // conv.cpp
// Which instruction set the scan and linear may use: kAuto picks the widest the CPU has (AVX2 +
// FMA; AVX-512 for linear and the scan's one-position step); kBaseline forces the portable build
// and kAvx2 caps at AVX2 + FMA (tests compare them).
enum class Simd { kAuto, kBaseline, kAvx2 };
void linear(const LinearParams& p, Simd simd = Simd::kAuto);         // gemm.cpp
void selective_scan(const ScanParams& p, Simd simd = Simd::kAuto);  // scan.cpp
void add_rms_norm(const AddRmsNormParams& p);                       // rowwise.cpp
void embedding(const EmbeddingParams& p);                           // rowwise.cpp
void elementwise(const ElementwiseParams& p);                       // rowwise.cpp
void flip(const FlipParams& p);                                     // rowwise.cpp

}  // namespace strand::kernels::cpu
