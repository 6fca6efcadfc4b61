// C entry points to mamba_ssm's CUDA selective-scan forward kernel, for caduceus_reference.py
// (loaded with ctypes: no pybind11, Python headers or ninja needed on the GPU machine).
//
// Compiled by build_mamba_scan.sh against the staged mamba sources (csrc/selective_scan, not in
// this repository), once per input type:
//   -DSTRAND_SCAN_INPUT_BF16=0  exports strand_mamba_scan_fwd_f32   (input_t float)
//   -DSTRAND_SCAN_INPUT_BF16=1  exports strand_mamba_scan_fwd_bf16  (input_t at::BFloat16)
// weight_t is float in both (real A), as mamba_simple.Mamba uses it. Only the one template
// instantiation that the call needs is compiled (mamba's own .cu files also instantiate the
// complex-weight variant).
//
// The parameters are filled as mamba's csrc/selective_scan/selective_scan.cpp does for the
// forward (set_ssm_params_fwd) with variable B and C ([batch, n_groups, dstate, seqlen]) and z:
// every stride is in elements, the last dimension of u, delta, B, C, z, out, out_z must be
// contiguous, and x is the [batch, dim, n_chunks, dstate] float2 chunk-state buffer with
// n_chunks = ceil(seqlen / 2048). The Python side checks shapes, dtypes and devices.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
// The kernel names the types at::Half / at::BFloat16; c10's headers provide that alias through
// c10/macros/Macros.h, which newer (header-only) versions need not pull in. Declared once more here.
namespace at {
using c10::BFloat16;
using c10::Half;
}  // namespace at

#include "selective_scan_fwd_kernel.cuh"

#ifndef STRAND_SCAN_INPUT_BF16
#error "define STRAND_SCAN_INPUT_BF16 to 0 (float inputs) or 1 (bfloat16 inputs)"
#endif

#if STRAND_SCAN_INPUT_BF16
using strand_input_t = at::BFloat16;
#define STRAND_SCAN_FWD strand_mamba_scan_fwd_bf16
#else
using strand_input_t = float;
#define STRAND_SCAN_FWD strand_mamba_scan_fwd_f32
#endif

// Built with -fvisibility=hidden: only these C entry points are exported.
#define STRAND_EXPORT __attribute__((visibility("default")))

#ifndef STRAND_MAMBA_COMMIT
#define STRAND_MAMBA_COMMIT "unknown"
#endif

// The one instantiation this object needs (mamba: selective_scan_fwd_{fp32,bf16}.cu).
template void selective_scan_fwd_cuda<strand_input_t, float>(SSMParamsBase &params, cudaStream_t stream);

namespace {

void set_error(char *err, int err_len, const char *what) {
  if (err != nullptr && err_len > 0) {
    std::snprintf(err, static_cast<size_t>(err_len), "%s", what);
  }
}

}  // namespace

extern "C" {

// Returns 0 on success; otherwise writes a message into err (err_len bytes) and returns 1.
// The kernel is queued on `stream` (a cudaStream_t, e.g. torch.cuda.current_stream().cuda_stream)
// and runs asynchronously; launch errors are reported here, execution errors at the next sync.
STRAND_EXPORT int STRAND_SCAN_FWD(int batch, int dim, int seqlen, int dstate, int n_groups, int n_chunks,
                    void *u, int64_t u_batch_stride, int64_t u_d_stride,
                    void *delta, int64_t delta_batch_stride, int64_t delta_d_stride,
                    void *A, int64_t A_d_stride, int64_t A_dstate_stride,
                    void *B, int64_t B_batch_stride, int64_t B_group_stride, int64_t B_dstate_stride,
                    void *C, int64_t C_batch_stride, int64_t C_group_stride, int64_t C_dstate_stride,
                    void *D, void *delta_bias,
                    void *z, int64_t z_batch_stride, int64_t z_d_stride,
                    void *out, int64_t out_batch_stride, int64_t out_d_stride,
                    void *out_z, int64_t out_z_batch_stride, int64_t out_z_d_stride,
                    void *x, int delta_softplus, void *stream, char *err, int err_len) {
  if (batch <= 0 || dim <= 0 || seqlen <= 0 || dstate <= 0 || dstate > MAX_DSTATE || n_groups <= 0 ||
      dim % n_groups != 0 || n_chunks != (seqlen + 2048 - 1) / 2048) {
    set_error(err, err_len, "strand_mamba_scan_fwd: invalid sizes");
    return 1;
  }
  if (u == nullptr || delta == nullptr || A == nullptr || B == nullptr || C == nullptr || z == nullptr ||
      out == nullptr || out_z == nullptr || x == nullptr) {
    set_error(err, err_len, "strand_mamba_scan_fwd: null tensor pointer");
    return 1;
  }
  // As set_ssm_params_fwd(..., is_variable_B = true, is_variable_C = true, has_z = true, ...).
  SSMParamsBase params;
  std::memset(&params, 0, sizeof(params));
  params.batch = batch;
  params.dim = dim;
  params.seqlen = seqlen;
  params.dstate = dstate;
  params.n_groups = n_groups;
  params.n_chunks = n_chunks;
  params.dim_ngroups_ratio = dim / n_groups;
  params.delta_softplus = delta_softplus != 0;
  params.is_variable_B = true;
  params.is_variable_C = true;

  params.u_ptr = u;
  params.delta_ptr = delta;
  params.A_ptr = A;
  params.B_ptr = B;
  params.C_ptr = C;
  params.D_ptr = D;
  params.delta_bias_ptr = delta_bias;
  params.out_ptr = out;
  params.x_ptr = x;
  params.z_ptr = z;
  params.out_z_ptr = out_z;

  using index_t = SSMParamsBase::index_t;
  params.A_d_stride = static_cast<index_t>(A_d_stride);
  params.A_dstate_stride = static_cast<index_t>(A_dstate_stride);
  params.B_batch_stride = static_cast<index_t>(B_batch_stride);
  params.B_group_stride = static_cast<index_t>(B_group_stride);
  params.B_dstate_stride = static_cast<index_t>(B_dstate_stride);
  params.C_batch_stride = static_cast<index_t>(C_batch_stride);
  params.C_group_stride = static_cast<index_t>(C_group_stride);
  params.C_dstate_stride = static_cast<index_t>(C_dstate_stride);
  params.u_batch_stride = static_cast<index_t>(u_batch_stride);
  params.u_d_stride = static_cast<index_t>(u_d_stride);
  params.delta_batch_stride = static_cast<index_t>(delta_batch_stride);
  params.delta_d_stride = static_cast<index_t>(delta_d_stride);
  params.z_batch_stride = static_cast<index_t>(z_batch_stride);
  params.z_d_stride = static_cast<index_t>(z_d_stride);
  params.out_z_batch_stride = static_cast<index_t>(out_z_batch_stride);
  params.out_z_d_stride = static_cast<index_t>(out_z_d_stride);
  params.out_batch_stride = static_cast<index_t>(out_batch_stride);
  params.out_d_stride = static_cast<index_t>(out_d_stride);

  try {
    cudaGetLastError();  // clear a stale error of this runtime so that the check below is ours
    selective_scan_fwd_cuda<strand_input_t, float>(params, static_cast<cudaStream_t>(stream));
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) {
      set_error(err, err_len, cudaGetErrorString(e));
      return 1;
    }
  } catch (const std::exception &e) {
    set_error(err, err_len, e.what());
    return 1;
  } catch (...) {
    set_error(err, err_len, "strand_mamba_scan_fwd: unknown C++ exception");
    return 1;
  }
  return 0;
}

#if !STRAND_SCAN_INPUT_BF16
// Build description: mamba commit, CUDA version of the compiler, target architecture.
STRAND_EXPORT const char *strand_mamba_scan_info(void) {
  static char info[256];
  std::snprintf(info, sizeof(info), "state-spaces/mamba@%s selective_scan_fwd (nvcc %d.%d, %s)",
                STRAND_MAMBA_COMMIT, __CUDACC_VER_MAJOR__, __CUDACC_VER_MINOR__,
#ifdef STRAND_GENCODE
                STRAND_GENCODE
#else
                "gencode unknown"
#endif
  );
  return info;
}
#endif

}  // extern "C"
