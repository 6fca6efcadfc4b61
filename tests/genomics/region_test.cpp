#include "genomics/region.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

Region R(std::string c, int64_t b, int64_t e) { return Region{std::move(c), b, e}; }

TEST(ParseRegion, SamtoolsForms) {
  EXPECT_EQ(parse_region("chr1"), R("chr1", 0, kRegionToEnd));
  EXPECT_EQ(parse_region("chr1:100-200"), R("chr1", 99, 200));
  EXPECT_EQ(parse_region("chr1:100"), R("chr1", 99, kRegionToEnd));
  EXPECT_EQ(parse_region("chr1:100-"), R("chr1", 99, kRegionToEnd));
  EXPECT_EQ(parse_region("chr1:-200"), R("chr1", 0, 200));
  EXPECT_EQ(parse_region("chr1:-1"), R("chr1", 0, 1));
  EXPECT_EQ(parse_region("chr1:1,000-2,000"), R("chr1", 999, 2000));
  EXPECT_EQ(parse_region("chr1:5-5"), R("chr1", 4, 5));
  EXPECT_EQ(parse_region("  20:1-10 "), R("20", 0, 10));
}

TEST(ParseRegion, ContigNamesWithColons) {
  // Without braces the last ':' starts the interval (HTSlib does the same when the full name
  // is not a known contig): "...:01" is position 1 to the end.
  EXPECT_EQ(parse_region("HLA-A*01:01:01:01"), R("HLA-A*01:01:01", 0, kRegionToEnd));
  EXPECT_EQ(parse_region("{HLA-A*01:01}:5-10"), R("HLA-A*01:01", 4, 10));
  EXPECT_EQ(parse_region("{chrUn:x}"), R("chrUn:x", 0, kRegionToEnd));
}

TEST(ParseRegion, RoundTripsThroughToString) {
  for (const char* text : {"chr1", "chr1:100-200", "chr1:100", "X:1-1"}) EXPECT_EQ(parse_region(text).to_string(), text);
}

TEST(ParseRegion, ErrorsQuoteTheRegion) {
  for (const char* bad : {"", ":1-10", "chr1:", "chr1:0-10", "chr1:10-5", "chr1:a-b", "chr1:1-2-3", "{chr1:1-2",
                          "{}:1-2", "{x}1-2", "chr1:1--5"}) {
    try {
      parse_region(bad);
      FAIL() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("region"), std::string::npos) << e.what();
    }
  }
}

TEST(ParseRegionList, CommaSeparatedAsBcftools) {
  const auto regions = parse_region_list("20:1-100,21:5-9,chrX");
  ASSERT_EQ(regions.size(), 3u);
  EXPECT_EQ(regions[0], R("20", 0, 100));
  EXPECT_EQ(regions[1], R("21", 4, 9));
  EXPECT_EQ(regions[2], R("chrX", 0, kRegionToEnd));
  EXPECT_EQ(parse_region_list("{a,b}:1-2").at(0), R("a,b", 0, 2));
  EXPECT_THROW(parse_region_list("chr1,,chr2"), Error);
}

TEST(ParseBedRegion, ZeroBasedHalfOpen) {
  EXPECT_EQ(parse_bed_region("chr1\t0\t100\tname", "x"), R("chr1", 0, 100));
  EXPECT_EQ(parse_bed_region("chr1 5 6", "x"), R("chr1", 5, 6));
  EXPECT_THROW(parse_bed_region("chr1\t5", "x"), Error);
  EXPECT_THROW(parse_bed_region("chr1\t-1\t5", "x"), Error);
  EXPECT_THROW(parse_bed_region("chr1\t10\t5", "x"), Error);
  EXPECT_THROW(parse_bed_region("chr1\tx\t5", "x"), Error);
}

TEST(ReadRegionFile, BedAndOneBasedLists) {
  test::TempDir dir;
  test::write_file(dir / "r.bed", "track name=x\n# comment\nchr1\t0\t100\nchr2\t10\t20\tfoo\t0\t+\n\n");
  const auto bed = read_region_file((dir / "r.bed").string());
  ASSERT_EQ(bed.size(), 2u);
  EXPECT_EQ(bed[0], R("chr1", 0, 100));
  EXPECT_EQ(bed[1], R("chr2", 10, 20));
  test::write_file(dir / "r.txt", "chr1\t1\t100\nchr2\t11\n");
  const auto txt = read_region_file((dir / "r.txt").string());
  ASSERT_EQ(txt.size(), 2u);
  EXPECT_EQ(txt[0], R("chr1", 0, 100));
  EXPECT_EQ(txt[1], R("chr2", 10, 11));
}

TEST(ReadRegionFile, ErrorsNameFileAndLine) {
  test::TempDir dir;
  test::write_file(dir / "bad.bed", "chr1\t0\t100\nchr1\t50\n");
  try {
    read_region_file((dir / "bad.bed").string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.bed' line 2"), std::string::npos) << e.what();
  }
  test::write_file(dir / "zero.txt", "chr1\t0\t10\n");
  EXPECT_THROW(read_region_file((dir / "zero.txt").string()), Error);
  test::write_file(dir / "empty.bed", "");
  EXPECT_THROW(read_region_file((dir / "empty.bed").string()), Error);
  EXPECT_THROW(read_region_file((dir / "missing.bed").string()), Error);
}

TEST(ClampToContig, ResolvesAndRejects) {
  EXPECT_EQ(clamp_to_contig(R("c", 0, kRegionToEnd), 500), R("c", 0, 500));
  EXPECT_EQ(clamp_to_contig(R("c", 10, 1000), 500), R("c", 10, 500));
  try {
    clamp_to_contig(R("c", 600, 700), 500);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside contig c (length 500)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(clamp_to_contig(R("c", 500, kRegionToEnd), 500), Error);
}

}  // namespace
}  // namespace strand::genomics
