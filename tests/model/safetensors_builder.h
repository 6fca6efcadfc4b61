// Test helper (header-only): writes safetensors files byte by byte, with any dtype and any
// header (including broken ones), independently of SafetensorsWriter.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace strand::test {

// `header` is the JSON text, written as given (no padding); `data` the data section.
inline std::string safetensors_image(std::string_view header, std::string_view data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  out.append(header);
  out.append(data);
  return out;
}

template <typename T>
std::string le_bytes(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());  // the hosts are little-endian
  return out;
}

struct RawTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

// A well-formed file of `tensors` laid out in order, optionally with `metadata_json` (an object).
inline std::string safetensors_image(const std::vector<RawTensor>& tensors, std::string_view metadata_json = {}) {
  std::string header = "{";
  if (!metadata_json.empty()) header += cat("\"__metadata__\":", metadata_json);
  std::string data;
  for (const auto& t : tensors) {
    if (header.size() > 1) header += ",";
    header += cat("\"", t.name, "\":{\"dtype\":\"", t.dtype, "\",\"shape\":[");
    for (size_t i = 0; i < t.shape.size(); ++i) header += cat(i ? "," : "", t.shape[i]);
    header += cat("],\"data_offsets\":[", data.size(), ",", data.size() + t.bytes.size(), "]}");
    data += t.bytes;
  }
  header += "}";
  return safetensors_image(header, data);
}

}  // namespace strand::test
