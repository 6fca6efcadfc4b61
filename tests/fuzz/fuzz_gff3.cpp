// libFuzzer target: the input's lines through Gff3Parser, then finish() (genomics/gff3_reader.h),
// and the resulting features back through format_gff3. strand::Error is the expected answer
// to bad input; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "core/log.h"
#include "genomics/gff3_reader.h"
#include "genomics/gff3_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  strand::set_log_level(strand::LogLevel::kQuiet);  // the missing-version warning is noise here
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace strand::genomics;
  try {
    Gff3Parser parser("fuzz.gff3");
    while (!text.empty()) {
      const size_t nl = text.find('\n');
      parser.parse_line(text.substr(0, nl));
      if (nl == std::string_view::npos) break;
      text.remove_prefix(nl + 1);
    }
    const Gff3Document doc = parser.finish();
    for (const Feature& f : doc.features) (void)format_gff3(f);
  } catch (const strand::Error&) {
  }
  return 0;
}
