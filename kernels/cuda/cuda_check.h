// Status checks for every CUDA runtime and cuBLAS call of the CUDA backend. A failing call is
// an environment fault (no device, out of memory, a driver error), not a programming error, so
// it throws strand::Error naming the call, where it was made and what CUDA said. The runtime's
// last-error state is cleared on the way out, so that a caller who catches the error does not
// see it again from the next launch check.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/error.h"

// STRAND_CUDA_CHECK(cudaMemcpyAsync(...)); after a kernel launch: STRAND_CUDA_CHECK(cudaGetLastError()).
#define STRAND_CUDA_CHECK(expr)                                                                      \
  do {                                                                                               \
    const cudaError_t strand_cuda_status_ = (expr);                                                  \
    if (strand_cuda_status_ != cudaSuccess) {                                                        \
      (void)cudaGetLastError();                                                                      \
      ::strand::fail("CUDA call failed: ", #expr, " at ", __FILE__, ":", __LINE__, ": ",           \
                     cudaGetErrorName(strand_cuda_status_), " (", cudaGetErrorString(strand_cuda_status_), ")"); \
    }                                                                                                \
  } while (0)

// STRAND_CUBLAS_CHECK(cublasGemmEx(...)).
#define STRAND_CUBLAS_CHECK(expr)                                                                    \
  do {                                                                                               \
    const cublasStatus_t strand_cublas_status_ = (expr);                                             \
    if (strand_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                                            \
      (void)cudaGetLastError();                                                                      \
      ::strand::fail("cuBLAS call failed: ", #expr, " at ", __FILE__, ":", __LINE__, ": ",         \
                     cublasGetStatusName(strand_cublas_status_), " (",                               \
                     cublasGetStatusString(strand_cublas_status_), ")");                             \
    }                                                                                                \
  } while (0)
