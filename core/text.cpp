#include "core/text.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace strand {

int64_t parse_int64(std::string_view text, std::string_view what, bool allow_commas) {
  std::string digits;
  digits.reserve(text.size());
  for (char c : text)
    if (!(allow_commas && c == ',')) digits += c;
  int64_t value = 0;
  const char* first = digits.data();
  const char* last = digits.data() + digits.size();
  if (first != last && *first == '+') ++first;
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (digits.empty() || ec == std::errc::invalid_argument || ptr != last)
    fail("invalid ", what, " ", quote_for_message(text), ": not an integer");
  if (ec == std::errc::result_out_of_range) fail("invalid ", what, " ", quote_for_message(text), ": out of range");
  return value;
}

double parse_double(std::string_view text, std::string_view what) {
  const std::string s(trim(text));
  if (s.empty()) fail("invalid ", what, ": empty");
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) fail("invalid ", what, " ", quote_for_message(text), ": not a number");
  if (errno == ERANGE && (value > 1.0 || value < -1.0))
    fail("invalid ", what, " ", quote_for_message(text), ": out of range");
  return value;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t pos = text.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string quote_for_message(std::string_view text, size_t max_chars) {
  std::string out = "'";
  size_t shown = 0;
  for (unsigned char c : text) {
    if (shown++ == max_chars) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  out += "'";
  return out;
}

std::string format_significant(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

namespace {
template <typename T>
void append_shortest_of(std::string& out, T v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  STRAND_ASSERT(ec == std::errc(), "number formatting failed");
  out.append(buf, end);
}
}  // namespace

void append_shortest(std::string& out, float v) {
  append_shortest_of(out, v);
}
void append_shortest(std::string& out, double v) {
  append_shortest_of(out, v);
}

std::string format_shortest(double v) {
  std::string out;
  append_shortest(out, v);
  return out;
}

}  // namespace strand
