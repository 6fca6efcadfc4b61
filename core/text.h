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
// `v` with `digits` significant digits, shortest form (printf %.*g): values in TSV and headers.
std::string format_significant(double v, int digits);
// The shortest text that reads back as the same value (std::to_chars): the scores and values of
// GFF3, BED and bedGraph output.
void append_shortest(std::string& out, float v);
void append_shortest(std::string& out, double v);
std::string format_shortest(double v);

// Printable rendering of arbitrary bytes for error messages (control bytes escaped, capped).
std::string quote_for_message(std::string_view text, size_t max_chars = 60);

}  // namespace strand
