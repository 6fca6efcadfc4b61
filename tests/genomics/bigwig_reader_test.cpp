// BigWigReader against files BigWigWriter wrote: values of sub-intervals (across runs, gaps and
// libBigWig's blocks), contig lengths, and the errors for unknown contigs, intervals past the
// end, files that are not bigWigs and files that do not exist.
#include "genomics/bigwig_reader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/output_file.h"
#include "genomics/bigwig_writer.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

bool same(float a, float b) {
  return std::isnan(a) ? std::isnan(b) : a == b;
}

TEST(BigWigReader, ReadsBackWhatTheWriterWrote) {
  test::TempDir dir;
  const auto path = (dir / "t.bw").string();
  // 20,000 distinct-ish values (several libBigWig blocks), runs, and a gap every 997 bases.
  std::vector<float> v(20000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = i % 997 == 5 ? kNaN : static_cast<float>((i / 3) % 11) * 0.125f;
  {
    AtomicOutput out(path);
    BigWigWriter bw(out, {{"chrA", 25000}, {"chrB", 50}});
    bw.write_values("chrA", 100, v);
    bw.close();
    out.commit();
  }
  BigWigReader reader(path);
  EXPECT_EQ(reader.contig_length("chrA"), 25000);
  EXPECT_EQ(reader.contig_length("chrB"), 50);
  EXPECT_FALSE(reader.contig_length("chrZ").has_value());
  // The whole contig: NaN before 100, after 20,100 and in the gaps.
  const std::vector<float> all = reader.values("chrA", 0, 25000);
  ASSERT_EQ(all.size(), 25000u);
  size_t bad = 0;
  for (size_t p = 0; p < all.size(); ++p) {
    const float want = p < 100 || p >= 20100 ? kNaN : v[p - 100];
    bad += !same(all[p], want);
  }
  EXPECT_EQ(bad, 0u);
  // An interval starting and ending inside runs.
  const std::vector<float> part = reader.values("chrA", 12345, 12360);
  ASSERT_EQ(part.size(), 15u);
  for (size_t i = 0; i < part.size(); ++i) EXPECT_TRUE(same(part[i], v[12245 + i])) << i;
  EXPECT_TRUE(reader.values("chrA", 7, 7).empty());
  // A contig with nothing written: all NaN.
  for (float x : reader.values("chrB", 0, 50)) EXPECT_TRUE(std::isnan(x));

  test::expect_error([&] { reader.values("chrZ", 0, 1); }, {"t.bw", "no contig 'chrZ'"});
  test::expect_error([&] { reader.values("chrB", 40, 51); }, {"t.bw", "bases 41-51", "outside contig 'chrB' (50 bp)"});
}

TEST(BigWigReader, NotABigWigOrMissingIsAnError) {
  test::TempDir dir;
  test::write_file(dir / "text.bw", "track type=bedGraph\nchrA\t0\t10\t1\n");
  test::expect_error([&] { BigWigReader r((dir / "text.bw").string()); }, {"cannot read bigWig", "text.bw"});
  test::expect_error([&] { BigWigReader r((dir / "absent.bw").string()); }, {"cannot read bigWig", "absent.bw"});
}

}  // namespace
}  // namespace strand::genomics
