// libFuzzer target: -r region strings and BED lines (genomics/region.h). strand::Error is the
// expected answer to bad input; anything else (crash, sanitizer report, other exception,
// hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "genomics/region.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace strand::genomics;
  try {
    const Region r = parse_region(text);
    // Whatever parses must print and clamp without surprises.
    (void)r.to_string();
    try {
      (void)clamp_to_contig(r, 1000);
    } catch (const strand::Error&) {
    }
  } catch (const strand::Error&) {
  }
  try {
    (void)parse_region_list(text);
  } catch (const strand::Error&) {
  }
  try {
    (void)parse_bed_region(text, "fuzz.bed line 1");
  } catch (const strand::Error&) {
  }
  return 0;
}
