#include "genomics/fasta_index.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/text.h"
#include "genomics/fastx_reader.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

constexpr const char* kLambda = "gi|9626243|ref|NC_001416.1|";

using test::expect_error;

std::string fetch(IndexedFasta& fa, const std::string& contig, int64_t beg1, int64_t end1) {
  std::string out = "stale";
  fa.fetch(Region{contig, beg1 - 1, end1}, out);
  return out;
}

std::string whole_record(const std::string& path, size_t index) {
  FastxReader reader(path);
  SeqRecord rec;
  for (size_t i = 0; i <= index; ++i) EXPECT_TRUE(reader.next(rec));
  return rec.seq;
}

// Expected bases: `samtools faidx lambda.fa '<name>:B-E'`.
TEST(IndexedFasta, LambdaPlainAndBgzipMatchSamtools) {
  for (const char* name : {"fasta/lambda.fa", "fasta/lambda.fa.gz"}) {
    SCOPED_TRACE(name);
    IndexedFasta fa(test::fixture(name).string());
    ASSERT_EQ(fa.contigs().size(), 1u);
    EXPECT_EQ(fa.contigs()[0], (ContigInfo{kLambda, 48502}));
    EXPECT_EQ(fa.contig_length(kLambda), 48502);
    EXPECT_FALSE(fa.contig_length("chr1").has_value());
    EXPECT_EQ(fetch(fa, kLambda, 1, 70), "GGGCGGCGACCTCGCGGGTTTTCGCTATTTATGAAAATTTTCCGGTTTAAGGCGTTTCCGTTCTTCTTCG");
    EXPECT_EQ(fetch(fa, kLambda, 55, 130),
              "TTTCCGTTCTTCTTCGTCATAACTTAATGTTTTTATTTAAAATACCCTCTGAAAAGAAAGGAAACGACAGGTGCTG");
    EXPECT_EQ(fetch(fa, kLambda, 48441, 48502), "TGATATGTAGATGATAATCATTATCACTTTACGGGTCCTTTCCGGTGATCCGACAGGTTACG");
    EXPECT_EQ(fetch(fa, kLambda, 30001, 30010), "TCCAGGTCAC");
    EXPECT_EQ(fetch(fa, kLambda, 60, 61), "GT");  // the two bases either side of a line end
    // An end past the contig is clamped, as samtools does.
    EXPECT_EQ(fetch(fa, kLambda, 48500, 49000), "ACG");
    // The whole contig equals the streamed record (a different code path).
    std::string all;
    fa.fetch(Region{kLambda}, all);
    EXPECT_EQ(all, whole_record(test::fixture("fasta/lambda.fa").string(), 0));

    const SeqRecord r = fa.fetch_record(Region{kLambda, 54, 130});
    EXPECT_EQ(r.name, std::string(kLambda) + ":55-130");
    EXPECT_EQ(r.contig, kLambda);
    EXPECT_EQ(r.beg0, 54);
    EXPECT_EQ(r.seq.size(), 76u);
    const SeqRecord whole = fa.fetch_record(Region{kLambda});
    EXPECT_EQ(whole.name, kLambda);
    EXPECT_EQ(whole.seq, all);
  }
}

TEST(IndexedFasta, MultiRecordCaseNAndIupac) {
  IndexedFasta fa(test::fixture("fasta/klebs_plasmids.fa").string());
  const std::vector<ContigInfo> expected{{"CP003226.1", 3751}, {"CP003227.1", 3353}, {"CP003228.1", 1308}};
  EXPECT_EQ(fa.contigs(), expected);
  // samtools faidx klebs_plasmids.fa ...
  EXPECT_EQ(fetch(fa, "CP003226.1", 95, 105), "TCATGAccgag");
  EXPECT_EQ(fetch(fa, "CP003226.1", 398, 403), "tttCCG");
  EXPECT_EQ(fetch(fa, "CP003226.1", 1, 10), "TTTTTGAGCA");
  EXPECT_EQ(fetch(fa, "CP003228.1", 498, 502), "CGRGG");
  EXPECT_EQ(fetch(fa, "CP003228.1", 1299, 1308), "ACAAAAAAAT");
  EXPECT_EQ(fetch(fa, "CP003227.1", 995, 1005), "AATCAGNNNNN");
  for (size_t i = 0; i < 3; ++i) {
    std::string seq;
    fa.fetch(Region{expected[i].name}, seq);
    EXPECT_EQ(seq, whole_record(test::fixture("fasta/klebs_plasmids.fa").string(), i));
  }
}

TEST(IndexedFasta, MultiBlockBgzipReferenceAndConcurrentFetches) {
  // 217 kb over several BGZF blocks: every 1 kb window equals the streamed record.
  const std::string path = test::fixture("reads/klebs_pKPHS2_3.ref.fa.gz").string();
  IndexedFasta fa(path);
  ASSERT_EQ(fa.contigs().size(), 2u);
  EXPECT_EQ(fa.contigs()[0], (ContigInfo{"NC_016846.1", 111195}));
  EXPECT_EQ(fa.contigs()[1], (ContigInfo{"NC_016839.1", 105974}));
  const std::string rec1 = whole_record(path, 1);
  ASSERT_EQ(rec1.size(), 105974u);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string out;
      for (int64_t beg0 = t * 997; beg0 < 105974; beg0 += 4 * 997) {
        const int64_t end0 = std::min<int64_t>(beg0 + 1000, 105974);
        fa.fetch(Region{"NC_016839.1", beg0, end0}, out);
        if (out != rec1.substr(beg0, end0 - beg0)) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(IndexedFasta, BadInputsNameTheFileAndTheProblem) {
  test::TempDir dir;
  const auto copy = [&](const char* fixture, const std::string& name) {
    test::write_file(dir / name, test::read_file(test::fixture(fixture)));
    return (dir / name).string();
  };
  const auto open = [](const std::string& p) { return [p] { IndexedFasta fa(p); }; };

  // Gzip (not bgzip): refused with the fix; missing .fai / .gzi: the fix too.
  const std::string gz = test::fixture("fasta/lambda.gzip.fa.gz").string();
  expect_error(open(gz), {gz, "gzip", "bgzip"});
  const std::string nofai = copy("fasta/lambda.fa", "nofai.fa");
  expect_error(open(nofai), {nofai, "no .fai index", "samtools faidx"});
  const std::string nogzi = copy("fasta/lambda.fa.gz", "nogzi.fa.gz");
  copy("fasta/lambda.fa.gz.fai", "nogzi.fa.gz.fai");
  expect_error(open(nogzi), {nogzi, "no .gzi index", "samtools faidx"});
  expect_error(open((dir / "missing.fa").string()), {"missing.fa", "No such file"});
  expect_error(open(dir.path().string()), {dir.path().string(), "is a directory"});

  // Bad .fai lines: each names the .fai and its line.
  const std::string fa = copy("fasta/klebs_plasmids.fa", "k.fa");
  const std::string good = test::read_file(test::fixture("fasta/klebs_plasmids.fa.fai"));
  const struct {
    const char* line2;
    const char* why;
  } cases[] = {
      {"CP003227.1\t3353\t3986\t80", "4 tab-separated columns"},
      {"CP003227.1\t3353\t3986\t80\t81\t9", "FASTQ index"},
      {"CP003227.1\tlots\t3986\t80\t81", "LENGTH"},
      {"CP003227.1\t-5\t3986\t80\t81", "out of range"},
      {"CP003227.1\t3353\t3986\t0\t81", "LINEBASES"},
      {"CP003227.1\t3353\t3986\t80\t79", "LINEWIDTH 79"},
      {"\t3353\t3986\t80\t81", "empty sequence name"},
      {"CP003226.1\t3353\t3986\t80\t81", "duplicate sequence name"},
      {"CP003227.1\t99999\t3986\t80\t81", "does not match the file"},
      {"", "1 tab-separated columns"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.why);
    const auto lines = split(good, '\n');
    test::write_file(dir / "k.fa.fai", cat(lines[0], "\n", c.line2, "\n", lines[2], "\n"));
    expect_error(open(fa), {"k.fa.fai", "line 2", c.why});
  }
  test::write_file(dir / "k.fa.fai", "");
  expect_error(open(fa), {"k.fa.fai", "no sequences"});

  // Unknown contig, regions outside a contig.
  IndexedFasta ok(test::fixture("fasta/klebs_plasmids.fa").string());
  std::string out;
  expect_error([&] { ok.fetch(Region{"chr1", 0, 10}, out); }, {"klebs_plasmids.fa", "'chr1'", "not in"});
  expect_error(
      [&] {
        ok.fetch(Region{"CP003228.1", 1308, 1400}, out);
      },
      {"klebs_plasmids.fa", "outside contig CP003228.1", "1308"});
  expect_error([&] { ok.fetch_record(Region{"CP003228.1", 5000, kRegionToEnd}); }, {"klebs_plasmids.fa", "outside"});

  // An index that does not match the file: bases where a line end should be.
  const std::string shifted = copy("fasta/lambda.fa", "shifted.fa");
  test::write_file(dir / "shifted.fa.fai", cat(kLambda, "\t1000\t74\t59\t60\n"));
  IndexedFasta bad(shifted);
  expect_error(
      [&] {
        bad.fetch(Region{kLambda, 0, 200}, out);
      },
      {"shifted.fa", "index does not match the file", "samtools faidx"});
  // ... and a line end where bases should be.
  test::write_file(dir / "shifted.fa.fai", cat(kLambda, "\t48502\t74\t61\t62\n"));
  IndexedFasta bad2(shifted);
  expect_error([&] { bad2.fetch(Region{kLambda, 0, 200}, out); }, {"shifted.fa", "index does not match the file"});
}

TEST(IndexedFasta, Chr20RegionsMatchSamtools) {
  STRAND_SHARED_DATA_OR_SKIP(path, "human/chr20_grch37/chr20.fa.gz");
  IndexedFasta fa(path.string());
  ASSERT_EQ(fa.contigs().size(), 1u);
  EXPECT_EQ(fa.contigs()[0], (ContigInfo{"20", 63025520}));
  // samtools faidx chr20.fa.gz ...
  EXPECT_EQ(fetch(fa, "20", 1000000, 1000040), "GTGGGAGAGAACTGGAACAAGAACCCAGTGCTCTTTCTGCT");
  EXPECT_EQ(fetch(fa, "20", 30000001, 30000060), "AAATAAGGCTTGGAAATTTTCTGGAGTTCTATTATATTCCAACTCTCTGGTTCCTGGTGC");
  EXPECT_EQ(fetch(fa, "20", 59990, 60010), "NNNNNNNNNNNGATCCAGAGG");
  EXPECT_EQ(fetch(fa, "20", 63025481, 63025520), std::string(40, 'N'));
  // 100 kb: composition from samtools faidx 20:10000001-10100000 | fold -w1 | sort | uniq -c.
  const std::string big = fetch(fa, "20", 10000001, 10100000);
  std::map<char, int64_t> counts;
  for (char c : big) ++counts[c];
  const std::map<char, int64_t> expected{{'A', 31169}, {'C', 19325}, {'G', 19516}, {'T', 29990}};
  EXPECT_EQ(counts, expected);
}

}  // namespace
}  // namespace strand::genomics
