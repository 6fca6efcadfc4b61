// libFuzzer target: the input's lines through GenbankParser, then finish()
// (genomics/genbank_reader.h); and parse_insdc_location on the first line against a sequence
// length taken from the first bytes. strand::Error is the expected answer to bad input;
// anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "core/log.h"
#include "genomics/genbank_reader.h"
#include "genomics/gff3_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  strand::set_log_level(strand::LogLevel::kQuiet);  // remote-location warnings are noise here
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  using namespace strand::genomics;

  // Location parser alone: length from the first two bytes (1..65536), text = first line.
  {
    const int64_t length = size >= 2 ? 1 + (int64_t{data[0]} << 8 | data[1]) : 100;
    const std::string_view first = all.substr(0, all.find('\n'));
    try {
      (void)parse_insdc_location(first, length);
    } catch (const strand::Error&) {
    }
  }

  std::string_view text = all;
  try {
    GenbankParser parser("fuzz.gbk");
    while (!text.empty()) {
      const size_t nl = text.find('\n');
      if (parser.parse_line(text.substr(0, nl))) {
        const GenbankRecord rec = parser.take();
        for (const Feature& f : rec.features) (void)format_gff3(f);
      }
      if (nl == std::string_view::npos) break;
      text.remove_prefix(nl + 1);
    }
    parser.finish();
  } catch (const strand::Error&) {
  }
  return 0;
}
