#include "core/text.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace strand {
namespace {

TEST(ParseInt64, AcceptsIntegersAndCommasWhenAsked) {
  EXPECT_EQ(parse_int64("42", "x"), 42);
  EXPECT_EQ(parse_int64("-7", "x"), -7);
  EXPECT_EQ(parse_int64("+7", "x"), 7);
  EXPECT_EQ(parse_int64("1,000,000", "x", true), 1000000);
  EXPECT_THROW(parse_int64("1,000", "x"), Error);
}

TEST(ParseInt64, RejectsGarbageWithTheValueNamed) {
  for (const char* bad : {"", "abc", "12a", " 12", "1e5", "99999999999999999999"}) {
    try {
      parse_int64(bad, "start position");
      FAIL() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("start position"), std::string::npos) << e.what();
    }
  }
}

TEST(ParseDouble, Basic) {
  EXPECT_DOUBLE_EQ(parse_double("0.5", "p"), 0.5);
  EXPECT_DOUBLE_EQ(parse_double("-1e-3", "p"), -1e-3);
  EXPECT_THROW(parse_double("0.5x", "p"), Error);
  EXPECT_THROW(parse_double("", "p"), Error);
}

TEST(Split, KeepsEmptyFields) {
  const auto parts = split("a\t\tb\t", '\t');
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0], "a");
  EXPECT_EQ(parts[1], "");
  EXPECT_EQ(parts[2], "b");
  EXPECT_EQ(parts[3], "");
}

TEST(Trim, Whitespace) {
  EXPECT_EQ(trim("  a b \r\n"), "a b");
  EXPECT_EQ(trim(""), "");
}

// The shortest text that reads back as the same value, per type: 0.1f is "0.1" as a float but
// 0.100000001490116... as a double.
TEST(FormatShortest, RoundTripsPerType) {
  std::string out;
  append_shortest(out, 0.1f);
  EXPECT_EQ(out, "0.1");
  out.clear();
  append_shortest(out, static_cast<double>(0.1f));
  EXPECT_EQ(out, "0.10000000149011612");
  EXPECT_EQ(format_shortest(2.5), "2.5");
  EXPECT_EQ(format_shortest(-1e-300), "-1e-300");
  EXPECT_EQ(format_shortest(100.0), "100");
  for (const double v : {1.0 / 3.0, 123456.789, 6.02214076e23}) EXPECT_EQ(std::stod(format_shortest(v)), v);
}

TEST(QuoteForMessage, EscapesBinaryAndCaps) {
  EXPECT_EQ(quote_for_message(std::string_view("a\x01\xff", 3)), "'a\\x01\\xff'");
  EXPECT_EQ(quote_for_message("abcdef", 3), "'abc...'");
}

}  // namespace
}  // namespace strand
