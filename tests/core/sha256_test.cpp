// SHA-256 against the FIPS 180-4 / NIST CAVP example vectors, incremental updates split at
// every block boundary, and sha256_file (streamed in 1 MB chunks) on files around the chunk size.
#include "core/sha256.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/test_support.h"

namespace strand {
namespace {

std::string hex_of(std::string_view text) {
  Sha256 sha;
  sha.update(text.data(), text.size());
  return sha.finish_hex();
}

TEST(Sha256, NistVectors) {
  EXPECT_EQ(hex_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // The two-block message of FIPS 180-4's examples (448 bits: padding spills into a 2nd block).
  EXPECT_EQ(hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // The 896-bit vector.
  EXPECT_EQ(
      hex_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrs"
             "tnopqrstu"),
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(hex_of(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundaries) {
  // Lengths 55, 56 and 64 straddle the length field; the values are from coreutils sha256sum.
  EXPECT_EQ(hex_of(std::string(55, 'a')), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(hex_of(std::string(56, 'a')), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(hex_of(std::string(64, 'a')), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(Sha256, IncrementalUpdatesMatchOneShot) {
  std::string text;
  for (int i = 0; i < 300; ++i) text.push_back(static_cast<char>('A' + (i * 7) % 50));
  const std::string whole = hex_of(text);
  for (size_t step : {1, 3, 63, 64, 65, 127}) {
    Sha256 sha;
    for (size_t i = 0; i < text.size(); i += step) sha.update(text.data() + i, std::min(step, text.size() - i));
    EXPECT_EQ(sha.finish_hex(), whole) << "step " << step;
  }
}

TEST(Sha256, FileIsHashedInChunks) {
  test::TempDir tmp;
  // One byte either side of the 1 MB read chunk, and exactly one chunk.
  for (size_t n : {size_t{0}, size_t{1} << 20, (size_t{1} << 20) - 1, (size_t{1} << 20) + 1}) {
    const std::string content(n, 'a');
    test::write_file(tmp / "f.bin", content);
    EXPECT_EQ(sha256_file((tmp / "f.bin").string()), hex_of(content)) << n;
  }
  test::write_file(tmp / "m.bin", std::string(1000000, 'a'));
  EXPECT_EQ(sha256_file((tmp / "m.bin").string()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, MissingFileNamesIt) {
  test::expect_error([] { sha256_file("/nonexistent/model.safetensors"); },
                     {"/nonexistent/model.safetensors", "SHA-256"});
}

}  // namespace
}  // namespace strand
