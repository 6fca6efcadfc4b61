// SHA-256 (FIPS 180-4), for model checksums in `strand info` and output provenance.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace strand {

class Sha256 {
 public:
  Sha256();
  void update(std::span<const std::byte> data);
  void update(const void* data, size_t bytes) { update({static_cast<const std::byte*>(data), bytes}); }
  std::array<uint8_t, 32> finish();  // the object must not be updated afterwards
  std::string finish_hex();

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_bytes_ = 0;
};

// Hex SHA-256 of a whole file (read in large chunks). Throws strand::Error naming the file.
std::string sha256_file(const std::string& path);

}  // namespace strand
