#include "genomics/bed_writer.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

using test::error_message;

TEST(BedWriter, ColumnsFollowWhatIsSet) {
  test::TempDir dir;
  const auto path = dir / "out.bed";
  {
    AtomicOutput out(path.string());
    BedWriter bed(out, "track name=test");
    bed.write({"q", 0, 10, "", std::nullopt, '.'});
    bed.write({"q", 10, 20, "gene1", std::nullopt, '.'});
    bed.write({"q", 20, 30, "gene2", 0.5, '.'});
    bed.write({"q", 30, 40, "gene3", 7.0, '-'});
    bed.write({"q", 40, 50, "", std::nullopt, '+'});
    bed.close();
    out.commit();
  }
  EXPECT_EQ(test::read_file(path),
            "track name=test\n"
            "q\t0\t10\n"
            "q\t10\t20\tgene1\n"
            "q\t20\t30\tgene2\t0.5\n"
            "q\t30\t40\tgene3\t7\t-\n"
            "q\t40\t50\t.\t0\t+\n");
  EXPECT_EQ(dir.list(), std::vector<std::string>{"out.bed"});
}

TEST(BedWriter, BadRecords) {
  test::TempDir dir;
  AtomicOutput out((dir / "bad.bed").string());
  BedWriter bed(out);
  std::string msg = error_message([&] { bed.write({"q", 10, 5, "", std::nullopt, '.'}); });
  EXPECT_NE(msg.find("bad.bed': invalid interval q:10-5"), std::string::npos) << msg;
  msg = error_message([&] { bed.write({"q a\tb", 0, 5, "", std::nullopt, '.'}); });
  EXPECT_NE(msg.find("has a tab or newline"), std::string::npos) << msg;
  msg = error_message([&] { bed.write({"q", 0, 5, "", std::nullopt, 'x'}); });
  EXPECT_NE(msg.find("bad.bed': invalid strand 'x'"), std::string::npos) << msg;
}

TEST(BedGraphWriter, MergesRunsAndSkipsNaN) {
  test::TempDir dir;
  const auto path = dir / "out.bedGraph";
  {
    AtomicOutput out(path.string());
    BedGraphWriter bg(out);
    const std::vector<float> a = {1.0f, 1.0f, 1.0f, 0.1f, 0.1f, kNaN, kNaN, 0.1f, -2.5f, -2.5f};
    bg.write_values("chrA", 100, a);
    // Continues the -2.5 run exactly: merges across calls.
    const std::vector<float> b = {-2.5f, 1e-7f, 3.4028235e38f};
    bg.write_values("chrA", 110, b);
    // A gap of one base, same value: a new line.
    const std::vector<float> c = {3.4028235e38f, 0.0f, -0.0f};
    bg.write_values("chrA", 114, c);
    const std::vector<float> d = {kNaN, 0.3333333432674408f};
    bg.write_values("chrB", 0, d);
    bg.close();
    out.commit();
  }
  EXPECT_EQ(test::read_file(path),
            "chrA\t100\t103\t1\n"
            "chrA\t103\t105\t0.1\n"
            "chrA\t107\t108\t0.1\n"
            "chrA\t108\t111\t-2.5\n"
            "chrA\t111\t112\t1e-07\n"
            "chrA\t112\t113\t3.4028235e+38\n"
            "chrA\t114\t115\t3.4028235e+38\n"
            "chrA\t115\t117\t0\n"  // -0 == 0 as floats: one run
            "chrB\t1\t2\t0.33333334\n");
}

TEST(BedGraphWriter, GzipOutput) {
  test::TempDir dir;
  const auto path = dir / "out.bedGraph.gz";
  {
    AtomicOutput out(path.string());
    BedGraphWriter bg(out, "track type=bedGraph");
    std::vector<float> v(100000);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i / 10);  // runs of 10
    bg.write_values("q", 0, v);
    bg.close();
    out.commit();
  }
  const std::string raw = test::read_file(path);
  ASSERT_GE(raw.size(), 28u);
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(raw[1]), 0x8b);
  EXPECT_EQ(raw.substr(raw.size() - 28, 4), std::string("\x1f\x8b\x08\x04", 4));  // BGZF EOF block
  const std::string text = test::read_maybe_gzip(path);
  std::string expected = "track type=bedGraph\n";
  for (int i = 0; i < 10000; ++i)
    expected += "q\t" + std::to_string(i * 10) + "\t" + std::to_string(i * 10 + 10) + "\t" + std::to_string(i) + "\n";
  EXPECT_EQ(text, expected);
}

TEST(BedGraphWriter, OrderErrorsAndNoCommit) {
  test::TempDir dir;
  {
    AtomicOutput out((dir / "o.bedGraph").string());
    BedGraphWriter bg(out);
    const std::vector<float> v = {1, 2, 3};
    bg.write_values("chrA", 10, v);
    std::string msg = error_message([&] { bg.write_values("chrA", 12, v); });
    EXPECT_NE(msg.find("o.bedGraph': values at chrA:13 overlap or precede values already written (up to 13)"),
              std::string::npos)
        << msg;
    bg.write_values("chrB", 0, v);
    msg = error_message([&] { bg.write_values("chrA", 100, v); });
    EXPECT_NE(msg.find("values for contig 'chrA' come again after those of other contigs"), std::string::npos) << msg;
    // No commit (as after an exception): nothing is left.
  }
  EXPECT_TRUE(dir.list().empty());
}

}  // namespace
}  // namespace strand::genomics
