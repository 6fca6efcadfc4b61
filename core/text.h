// Small text helpers shared by the parsers: strict number parsing with errors that say what
// was being parsed, splitting and trimming without copies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strand {

// Parses a whole string as a signed integer; "what" names the value in the error message.
// Accepts thousands separators ',' (as samtools does for regions) when allow_commas is set.
int64_t parse_int64(std::string_view text, std::string_view what, bool allow_commas = false);
double parse_double(std::string_view text, std::string_view what);

std::vector<std::string_view> split(std::string_view text, char sep);
std::string_view trim(std::string_view text);
// Printable rendering of arbitrary bytes for error messages (control bytes escaped, capped).
// `v` with `digits` significant digits, shortest form (printf %.*g): values in TSV and headers.
std::string format_significant(double v, int digits);

std::string quote_for_message(std::string_view text, size_t max_chars = 60);

}  // namespace strand
