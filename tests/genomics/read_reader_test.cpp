#include "genomics/read_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/text.h"
#include "genomics/fastx_reader.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

using test::expect_error;

struct Read {
  std::string name, seq, qual;
  uint16_t flag = 0;
  bool operator==(const Read&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Read& r) {
  return os << r.name << " flag " << r.flag;
}

ReadFilter keep_all() {
  ReadFilter f;
  f.keep_secondary = true;
  f.keep_supplementary = true;
  return f;
}

std::vector<Read> read_all(ReadReader& reader) {
  std::vector<Read> out;
  SeqRecord rec;
  while (reader.next(rec)) {
    EXPECT_EQ(rec.contig, rec.name);
    EXPECT_EQ(rec.beg0, 0);
    EXPECT_TRUE(rec.comment.empty());
    out.push_back({rec.name, rec.seq, rec.qual, rec.sam_flag});
  }
  return out;
}
std::vector<Read> read_all(const std::string& path, ReadFilter filter = {}, const std::string& ref = "",
                           int threads = 0) {
  ReadReader reader(path, filter, ref, threads);
  return read_all(reader);
}

// Independent decoding of the SAM text: column 10/11 as stored, reverse-complemented (own
// table, A/C/G/T/N only, which is all this data holds) and reversed for flag 0x10.
std::vector<Read> parse_sam_text(const std::string& path) {
  std::vector<Read> out;
  const std::string text = test::read_file(path);
  for (std::string_view line : split(text, '\n')) {
    if (line.empty() || line[0] == '@') continue;
    const auto cols = split(line, '\t');
    Read r{std::string(cols[0]), std::string(cols[9]), std::string(cols[10]),
           static_cast<uint16_t>(parse_int64(cols[1], "flag"))};
    if (r.seq == "*") r.seq.clear();
    if (r.qual == "*") r.qual.clear();
    if (r.flag & 0x10) {
      std::reverse(r.seq.begin(), r.seq.end());
      for (char& c : r.seq) c = c == 'A' ? 'T' : c == 'C' ? 'G' : c == 'G' ? 'C' : c == 'T' ? 'A' : c;
      std::reverse(r.qual.begin(), r.qual.end());
    }
    out.push_back(r);
  }
  return out;
}

std::string fx(const char* name) {
  return test::fixture(name).string();
}
const char* const kRef = "reads/klebs_pKPHS2_3.ref.fa.gz";

TEST(ReadReader, SamBamCramAgreeWithTheSamText) {
  const std::vector<Read> expected = parse_sam_text(fx("reads/klebs_pKPHS2.sam"));
  ASSERT_EQ(expected.size(), 23u);  // samtools view -c
  EXPECT_EQ(read_all(fx("reads/klebs_pKPHS2.sam"), keep_all()), expected);
  EXPECT_EQ(read_all(fx("reads/klebs_pKPHS2.bam"), keep_all()), expected);
  EXPECT_EQ(read_all(fx("reads/klebs_pKPHS2.bam"), keep_all(), "", 2), expected);
  EXPECT_EQ(read_all(fx("reads/klebs_pKPHS2.cram"), keep_all(), fx(kRef)), expected);

  // Flag classes (samtools view -c -f/-F): 5 secondary (SEQ '*'), 7 supplementary (hard
  // clipped: what is stored comes out), 5 unmapped.
  int secondary = 0, supplementary = 0, unmapped = 0;
  for (const Read& r : expected) {
    secondary += (r.flag & 0x100) != 0;
    supplementary += (r.flag & 0x800) != 0;
    unmapped += (r.flag & 0x4) != 0;
    if (r.flag & 0x100) {
      EXPECT_TRUE(r.seq.empty() && r.qual.empty()) << r;
    }
  }
  EXPECT_EQ(secondary, 5);
  EXPECT_EQ(supplementary, 7);
  EXPECT_EQ(unmapped, 5);
}

TEST(ReadReader, DefaultFilterMatchesSamtoolsFastq) {
  // `samtools fastq klebs_pKPHS2.bam` (drops 0x900, restores read orientation).
  const std::string text = test::read_maybe_gzip(test::fixture("reads/klebs_pKPHS2.expected.fastq.gz"));
  const auto lines = split(text, '\n');
  std::vector<Read> expected;
  for (size_t i = 0; i + 3 < lines.size(); i += 4)
    expected.push_back({std::string(lines[i].substr(1)), std::string(lines[i + 1]), std::string(lines[i + 3]), 0});
  ASSERT_EQ(expected.size(), 11u);  // samtools view -c -F 0x900
  for (const char* path : {"reads/klebs_pKPHS2.bam", "reads/klebs_pKPHS2.sam", "reads/klebs_pKPHS2.cram"}) {
    SCOPED_TRACE(path);
    ReadReader reader(fx(path), {}, fx(kRef));
    std::vector<Read> got = read_all(reader);
    for (Read& r : got) {
      EXPECT_EQ(r.flag & 0x900, 0) << r;
      r.flag = 0;
    }
    EXPECT_EQ(got, expected);
    EXPECT_EQ(reader.reads_returned(), 11u);
    EXPECT_EQ(reader.reads_skipped(), 12u);
  }
  ReadFilter min1000;
  min1000.min_length = 1000;
  EXPECT_EQ(read_all(fx("reads/klebs_pKPHS2.bam"), min1000).size(), 8u);  // awk 'length($10)>=1000'
}

TEST(ReadReader, RegionsReturnEachReadOnce) {
  for (const char* path : {"reads/klebs_pKPHS2.bam", "reads/klebs_pKPHS2.cram"}) {
    SCOPED_TRACE(path);
    // SRR5665597.918 (45951, 3.7 kb) spans both regions: samtools view -M gives it once.
    ReadReader spanning(fx(path), keep_all(), fx(kRef));
    spanning.set_regions({Region{"NC_016846.1", 45999, 46100}, Region{"NC_016846.1", 47999, 48100}});
    const auto once = read_all(spanning);
    ASSERT_EQ(once.size(), 1u);
    EXPECT_EQ(once[0].name, "SRR5665597.918");

    // samtools view -M -F 0x900 ... NC_016846.1:40000-60000 NC_016846.1:50000-76000
    ReadReader overlapping(fx(path), {}, fx(kRef));
    overlapping.set_regions({Region{"NC_016846.1", 49999, 76000}, Region{"NC_016846.1", 39999, 60000}});
    const auto two = read_all(overlapping);
    ASSERT_EQ(two.size(), 2u);
    EXPECT_EQ(two[0].name, "SRR5665597.918");
    EXPECT_EQ(two[1].name, "SRR5665597.549");
    EXPECT_EQ(two[1].flag, 16);

    // samtools view -M (all flags) with a region on the second contig too: 11 records.
    ReadReader two_contigs(fx(path), keep_all(), fx(kRef));
    two_contigs.set_regions({Region{"NC_016839.1", 82999, 84000}, Region{"NC_016846.1", 39999, 60000},
                             Region{"NC_016846.1", 49999, 76000}});
    EXPECT_EQ(read_all(two_contigs).size(), 11u);

    ReadReader none(fx(path), keep_all(), fx(kRef));
    none.set_regions({});
    EXPECT_TRUE(read_all(none).empty());
  }
}

TEST(ReadReader, UnalignedBamMatchesItsFastq) {
  const std::vector<Read> ubam = read_all(fx("reads/ecoli_ul_short21.unaligned.bam"));
  ASSERT_EQ(ubam.size(), 21u);
  FastxReader fq(fx("reads/ecoli_ul_short21.fastq.gz"));
  SeqRecord rec;
  for (const Read& r : ubam) {
    ASSERT_TRUE(fq.next(rec));
    EXPECT_EQ(r, (Read{rec.name, rec.seq, rec.qual, 4}));
  }
  EXPECT_FALSE(fq.next(rec));
}

TEST(ReadReader, BadInputsNameTheFileAndTheProblem) {
  test::TempDir dir;
  const std::string bam = test::read_file(test::fixture("reads/klebs_pKPHS2.bam"));
  const auto write = [&](const char* name, std::string_view content) {
    test::write_file(dir / name, content);
    return (dir / name).string();
  };
  const auto read = [](const std::string& p) { return [p] { read_all(p); }; };

  expect_error(read((dir / "missing.bam").string()), {"missing.bam", "No such file"});
  expect_error(read(dir.path().string()), {dir.path().string(), "is a directory"});
  expect_error(read(fx("fasta/lambda.fa")), {"lambda.fa", "not SAM, BAM or CRAM", "FASTA"});
  expect_error(read(write("cut.bam", std::string_view(bam).substr(0, bam.size() / 2))), {"cut.bam", "truncated"});
  // Cut at the end-of-file block: every record decodes; only the marker tells.
  expect_error(read(write("noeof.bam", std::string_view(bam).substr(0, bam.size() - 28))),
               {"noeof.bam", "truncated", "end-of-file"});
  // Corrupt data in the middle of the records (a block boundary kept, the EOF marker kept).
  std::string flipped = bam;
  for (size_t i = bam.size() / 2; i < bam.size() / 2 + 64; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  expect_error(read(write("flipped.bam", flipped)), {"flipped.bam", "corrupt"});
  expect_error(read(write("bad.sam", "@SQ\tSN:c\tLN:10\nr1\tzero\tc\t1\t60\t4M\t*\t0\t0\tACGT\tIIII\n")), {"bad.sam"});

  // Region queries: no index (SAM), unknown contig, outside the contig.
  expect_error(
      [&] {
        ReadReader r(fx("reads/klebs_pKPHS2.sam"));
        r.set_regions({Region{"NC_016846.1", 0, 10}});
      },
      {"klebs_pKPHS2.sam", "no index", "samtools index"});
  expect_error(
      [&] {
        ReadReader r(fx("reads/klebs_pKPHS2.bam"));
        r.set_regions({Region{"chrX", 0, 10}});
      },
      {"klebs_pKPHS2.bam", "'chrX'", "not in the header"});
  expect_error(
      [&] {
        ReadReader r(fx("reads/klebs_pKPHS2.bam"));
        r.set_regions({Region{"NC_016846.1", 200000, 200010}});
      },
      {"klebs_pKPHS2.bam", "outside contig NC_016846.1", "111195"});
}

TEST(ReadReader, SharedNanoporeBamAndUltralongUbamVsFastq) {
  STRAND_SHARED_DATA_OR_SKIP(aln, "longreads/nanopore_klebsiella_nanoget/alignment.bam");
  // samtools view -c -F 0x900: 1,000 reads, 13,407,607 bases.
  ReadReader reader(aln.string(), {}, "", 2);
  SeqRecord rec;
  uint64_t n = 0, bases = 0;
  while (reader.next(rec)) {
    ++n;
    bases += rec.seq.size();
  }
  EXPECT_EQ(n, 1000u);
  EXPECT_EQ(bases, 13407607u);
  EXPECT_EQ(reader.reads_skipped(), 237u);

  STRAND_SHARED_DATA_OR_SKIP(ubam, "longreads/nanopore_ecoli_ultralong/reads.unaligned.bam");
  STRAND_SHARED_DATA_OR_SKIP(fastq, "longreads/nanopore_ecoli_ultralong/reads.fastq.gz");
  ReadReader ub(ubam.string());
  FastxReader fq(fastq.string());
  SeqRecord a, b;
  uint64_t reads = 0, total = 0;
  while (ub.next(a)) {
    ASSERT_TRUE(fq.next(b)) << "FASTQ ends before read " << a.name;
    ASSERT_EQ(a.name, b.name);
    ASSERT_EQ(a.seq, b.seq) << a.name;
    ASSERT_EQ(a.qual, b.qual) << a.name;
    ++reads;
    total += a.seq.size();
  }
  EXPECT_FALSE(fq.next(b));
  EXPECT_EQ(reads, 371u);      // MANIFEST: 371 reads
  EXPECT_EQ(total, 8611871u);  // zcat reads.fastq.gz | awk 'NR%4==2{t+=length($0)}'
}

}  // namespace
}  // namespace strand::genomics
