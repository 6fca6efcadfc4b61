#include "genomics/bigwig_writer.h"

#include <bigWig.h>
#include <gtest/gtest.h>
#include <oneapi/tbb/parallel_for.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <functional>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
using Interval = std::tuple<uint32_t, uint32_t, float>;

using test::error_message;

// Reads intervals back with libBigWig itself.
std::vector<Interval> intervals(bigWigFile_t* bw, const char* contig, uint32_t end) {
  std::vector<Interval> out;
  bwOverlappingIntervals_t* o = bwGetOverlappingIntervals(bw, contig, 0, end);
  if (o == nullptr) return out;
  for (uint32_t i = 0; i < o->l; ++i) out.emplace_back(o->start[i], o->end[i], o->value[i]);
  bwDestroyOverlappingIntervals(o);
  return out;
}

const std::vector<ContigInfo> kContigs = {{"chrA", 1000}, {"chrB", 30000}, {"chrC", 200}};

TEST(BigWigWriter, RunsGapsAndContigsReadBackExactly) {
  test::TempDir dir;
  const auto path = (dir / "out.bw").string();
  // chrB: 30000 bases of distinct values (> the writer's batch of 4096 and libBigWig's block).
  std::vector<float> b(30000);
  for (size_t i = 0; i < b.size(); ++i) b[i] = (i % 1000 == 999) ? kNaN : static_cast<float>(i % 7) * 0.5f;
  {
    AtomicOutput out(path);
    BigWigWriter bw(out, kContigs);
    const std::vector<float> a1 = {1.5f, 1.5f, 1.5f, kNaN, 2.0f, 2.0f};
    bw.write_values("chrA", 10, a1);
    const std::vector<float> a2 = {2.0f, -1.0f};  // continues the 2.0 run at 16
    bw.write_values("chrA", 16, a2);
    const std::vector<float> a3 = {-1.0f};  // after a gap: a new interval
    bw.write_values("chrA", 999, a3);
    bw.write_values("chrB", 0, b);
    // chrC gets nothing.
    bw.close();
    out.commit();
  }
  EXPECT_EQ(dir.list(), std::vector<std::string>{"out.bw"});
  ASSERT_EQ(bwIsBigWig(path.c_str(), nullptr), 1);
  bigWigFile_t* r = bwOpen(path.c_str(), nullptr, "r");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->cl->nKeys, 3);
  EXPECT_STREQ(r->cl->chrom[1], "chrB");
  EXPECT_EQ(r->cl->len[1], 30000u);
  EXPECT_EQ(intervals(r, "chrA", 1000),
            (std::vector<Interval>{{10, 13, 1.5f}, {14, 17, 2.0f}, {17, 18, -1.0f}, {999, 1000, -1.0f}}));
  EXPECT_TRUE(intervals(r, "chrC", 200).empty());
  // Every base of chrB, NaN where nothing was written.
  bwOverlappingIntervals_t* v = bwGetValues(r, "chrB", 0, 30000, 1);
  ASSERT_NE(v, nullptr);
  ASSERT_EQ(v->l, 30000u);
  size_t mismatches = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    const bool same = std::isnan(b[i]) ? std::isnan(v->value[i]) : v->value[i] == b[i];
    mismatches += !same;
  }
  EXPECT_EQ(mismatches, 0u);
  bwDestroyOverlappingIntervals(v);
  // Runs merged: distinct neighbours stay separate, so chrB has 30000 - 30 intervals.
  EXPECT_EQ(intervals(r, "chrB", 30000).size(), 29970u);
  bwClose(r);
}

// `strand annotate --tracks` writes one file per class side by side: writers on several threads
// must give the bytes one thread gives (libBigWig keeps no shared state between files).
TEST(BigWigWriter, WritersOnSeveralThreadsGiveTheFilesOneThreadGives) {
  test::TempDir dir;
  constexpr size_t kFiles = 8;
  const auto write = [&](const std::string& prefix, size_t f) {
    std::vector<float> b(30000);
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>((i * (f + 3)) % 11) * 0.25f;
    AtomicOutput out((dir / (prefix + std::to_string(f) + ".bw")).string());
    BigWigWriter bw(out, kContigs);
    bw.write_values("chrA", 0, std::vector<float>(1000, static_cast<float>(f)));
    bw.write_values("chrB", 0, b);
    bw.close();
    out.commit();
  };
  for (size_t f = 0; f < kFiles; ++f) write("serial", f);
  tbb::parallel_for(size_t{0}, kFiles, [&](size_t f) { write("parallel", f); });
  const auto bytes = [&](const std::string& name) {
    std::ifstream in(dir / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  for (size_t f = 0; f < kFiles; ++f) {
    const std::string serial = bytes("serial" + std::to_string(f) + ".bw");
    EXPECT_GT(serial.size(), 1000u);
    EXPECT_EQ(bytes("parallel" + std::to_string(f) + ".bw"), serial) << "file " << f;
  }
}

TEST(BigWigWriter, OrderAndContigErrors) {
  test::TempDir dir;
  {
    AtomicOutput out((dir / "o.bw").string());
    BigWigWriter bw(out, kContigs);
    const std::vector<float> v = {1, 2, 3};
    bw.write_values("chrB", 100, v);
    std::string msg = error_message([&] { bw.write_values("chrZ", 0, v); });
    EXPECT_NE(msg.find("o.bw': contig 'chrZ' is not among its declared contigs"), std::string::npos) << msg;
    msg = error_message([&] { bw.write_values("chrA", 0, v); });
    EXPECT_NE(msg.find("o.bw': values for contig 'chrA' come after contig 'chrB'"), std::string::npos) << msg;
    msg = error_message([&] { bw.write_values("chrB", 101, v); });
    EXPECT_NE(msg.find("values at chrB:102 overlap or precede values already written (up to 103)"), std::string::npos)
        << msg;
    msg = error_message([&] { bw.write_values("chrC", 198, v); });
    EXPECT_NE(msg.find("values at chrC:199-201 run past the end of the contig (length 200)"), std::string::npos) << msg;
    // Many blocks written, then abandoned without close: the destructor frees everything.
    std::vector<float> big(20000);
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i % 3);
    bw.write_values("chrC", 0, std::span<const float>(big).first(200));
  }
  EXPECT_TRUE(dir.list().empty());
}

TEST(BigWigWriter, AbandonedAfterBlocksLeavesNothing) {
  test::TempDir dir;
  {
    AtomicOutput out((dir / "o.bw").string());
    BigWigWriter bw(out, kContigs);
    std::vector<float> big(30000);
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i % 3);
    bw.write_values("chrB", 0, big);  // > 4096 runs: blocks reach libBigWig's index list
  }
  EXPECT_TRUE(dir.list().empty());
}

TEST(BigWigWriter, BadContigLists) {
  test::TempDir dir;
  AtomicOutput out((dir / "x.bw").string());
  std::string msg = error_message([&] { BigWigWriter bw(out, {}); });
  EXPECT_NE(msg.find("x.bw': no contigs"), std::string::npos) << msg;
  msg = error_message([&] { BigWigWriter bw(out, {{"chrA", 0}}); });
  EXPECT_NE(msg.find("contig 'chrA' has length 0"), std::string::npos) << msg;
  msg = error_message([&] { BigWigWriter bw(out, {{"chrA", 10}, {"chrA", 20}}); });
  EXPECT_NE(msg.find("contig 'chrA' listed twice"), std::string::npos) << msg;
  AtomicOutput std_out("-");
  msg = error_message([&] { BigWigWriter bw(std_out, kContigs); });
  EXPECT_NE(msg.find("bigWig output cannot go to standard output"), std::string::npos) << msg;
}

}  // namespace
}  // namespace strand::genomics
