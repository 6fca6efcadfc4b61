#include "genomics/sequence_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <thread>
#include <vector>

#include "core/error.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

constexpr const char* kLambda = "gi|9626243|ref|NC_001416.1|";

using test::expect_error;

std::string fx(const char* name) {
  return test::fixture(name).string();
}

std::vector<SeqRecord> read_all(SequenceSource& src) {
  std::vector<SeqRecord> out;
  SeqRecord rec;
  while (src.next(rec)) out.push_back(rec);
  return out;
}
std::vector<SeqRecord> read_all(const std::string& path, const SequenceSourceOptions& options = {}) {
  SequenceSource src(path, options);
  return read_all(src);
}

// Feeds `data` to file descriptor 0 through a pipe (not seekable, like `cat x | strand -`)
// for the lifetime of the object; the reader must be destroyed first.
class StdinFrom {
 public:
  explicit StdinFrom(std::string data) {
    std::signal(SIGPIPE, SIG_IGN);  // a reader that stops early closes the pipe
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    saved_ = dup(0);
    dup2(fds[0], 0);
    close(fds[0]);
    writer_ = std::thread([fd = fds[1], d = std::move(data)] {
      size_t off = 0;
      while (off < d.size()) {
        const ssize_t n = write(fd, d.data() + off, d.size() - off);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      close(fd);
    });
  }
  ~StdinFrom() {
    close(0);  // unblocks the writer if the reader left data unread
    writer_.join();
    dup2(saved_, 0);
    close(saved_);
  }
  StdinFrom(const StdinFrom&) = delete;
  StdinFrom& operator=(const StdinFrom&) = delete;

 private:
  int saved_ = -1;
  std::thread writer_;
};

TEST(DetectSequenceFormat, FromContentNotName) {
  EXPECT_EQ(detect_sequence_format(fx("fasta/lambda.fa")), SequenceFormat::kFasta);
  EXPECT_EQ(detect_sequence_format(fx("fasta/lambda.fa.gz")), SequenceFormat::kFasta);
  EXPECT_EQ(detect_sequence_format(fx("fasta/lambda.gzip.fa.gz")), SequenceFormat::kFasta);
  EXPECT_EQ(detect_sequence_format(fx("reads/ecoli_ul_short21.fastq.gz")), SequenceFormat::kFastq);
  EXPECT_EQ(detect_sequence_format(fx("reads/klebs_pKPHS2.sam")), SequenceFormat::kSam);
  EXPECT_EQ(detect_sequence_format(fx("reads/klebs_pKPHS2.bam")), SequenceFormat::kBam);
  EXPECT_EQ(detect_sequence_format(fx("reads/ecoli_ul_short21.unaligned.bam")), SequenceFormat::kBam);
  EXPECT_EQ(detect_sequence_format(fx("reads/klebs_pKPHS2.cram")), SequenceFormat::kCram);
  EXPECT_STREQ(to_string(SequenceFormat::kCram), "CRAM");

  test::TempDir dir;
  // A FASTA named like a BAM is still FASTA; leading blank lines do not hide it.
  test::write_file(dir / "misnamed.bam", "\n\n>a\nACGT\n");
  EXPECT_EQ(detect_sequence_format((dir / "misnamed.bam").string()), SequenceFormat::kFasta);

  const auto detect = [](const std::string& p) { return [p] { detect_sequence_format(p); }; };
  test::write_file(dir / "x.vcf", "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
  expect_error(detect((dir / "x.vcf").string()), {"x.vcf", "not a sequence file", "VCF"});
  expect_error(detect(fx("fasta/lambda.fa.fai")), {"lambda.fa.fai", "not a sequence file"});
  test::write_file(dir / "empty.fa", "");
  expect_error(detect((dir / "empty.fa").string()), {"empty.fa", "empty"});
  test::write_file(dir / "nohead.fa", "ACGTACGT\n");
  expect_error(detect((dir / "nohead.fa").string()), {"nohead.fa", "no '>' header line"});
  std::string junk(2048, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 2654435761u) >> 13);
  test::write_file(dir / "junk.bin", junk);
  expect_error(detect((dir / "junk.bin").string()), {"junk.bin"});
  expect_error(detect((dir / "missing.fa").string()), {"missing.fa", "No such file"});
  expect_error(detect(dir.path().string()), {dir.path().string(), "is a directory"});
  expect_error(detect("-"), {"stdin"});
}

TEST(SequenceSource, DispatchesOnFormat) {
  const auto fa = read_all(fx("fasta/klebs_plasmids.fa"));
  ASSERT_EQ(fa.size(), 3u);
  EXPECT_EQ(fa[2].name, "CP003228.1");
  EXPECT_EQ(fa[2].seq.size(), 1308u);

  SequenceSource fq(fx("reads/ecoli_ul_short21.fastq.gz"), {});
  EXPECT_EQ(fq.format(), SequenceFormat::kFastq);
  EXPECT_EQ(read_all(fq).size(), 21u);

  // BAM/SAM/CRAM: the read filter applies (11 primary reads: samtools view -c -F 0x900).
  SequenceSourceOptions cram_opts;
  cram_opts.reference = fx("reads/klebs_pKPHS2_3.ref.fa.gz");
  for (const char* p : {"reads/klebs_pKPHS2.bam", "reads/klebs_pKPHS2.sam", "reads/klebs_pKPHS2.cram"})
    EXPECT_EQ(read_all(fx(p), cram_opts).size(), 11u) << p;
  SequenceSourceOptions all = cram_opts;
  all.read_filter.keep_secondary = all.read_filter.keep_supplementary = true;
  EXPECT_EQ(read_all(fx("reads/klebs_pKPHS2.cram"), all).size(), 23u);
  all.regions = {Region{"NC_016846.1", 45999, 46100}, Region{"NC_016846.1", 47999, 48100}};
  const auto one = read_all(fx("reads/klebs_pKPHS2.bam"), all);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].name, "SRR5665597.918");
}

TEST(SequenceSource, FastaRegionsComeFromTheIndexInTheGivenOrder) {
  SequenceSourceOptions opts;
  opts.regions = {Region{"CP003228.1", 497, 502}, Region{"CP003226.1", 94, 105}, Region{"CP003227.1"}};
  for (const char* p : {"fasta/klebs_plasmids.fa", "fasta/lambda.fa.gz"}) {
    if (std::string(p) == "fasta/lambda.fa.gz") opts.regions = {Region{kLambda, 54, 130}};
    SequenceSource src(fx(p), opts);
    EXPECT_EQ(src.format(), SequenceFormat::kFasta);
    const auto recs = read_all(src);
    ASSERT_EQ(recs.size(), opts.regions.size());
    if (recs.size() == 3) {
      // samtools faidx klebs_plasmids.fa CP003228.1:498-502 CP003226.1:95-105
      EXPECT_EQ(recs[0].name, "CP003228.1:498-502");
      EXPECT_EQ(recs[0].seq, "CGRGG");
      EXPECT_EQ(recs[0].contig, "CP003228.1");
      EXPECT_EQ(recs[0].beg0, 497);
      EXPECT_EQ(recs[1].seq, "TCATGAccgag");
      EXPECT_EQ(recs[2].name, "CP003227.1");
      EXPECT_EQ(recs[2].seq.size(), 3353u);
    } else {
      EXPECT_EQ(recs[0].seq, "TTTCCGTTCTTCTTCGTCATAACTTAATGTTTTTATTTAAAATACCCTCTGAAAAGAAAGGAAACGACAGGTGCTG");
    }
  }
}

TEST(SequenceSource, RegionErrorsNameTheFile) {
  SequenceSourceOptions opts;
  opts.regions = {Region{"CP003228.1", 0, 10}};
  const auto open = [&](const std::string& p) { return [p, &opts] { SequenceSource s(p, opts); }; };
  expect_error(open(fx("fasta/klebs_ragged.fa")), {"klebs_ragged.fa", "no .fai index", "samtools faidx"});
  expect_error(open(fx("fasta/lambda.gzip.fa.gz")), {"lambda.gzip.fa.gz", "gzip", "bgzip"});
  expect_error(open(fx("reads/ecoli_ul_short21.fastq.gz")), {"ecoli_ul_short21.fastq.gz", "FASTQ"});
  opts.regions = {Region{"CP003228.1", 0, 10}, Region{"chr9", 0, 10}};
  expect_error(open(fx("fasta/klebs_plasmids.fa")), {"klebs_plasmids.fa", "'chr9'"});
  opts.regions = {Region{"CP003228.1", 2000, 2100}};
  expect_error(open(fx("fasta/klebs_plasmids.fa")), {"klebs_plasmids.fa", "outside contig CP003228.1"});
  expect_error(open(fx("reads/klebs_pKPHS2.sam")), {"klebs_pKPHS2.sam", "not in the header"});
}

TEST(SequenceSource, StdinPipesOfEveryFormat) {
  {
    StdinFrom in(test::read_file(test::fixture("fasta/lambda.fa.gz")));
    SequenceSource src("-", {});
    EXPECT_EQ(src.format(), SequenceFormat::kFasta);
    const auto recs = read_all(src);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].name, kLambda);
    EXPECT_EQ(recs[0].seq.size(), 48502u);
  }
  {
    StdinFrom in(test::read_file(test::fixture("fasta/klebs_ragged.fa")));
    SequenceSource src("-", {});
    EXPECT_EQ(read_all(src).size(), 2u);
  }
  {
    StdinFrom in(test::read_file(test::fixture("reads/ecoli_ul_short21.fastq.gz")));
    SequenceSource src("-", {});
    EXPECT_EQ(src.format(), SequenceFormat::kFastq);
    EXPECT_EQ(read_all(src).size(), 21u);
  }
  {
    StdinFrom in(test::read_file(test::fixture("reads/klebs_pKPHS2.bam")));
    SequenceSource src("-", {});
    EXPECT_EQ(src.format(), SequenceFormat::kBam);
    EXPECT_EQ(read_all(src).size(), 11u);
  }
  {
    StdinFrom in(test::read_file(test::fixture("fasta/lambda.fa")));
    SequenceSourceOptions opts;
    opts.regions = {Region{kLambda, 0, 10}};
    expect_error([&] { SequenceSource src("-", opts); }, {"stdin", "indexed file"});
  }
  {
    StdinFrom in("");
    expect_error([&] { SequenceSource src("-", {}); }, {"'-'", "empty"});
  }
  {
    StdinFrom in("no header here\n");
    expect_error([&] { SequenceSource src("-", {}); }, {"'-'"});
  }
}

}  // namespace
}  // namespace strand::genomics
