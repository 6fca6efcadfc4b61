#include "genomics/fastx_reader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>
#include <vector>

#include "core/error.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLambdaName = "gi|9626243|ref|NC_001416.1|";
constexpr int64_t kLambdaLength = 48502;  // samtools faidx lambda.fa -> .fai

std::vector<SeqRecord> read_all(const std::string& path) {
  FastxReader reader(path);
  std::vector<SeqRecord> out;
  SeqRecord rec;
  while (reader.next(rec)) out.push_back(rec);
  EXPECT_EQ(reader.records_read(), out.size());
  return out;
}

using test::expect_error;

std::map<char, int64_t> composition(const std::string& s) {
  std::map<char, int64_t> counts;
  for (char c : s) ++counts[c];
  return counts;
}

void check_lambda(const std::vector<SeqRecord>& recs) {
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].name, kLambdaName);
  EXPECT_EQ(recs[0].comment, "Enterobacteria phage lambda, complete genome");
  EXPECT_EQ(recs[0].contig, kLambdaName);
  EXPECT_EQ(recs[0].beg0, 0);
  EXPECT_TRUE(recs[0].qual.empty());
  ASSERT_EQ(static_cast<int64_t>(recs[0].seq.size()), kLambdaLength);
  // samtools faidx lambda.fa <name>:1-70 and :48441-48502
  EXPECT_EQ(recs[0].seq.substr(0, 70), "GGGCGGCGACCTCGCGGGTTTTCGCTATTTATGAAAATTTTCCGGTTTAAGGCGTTTCCGTTCTTCTTCG");
  EXPECT_EQ(recs[0].seq.substr(48440), "TGATATGTAGATGATAATCATTATCACTTTACGGGTCCTTTCCGGTGATCCGACAGGTTACG");
  // Base composition from `grep -v '>' lambda.fa | tr -d '\n' | fold -w1 | sort | uniq -c`.
  const std::map<char, int64_t> expected{{'A', 12334}, {'C', 11362}, {'G', 12820}, {'T', 11986}};
  EXPECT_EQ(composition(recs[0].seq), expected);
}

TEST(FastxReader, LambdaPlainBgzipAndGzipAgree) {
  for (const char* name : {"fasta/lambda.fa", "fasta/lambda.fa.gz", "fasta/lambda.gzip.fa.gz"}) {
    SCOPED_TRACE(name);
    FastxReader reader(test::fixture(name).string());
    EXPECT_EQ(reader.format(), FastxFormat::kFasta);
    check_lambda(read_all(test::fixture(name).string()));
  }
}

TEST(FastxReader, MultiRecordKeepsCaseNRunsAndIupac) {
  const auto recs = read_all(test::fixture("fasta/klebs_plasmids.fa").string());
  ASSERT_EQ(recs.size(), 3u);
  // Lengths from klebs_plasmids.fa.fai (samtools faidx).
  EXPECT_EQ(recs[0].name, "CP003226.1");
  EXPECT_EQ(recs[0].comment, "Klebsiella pneumoniae subsp. pneumoniae HS11286 plasmid pKPHS4, complete sequence");
  EXPECT_EQ(recs[0].seq.size(), 3751u);
  EXPECT_EQ(recs[1].name, "CP003227.1");
  EXPECT_EQ(recs[1].seq.size(), 3353u);
  EXPECT_EQ(recs[2].name, "CP003228.1");
  EXPECT_EQ(recs[2].seq.size(), 1308u);
  // samtools faidx regions (1-based): soft-masked 101-400, N run 1001-1100, R at 500.
  EXPECT_EQ(recs[0].seq.substr(94, 11), "TCATGAccgag");
  EXPECT_EQ(recs[0].seq.substr(397, 6), "tttCCG");
  EXPECT_EQ(recs[1].seq.substr(994, 11), "AATCAGNNNNN");
  EXPECT_EQ(recs[2].seq.substr(497, 5), "CGRGG");
  const std::map<char, int64_t> c0{{'A', 851}, {'C', 818}, {'G', 989}, {'T', 793},
                                   {'a', 51},  {'c', 72},  {'g', 78},  {'t', 99}};
  const std::map<char, int64_t> c1{{'A', 959}, {'C', 740}, {'G', 636}, {'N', 100}, {'T', 918}};
  const std::map<char, int64_t> c2{{'A', 370}, {'C', 307}, {'G', 319}, {'R', 1}, {'T', 311}};
  EXPECT_EQ(composition(recs[0].seq), c0);
  EXPECT_EQ(composition(recs[1].seq), c1);
  EXPECT_EQ(composition(recs[2].seq), c2);
}

TEST(FastxReader, UnequalLinesStreamLikeTheWellFormedFile) {
  // klebs_ragged.fa holds the last two records of klebs_plasmids.fa wrapped at 80/50/110/70.
  const auto ragged = read_all(test::fixture("fasta/klebs_ragged.fa").string());
  const auto plain = read_all(test::fixture("fasta/klebs_plasmids.fa").string());
  ASSERT_EQ(ragged.size(), 2u);
  ASSERT_EQ(plain.size(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(ragged[i].name, plain[i + 1].name);
    EXPECT_EQ(ragged[i].seq, plain[i + 1].seq);
  }
}

TEST(FastxReader, FastqGzipReads) {
  const auto recs = read_all(test::fixture("reads/ecoli_ul_short21.fastq.gz").string());
  // zcat | awk: 21 reads, 11,759 bases; first read 225 bp.
  ASSERT_EQ(recs.size(), 21u);
  size_t total = 0;
  for (const auto& r : recs) {
    EXPECT_EQ(r.seq.size(), r.qual.size()) << r.name;
    total += r.seq.size();
  }
  EXPECT_EQ(total, 11759u);
  EXPECT_EQ(recs[0].name, "b5b5833b-9341-4886-9ffd-7dd7f876c009");
  EXPECT_EQ(recs[0].comment,
            "runid=9ff0fede59c6669aa7f0d860aa73a4f0959d4b99 read=33 ch=5 start_time=2017-03-03T02:22:25Z");
  EXPECT_EQ(recs[0].seq.size(), 225u);
  EXPECT_EQ(recs[0].seq.substr(0, 30), "AGAAGGAGGAGGAGGAGGGAGGAGGAGGGA");
  EXPECT_EQ(recs[0].qual.substr(0, 30), "%#&$#-(.-(.*&-)%*(+&./'/.(0++$");
  EXPECT_EQ(recs[20].name, "7f8e3595-8dd0-4289-9f2a-8a114c091876");
  FastxReader reader(test::fixture("reads/ecoli_ul_short21.fastq.gz").string());
  EXPECT_EQ(reader.format(), FastxFormat::kFastq);
}

TEST(FastxReader, ToleratesCrlfBlankLinesAndWrappedFastq) {
  test::TempDir dir;
  test::write_file(dir / "crlf.fa", "\r\n>a first\r\nACGT\r\n\r\nacgn\r\n>b\r\n\r\n>c\r\nRYK*-\r\n");
  const auto fa = read_all((dir / "crlf.fa").string());
  ASSERT_EQ(fa.size(), 3u);
  EXPECT_EQ(fa[0].name, "a");
  EXPECT_EQ(fa[0].comment, "first");
  EXPECT_EQ(fa[0].seq, "ACGTacgn");
  EXPECT_EQ(fa[1].name, "b");
  EXPECT_EQ(fa[1].seq, "");  // a header without sequence is an empty record, as samtools faidx has it
  EXPECT_EQ(fa[2].seq, "RYK*-");

  test::write_file(dir / "wrapped.fq", "@r1 c\nACGT\nAC\n+r1 c\nIIII\n@I\n\n@r2\nGG\n+\n@@\n@r3\n\n+\n\n");
  const auto fq = read_all((dir / "wrapped.fq").string());
  ASSERT_EQ(fq.size(), 3u);
  EXPECT_EQ(fq[0].seq, "ACGTAC");
  EXPECT_EQ(fq[0].qual, "IIII@I");  // a quality line may start with '@'
  EXPECT_EQ(fq[1].seq, "GG");
  EXPECT_EQ(fq[1].qual, "@@");
  EXPECT_EQ(fq[2].name, "r3");
  EXPECT_TRUE(fq[2].seq.empty());
}

TEST(FastxReader, BadInputsNameTheFileAndTheProblem) {
  test::TempDir dir;
  const auto path = [&](const char* name) { return (dir / name).string(); };
  const auto write = [&](const char* name, std::string_view content) {
    test::write_file(dir / name, content);
    return path(name);
  };
  const auto read = [](const std::string& p) { return [p] { read_all(p); }; };

  expect_error(read(path("missing.fa")), {"missing.fa", "No such file"});
  expect_error(read(dir.path().string()), {dir.path().string(), "is a directory"});
  expect_error(read(write("empty.fa", "")), {"empty.fa", "empty"});
  expect_error(read(write("blank.fa", "\n\n  \n")), {"blank.fa", "empty"});
  expect_error(read(write("nohead.fa", "ACGTACGT\nACGT\n")), {"nohead.fa", "line 1", "no '>' header line"});
  expect_error(read(write("text.fa", "hello world\n")), {"text.fa", "not FASTA or FASTQ"});
  expect_error(read(write("noname.fa", ">\nACGT\n")), {"noname.fa", "line 1", "no name"});
  expect_error(read(write("noname2.fa", ">ok\nAC\n> desc\nACGT\n")), {"noname2.fa", "line 3", "no name"});
  expect_error(read(write("space.fa", ">a\nACGT\n>b\nAC GT\n")),
               {"space.fa", "line 4", "record 'b'", "invalid sequence character ' '", "column 3"});
  expect_error(read(write("digit.fa", ">a\nACGT1\n")), {"digit.fa", "line 2", "record 'a'", "'1'"});
  expect_error(read(write("short_qual.fq", "@r1\nACGT\n+\nIIII\n@r2\nACGTA\n+\nIIII\n@r3\nA\n+\nI\n")),
               {"short_qual.fq", "line 8", "read 'r2'", "quality length 4 != sequence length 5"});
  expect_error(read(write("long_qual.fq", "@r1\nACGT\n+\nIIIII\n")),
               {"long_qual.fq", "quality length 5 != sequence length 4"});
  expect_error(read(write("no_plus.fq", "@r1\nACGT\nIIII\n@r2\nACGT\n+\nIIII\n")),
               {"no_plus.fq", "read 'r1'", "missing '+' line"});
  expect_error(read(write("no_plus2.fq", "@r1\nACGT\n!!!!\n")), {"no_plus2.fq", "line 3", "read 'r1'", "'+'"});
  expect_error(read(write("trunc.fq", "@r1\nACGT\n+\nIIII\n@r2\nACGT\n")),
               {"trunc.fq", "read 'r2'", "truncated record", "'+'"});
  expect_error(read(write("trunc2.fq", "@r1\nACGT\n+\n")), {"trunc2.fq", "read 'r1'", "truncated record"});
  expect_error(read(write("badqual.fq", "@r1\nACGT\n+\nII I\n")),
               {"badqual.fq", "line 4", "invalid quality character"});
  expect_error(read(write("fq_noname.fq", "@\nACGT\n+\nIIII\n")), {"fq_noname.fq", "line 1", "no name"});

  // Compressed files cut in the middle: an error, never a silent end of file.
  const std::string bgz = test::read_file(test::fixture("fasta/lambda.fa.gz"));
  expect_error(read(write("cut.fa.gz", std::string_view(bgz).substr(0, bgz.size() / 2))), {"cut.fa.gz", "truncated"});
  const std::string gz = test::read_file(test::fixture("fasta/lambda.gzip.fa.gz"));
  expect_error(read(write("cut.gzip.fa.gz", std::string_view(gz).substr(0, gz.size() / 2))),
               {"cut.gzip.fa.gz", "corrupt/truncated compressed data"});
  // A bgzip file cut exactly at a block boundary (here: its end-of-file block removed).
  expect_error(read(write("noeof.fa.gz", std::string_view(bgz).substr(0, bgz.size() - 28))),
               {"noeof.fa.gz", "truncated", "end-of-file marker"});

  // Binary garbage, whatever its first byte: an error, not "0 records".
  std::mt19937 rng(20240611);
  for (int trial = 0; trial < 4; ++trial) {
    std::string junk(4096, '\0');
    for (char& c : junk) c = static_cast<char>(rng() & 0xff);
    if (trial == 1) junk[0] = '>';
    if (trial == 2) junk[0] = '@';
    if (trial == 3) junk = std::string(">x\nACGT\n") + junk;
    SCOPED_TRACE(trial);
    expect_error(read(write("junk.bin", junk)), {"junk.bin"});
  }
}

TEST(FastxReader, Chr20StreamsWholeAtFaiLength) {
  STRAND_SHARED_DATA_OR_SKIP(fa, "human/chr20_grch37/chr20.fa.gz");
  const auto t0 = std::chrono::steady_clock::now();
  FastxReader reader(fa.string());
  SeqRecord rec;
  ASSERT_TRUE(reader.next(rec));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ INFO     ] chr20 (63 Mb, bgzip) streamed in %.2f s\n", secs);
  EXPECT_EQ(rec.name, "20");
  EXPECT_EQ(rec.seq.size(), 63025520u);  // chr20.fa.gz.fai
  // samtools faidx chr20.fa.gz 20:60001-60030 and 20:1000000-1000040
  EXPECT_EQ(rec.seq.substr(60000, 30), "GATCCAGAGGTGGAAGAGGAAGGAAGCTTG");
  EXPECT_EQ(rec.seq.substr(999999, 41), "GTGGGAGAGAACTGGAACAAGAACCCAGTGCTCTTTCTGCT");
  // Whole-file composition from zcat | grep -v '>' | fold -w1 | sort | uniq -c.
  const std::map<char, int64_t> expected{
      {'A', 16523053}, {'C', 13107828}, {'G', 13149412}, {'N', 3520000}, {'T', 16725227}};
  EXPECT_EQ(composition(rec.seq), expected);
  EXPECT_FALSE(reader.next(rec));
}

}  // namespace
}  // namespace strand::genomics
