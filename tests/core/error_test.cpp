// strand::Error helpers: fail() builds the message; with_context() puts the record (or file)
// being worked on in front of an error raised where it was not known, and passes results and
// other exceptions through unchanged.
#include "core/error.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace strand {
namespace {

TEST(Error, FailConcatenatesItsArguments) {
  try {
    fail("cannot allocate ", 1024, " bytes (", 0.5, " free)");
    FAIL() << "fail() returned";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cannot allocate 1024 bytes (0.5 free)");
  }
}

TEST(Error, WithContextPrefixesErrorsAndPassesTheRestThrough) {
  EXPECT_EQ(with_context("record 'chr1' (10 bases)", [] { return 42; }), 42);
  int calls = 0;
  with_context("unused", [&] { ++calls; });
  EXPECT_EQ(calls, 1);
  try {
    with_context("record 'chr1' (10 bases)", []() -> int { fail("cuda:0: cannot allocate 80 bytes of device memory"); });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "record 'chr1' (10 bases): cuda:0: cannot allocate 80 bytes of device memory");
  }
  // Nested contexts read from the outside in.
  try {
    with_context("file.fa", [] { with_context("record 'x' (3 bases)", [] { fail("bad base"); }); });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "file.fa: record 'x' (3 bases): bad base");
  }
  // Not a strand::Error (a programming fault, bad_alloc, ...): through as it was.
  EXPECT_THROW(with_context("ctx", [] { throw std::logic_error("bug"); }), std::logic_error);
}

}  // namespace
}  // namespace strand
