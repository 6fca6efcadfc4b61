// libFuzzer target: the safetensors header parser (model/safetensors.h). The first 8 input
// bytes are the size of the data section (little-endian, so huge and tiny sizes both occur);
// the rest is the header JSON. strand::Error is the expected answer to bad input; anything
// else (crash, sanitizer report, other exception, hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/error.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint64_t data_bytes = 0;
  for (int i = 7; i >= 0; --i) data_bytes = (data_bytes << 8) | data[i];
  const std::string_view header(reinterpret_cast<const char*>(data + 8), size - 8);
  using namespace strand::model;
  try {
    std::map<std::string, std::string> metadata;
    const auto tensors = parse_safetensors_header(header, data_bytes, "fuzz.safetensors", &metadata);
    // What validates must be self-consistent: in range, ordered, sized by dtype and shape.
    uint64_t previous_end = 0;
    for (const StTensorInfo& t : tensors) {
      STRAND_ASSERT(t.begin <= t.end && t.end <= data_bytes, "offsets out of range");
      STRAND_ASSERT(t.begin >= previous_end, "overlap accepted");
      STRAND_ASSERT(t.end - t.begin == static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype), "size mismatch");
      (void)to_string(t.dtype);
      previous_end = t.end;
    }
  } catch (const strand::Error&) {
  }
  return 0;
}
