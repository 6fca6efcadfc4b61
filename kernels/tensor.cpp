#include "kernels/tensor.h"

namespace strand::kernels {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kF32: return 4;
    case DType::kF16: return 2;
    case DType::kBF16: return 2;
  }
  STRAND_ASSERT(false, "unknown dtype ", static_cast<int>(dtype));
  return 0;
}

const char* to_string(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
  }
  STRAND_ASSERT(false, "unknown dtype ", static_cast<int>(dtype));
  return "?";
}

}  // namespace strand::kernels
