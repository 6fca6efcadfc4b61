// The safetensors reader and writer: exact F16/BF16 widening against known bit patterns (and
// all 65536 halves), a writer round trip, and every malformed-file error naming the file and
// the tensor: short files, header lengths past the end, truncation, bad JSON, bad entries,
// overlapping or out-of-range offsets, size mismatches, overflowing shapes.
#include "model/safetensors.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "core/text.h"
#include "tests/model/safetensors_builder.h"
#include "tests/test_support.h"

namespace strand::model {
namespace {

using test::expect_error;
using test::RawTensor;
using test::safetensors_image;

uint32_t bits_of(float f) {
  return std::bit_cast<uint32_t>(f);
}

TEST(Safetensors, F16KnownBitPatterns) {
  EXPECT_EQ(bits_of(f16_to_f32(0x0000)), 0x00000000u);
  EXPECT_EQ(bits_of(f16_to_f32(0x8000)), 0x80000000u);  // -0 keeps its sign
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x3555), 0.333251953125f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);                  // largest normal
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(f16_to_f32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(bits_of(f16_to_f32(0x7c00)), 0x7f800000u);  // +inf
  EXPECT_EQ(bits_of(f16_to_f32(0xfc00)), 0xff800000u);  // -inf
  EXPECT_EQ(bits_of(f16_to_f32(0x7e00)), 0x7fc00000u);  // quiet NaN
  EXPECT_EQ(bits_of(f16_to_f32(0x7c01)), 0x7f802000u);  // NaN payload kept
}

TEST(Safetensors, F16EveryValueMatchesTheDefinition) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const int exponent = static_cast<int>((h >> 10) & 0x1f), mantissa = static_cast<int>(h & 0x3ff);
    const double sign = (h & 0x8000) ? -1.0 : 1.0;
    const float got = f16_to_f32(static_cast<uint16_t>(h));
    if (exponent == 31) {
      EXPECT_TRUE(mantissa ? std::isnan(got) : std::isinf(got)) << h;
      continue;
    }
    const double want =
        exponent == 0 ? sign * std::ldexp(mantissa, -24) : sign * std::ldexp(1024 + mantissa, exponent - 25);
    ASSERT_EQ(static_cast<double>(got), want) << "half 0x" << std::hex << h;
    ASSERT_EQ(std::signbit(got), (h & 0x8000) != 0) << h;
  }
}

TEST(Safetensors, Bf16IsTheTopHalfOfAnF32) {
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xc040), -3.0f);
  EXPECT_EQ(bf16_to_f32(0x3eab), 0.333984375f);
  EXPECT_EQ(bits_of(bf16_to_f32(0x0001)), 0x00010000u);  // subnormal
  EXPECT_EQ(bits_of(bf16_to_f32(0x7f80)), 0x7f800000u);
  EXPECT_EQ(bits_of(bf16_to_f32(0xff81)), 0xff810000u);  // NaN payload kept
  for (uint32_t h = 0; h < 0x10000; h += 97) EXPECT_EQ(bits_of(bf16_to_f32(static_cast<uint16_t>(h))), h << 16);
}

TEST(Safetensors, ReadsEveryFloatDtypeAndIntegers) {
  test::TempDir tmp;
  const std::vector<uint16_t> half = {0x3c00, 0x0001, 0xfc00};
  const std::vector<uint16_t> bf = {0x3f80, 0xc040, 0x0001};
  const std::vector<double> f64 = {0.1, -2.5, 1e300};
  const std::vector<int64_t> i64 = {0, 1, -7};
  const std::vector<int32_t> i32 = {5, -5, 1 << 30};
  const auto path = (tmp / "x.safetensors").string();
  test::write_file(path, safetensors_image({{"h", "F16", {3}, test::le_bytes(half)},
                                            {"b", "BF16", {1, 3}, test::le_bytes(bf)},
                                            {"d", "F64", {3, 1}, test::le_bytes(f64)},
                                            {"i", "I64", {3}, test::le_bytes(i64)},
                                            {"j", "I32", {3}, test::le_bytes(i32)}}));
  const SafetensorsFile f(path);
  ASSERT_EQ(f.tensors().size(), 5u);
  std::vector<float> out(3);
  f.read_f32(*f.find("h"), out);
  EXPECT_EQ(out, (std::vector<float>{1.0f, std::ldexp(1.0f, -24), -INFINITY}));
  f.read_f32(*f.find("b"), out);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -3.0f);
  EXPECT_EQ(bits_of(out[2]), 0x00010000u);
  f.read_f32(*f.find("d"), out);
  EXPECT_EQ(out, (std::vector<float>{0.1f, -2.5f, INFINITY}));  // narrowed with rounding
  EXPECT_EQ(f.read_i64(*f.find("i")), i64);
  EXPECT_EQ(f.read_i64(*f.find("j")), (std::vector<int64_t>{5, -5, 1 << 30}));
  EXPECT_EQ(f.find("b")->shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(f.find("nope"), nullptr);
  expect_error([&] { f.read_f32(*f.find("i"), out); }, {path, "'i'", "I64", "floating-point"});
  expect_error([&] { (void)f.read_i64(*f.find("h")); }, {path, "'h'", "F16", "integer"});
}

TEST(Safetensors, WriterRoundTrip) {
  test::TempDir tmp;
  const auto path = (tmp / "out.safetensors").string();
  SafetensorsWriter w(path);
  const std::vector<float> a = {1.5f, -0.0f, std::numeric_limits<float>::denorm_min(), 3e38f, -1e-3f, 7.0f};
  const std::vector<float> scalar = {42.0f};
  w.add("chr1:1-3", {2, 3}, a);
  w.add("empty", {0, 4}, {});
  w.add("scalar", {}, scalar);
  w.set_metadata("strand_version", "0.1.0");
  w.set_metadata("note", "quotes \" and \\ and tabs\t");
  w.finish();
  EXPECT_EQ(tmp.list(), std::vector<std::string>{"out.safetensors"});  // the scratch file is gone

  const std::string raw = test::read_file(path);
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | static_cast<uint8_t>(raw[static_cast<size_t>(i)]);
  EXPECT_EQ(header_bytes % 8, 0u) << "header padded to 8 bytes";
  EXPECT_EQ(raw.size(), 8 + header_bytes + (6 + 1) * 4);
  const std::string header = raw.substr(8, header_bytes);
  EXPECT_EQ(header.front(), '{');
  EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}')) << "padding is spaces after the JSON";

  const SafetensorsFile f(path);
  EXPECT_EQ(f.metadata().at("strand_version"), "0.1.0");
  EXPECT_EQ(f.metadata().at("note"), "quotes \" and \\ and tabs\t");
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.tensors()[0].name, "chr1:1-3");  // file order
  const StTensorInfo& t = *f.find("chr1:1-3");
  EXPECT_EQ(t.dtype, StDType::kF32);
  EXPECT_EQ(t.shape, (std::vector<int64_t>{2, 3}));
  std::vector<float> back(6);
  f.read_f32(t, back);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(bits_of(back[i]), bits_of(a[i])) << i;
  EXPECT_EQ(f.find("empty")->numel(), 0);
  EXPECT_EQ(f.find("scalar")->numel(), 1);
  std::vector<float> s(1);
  f.read_f32(*f.find("scalar"), s);
  EXPECT_EQ(s[0], 42.0f);
  EXPECT_EQ(f.file_size(), raw.size());
}

TEST(Safetensors, WriterRejectsBadNames) {
  test::TempDir tmp;
  SafetensorsWriter w((tmp / "out.safetensors").string());
  const std::vector<float> one = {1.0f};
  w.add("x", {1}, one);
  expect_error([&] { w.add("x", {1}, one); }, {"two tensors named 'x'"});
  expect_error([&] { w.add("__metadata__", {1}, one); }, {"__metadata__"});
  expect_error([&] { w.add("", {1}, one); }, {"empty"});
}

// Writes `image` and expects opening it to fail with a message naming the file and `parts`.
void expect_open_error(const std::string& image, std::initializer_list<std::string_view> parts) {
  test::TempDir tmp;
  const auto path = (tmp / "bad.safetensors").string();
  test::write_file(path, image);
  const std::string msg = test::error_message([&] { SafetensorsFile f(path); });
  ASSERT_FALSE(msg.empty()) << "no error for " << quote_for_message(image);
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  for (auto p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "no '" << p << "' in: " << msg;
}

const std::string kGood =
    safetensors_image({{"w", "F32", {2, 2}, std::string(16, '\0')}, {"b", "F32", {2}, std::string(8, '\0')}});

TEST(Safetensors, RejectsShortAndTruncatedFiles) {
  expect_open_error("", {"too short"});
  expect_open_error("1234567", {"too short"});
  // A header length past the end of the file.
  expect_open_error(std::string("\xff\x00\x00\x00\x00\x00\x00\x00{}", 10), {"runs past the end"});
  // Larger than the 100 MB limit.
  expect_open_error(std::string("\x00\x00\x00\x00\x01\x00\x00\x00", 8) + "{}", {"limit"});
  // The whole good file cut in the middle of its data, and just after the header.
  expect_open_error(kGood.substr(0, kGood.size() - 5), {"'b'", "truncated"});
  expect_open_error(kGood.substr(0, kGood.size() - 24), {"'w'", "truncated"});
  // Cut inside the header: the length now claims more than the file holds.
  expect_open_error(kGood.substr(0, 20), {"runs past the end"});
}

TEST(Safetensors, RejectsBadJson) {
  expect_open_error(safetensors_image("{\"w\": ", ""), {"not valid JSON", "parse error at line 1, column 7"});
  expect_open_error(safetensors_image("[1, 2]", ""), {"must be a JSON object"});
  expect_open_error(safetensors_image("{\"w\": 5}", ""), {"'w'", "expected an object"});
  expect_open_error(safetensors_image("{\"a\":{},\"a\":{}}", ""), {"'a' twice"});
  expect_open_error(safetensors_image("{\"__metadata__\": {\"k\": 1}}", ""), {"__metadata__", "'k'", "string"});
  expect_open_error(safetensors_image("{\"__metadata__\": []}", ""), {"__metadata__"});
  expect_open_error(safetensors_image("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", std::string(4, '\0')),
                    {"'w'", "data_offsets"});
  expect_open_error(safetensors_image("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", std::string(4, '\0')),
                    {"'w'", "dtype"});
  expect_open_error(safetensors_image("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", std::string(4, '\0')),
                    {"'w'", "shape"});
  expect_open_error(safetensors_image("{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", "xxxx"),
                    {"'w'", "unknown dtype 'Q4'"});
  expect_open_error(safetensors_image("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", "xxxx"),
                    {"'w'", "dtype"});
}

TEST(Safetensors, RejectsBadShapesAndOffsets) {
  const auto entry = [](std::string_view shape, std::string_view offsets, std::string_view dtype = "F32") {
    return cat("{\"w\":{\"dtype\":\"", dtype, "\",\"shape\":", shape, ",\"data_offsets\":", offsets, "}}");
  };
  const std::string data(16, '\0');
  expect_open_error(safetensors_image(entry("[-1]", "[0,4]"), data), {"'w'", "shape", "non-negative"});
  expect_open_error(safetensors_image(entry("[1.0]", "[0,4]"), data), {"'w'", "shape", "non-negative"});
  expect_open_error(safetensors_image(entry("3", "[0,4]"), data), {"'w'", "'shape' must be an array"});
  expect_open_error(safetensors_image(entry("[1]", "[4,0]"), data), {"'w'", "end before they begin"});
  expect_open_error(safetensors_image(entry("[1]", "[0]"), data), {"'w'", "[begin, end]"});
  expect_open_error(safetensors_image(entry("[1]", "[0,-4]"), data), {"'w'", "non-negative"});
  expect_open_error(safetensors_image(entry("[1]", "[12,20]"), data), {"'w'", "past the end of the data"});
  expect_open_error(safetensors_image(entry("[2]", "[0,4]"), data), {"'w'", "holds 4 bytes", "need 8"});
  expect_open_error(safetensors_image(entry("[4294967296,4294967296]", "[0,4]"), data), {"'w'", "too many elements"});
  expect_open_error(safetensors_image(entry("[9223372036854775807,2]", "[0,4]"), data), {"'w'", "too many elements"});
  expect_open_error(safetensors_image(entry("[18446744073709551615]", "[0,4]"), data), {"'w'", "too many elements"});
  expect_open_error(safetensors_image(entry("[1]", "[18446744073709551612,18446744073709551616]"), data), {"'w'"});
  // A zero dimension makes the other sizes harmless.
  test::TempDir tmp;
  test::write_file(tmp / "z.safetensors", safetensors_image(entry("[0,18446744073709551615]", "[0,0]"), data));
  EXPECT_EQ(SafetensorsFile((tmp / "z.safetensors").string()).find("w")->numel(), 0);
}

TEST(Safetensors, RejectsOverlaps) {
  const std::string header =
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
  expect_open_error(safetensors_image(header, std::string(12, '\0')), {"'a'", "'b'", "overlap"});
  const std::string same =
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
  expect_open_error(safetensors_image(same, std::string(4, '\0')), {"overlap"});
}

TEST(Safetensors, OpenErrorsNameTheFile) {
  expect_error([] { SafetensorsFile f("/nonexistent/model.safetensors"); }, {"/nonexistent/model.safetensors", "open"});
  test::TempDir tmp;
  expect_error([&] { SafetensorsFile f(tmp.path().string()); }, {tmp.path().string(), "not a regular file"});
}

TEST(Safetensors, HeaderParserAloneChecksAgainstTheDataSize) {
  std::map<std::string, std::string> meta;
  const auto t = parse_safetensors_header(
      "{\"__metadata__\":{\"a\":\"b\"},\"y\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[4,7]},"
      "\"x\":{\"dtype\":\"BOOL\",\"shape\":[4],\"data_offsets\":[0,4]}}",
      7, "mem", &meta);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].name, "x");  // sorted by offset
  EXPECT_EQ(t[1].dtype, StDType::kU8);
  EXPECT_EQ(meta.at("a"), "b");
  expect_error(
      [] {
        (void)parse_safetensors_header("{\"y\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[4,7]}}", 6,
                                       "mem.safetensors", nullptr);
      },
      {"mem.safetensors", "'y'", "truncated"});
}

}  // namespace
}  // namespace strand::model
