// libFuzzer target: config.json parsing (model/config.h) and the name table built from
// whatever config parses (model/tensor_names.h). strand::Error is the expected answer to bad
// input; anything else (crash, sanitizer report, other exception, hang, huge allocation) is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "model/config.h"
#include "model/tensor_names.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace strand::model;
  try {
    const ModelConfig c = parse_model_config(text, "fuzz/config.json");
    STRAND_ASSERT(c.n_layer >= 1 && c.d_model >= 1 && c.vocab_size >= 12, "sizes not validated");
    STRAND_ASSERT(c.mixer.dt_rank >= 1 && c.mixer.d_state >= 1 && c.mixer.d_conv >= 1, "mixer not validated");
    if (!c.complement_map.empty()) {
      STRAND_ASSERT(static_cast<int>(c.complement_map.size()) == c.vocab_size, "complement_map not padded");
      for (int i = 0; i < c.vocab_size; ++i) {
        const int j = c.complement_map[static_cast<size_t>(i)];
        STRAND_ASSERT(j >= 0 && j < c.vocab_size && c.complement_map[static_cast<size_t>(j)] == i, "not an involution");
      }
    }
    // Bounded sizes keep the table small enough to build for every accepted config.
    if (static_cast<int64_t>(c.n_layer) * 24 < 100000) {
      for (const TensorName& t : tensor_names(c))
        for (int64_t d : t.shape) STRAND_ASSERT(d >= 1, "non-positive expected dimension in ", t.name);
    }
  } catch (const strand::Error&) {
  }
  return 0;
}
