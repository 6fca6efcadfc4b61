#include "genomics/vcf_reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/text.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

namespace fs = std::filesystem;

// Positions of the 14 GIAB records of data/vcf/chr22_giab.vcf (bcftools view -H | cut -f2).
const std::vector<int64_t> kGiabPos1 = {186,  1008, 1817, 1820,  1917,  4449,  5009,
                                        6418, 8846, 9791, 10532, 11261, 11536, 12125};

struct Rec {
  std::string contig;
  int64_t pos1;
  std::string ref;
  std::vector<std::string> alts;
  std::string id;
  bool operator==(const Rec&) const = default;
};

std::vector<Rec> read_all(VcfReader& reader) {
  std::vector<Rec> out;
  Bcf1Ptr rec(bcf_init());
  while (reader.next(rec.get())) {
    const VariantView v = reader.view(rec.get());
    Rec r{std::string(v.contig), v.pos0 + 1, std::string(v.ref), {}, rec->d.id};
    for (auto a : v.alts) r.alts.emplace_back(a);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Rec> read_all(const std::string& path, const std::vector<Region>* regions = nullptr) {
  VcfReader reader(path);
  if (regions) reader.set_regions(*regions);
  return read_all(reader);
}

std::vector<int64_t> positions(const std::vector<Rec>& recs) {
  std::vector<int64_t> p;
  for (const auto& r : recs) p.push_back(r.pos1);
  return p;
}

// The error message of constructing a reader and reading everything from `path`.
std::string read_error(const std::string& path, const std::vector<Region>* regions = nullptr) {
  try {
    read_all(path, regions);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

Region region(std::string contig, int64_t beg1, int64_t end1) {
  return Region{std::move(contig), beg1 - 1, end1};
}

TEST(VcfReader, ReadsRealVcfWithUndeclaredContigAndTag) {
  // The GIAB slice uses contig 'q' and INFO/PLNCIIonWG without declaring them: htslib adds them.
  VcfReader reader(test::fixture("vcf/chr22_giab.vcf").string());
  const auto contigs = reader.header_contigs();
  ASSERT_EQ(contigs.size(), 25u);  // the 25 ##contig lines of b37 (grep -c), not q
  EXPECT_EQ(contigs[0], (ContigInfo{"1", 249250621}));
  EXPECT_EQ(contigs[24], (ContigInfo{"MT", 16569}));
  const auto recs = read_all(reader);
  EXPECT_EQ(positions(recs), kGiabPos1);
  EXPECT_EQ(reader.records_read(), 14u);
  EXPECT_EQ(recs[0], (Rec{"q", 186, "T", {"C"}, "."}));
  EXPECT_EQ(recs[13], (Rec{"q", 12125, "T", {"C"}, "."}));
  EXPECT_GE(bcf_hdr_name2id(reader.header(), "q"), 0);
}

TEST(VcfReader, VcfGzAndBcfGiveTheSameRecords) {
  const auto plain = read_all(test::fixture("vcf/chr22_giab.vcf").string());
  EXPECT_EQ(read_all(test::fixture("vcf/chr22_giab.vcf.gz").string()), plain);
  EXPECT_EQ(read_all(test::fixture("vcf/chr22_giab.bcf").string()), plain);
  VcfReader bcf(test::fixture("vcf/chr22_giab.bcf").string(), 2);
  const auto contigs = bcf.header_contigs();
  ASSERT_EQ(contigs.size(), 26u);  // q declared by bcftools annotate -h (see data/vcf/README.md)
  EXPECT_EQ(contigs[25], (ContigInfo{"q", 12356}));
}

TEST(VcfReader, GpnClinvarCommonFixture) {
  VcfReader reader(test::fixture("vcf/gpn_clinvar_common_200.vcf").string());
  const auto contigs = reader.header_contigs();
  ASSERT_EQ(contigs.size(), 23u);  // 1..22, X (the sample has no Y record); no lengths declared
  EXPECT_EQ(contigs[0], (ContigInfo{"1", 0}));
  EXPECT_EQ(contigs[22], (ContigInfo{"X", 0}));
  const auto recs = read_all(reader);
  ASSERT_EQ(recs.size(), 200u);
  EXPECT_EQ(recs[0], (Rec{"1", 1180851, "T", {"C"}, "Common_1501"}));
  int common = 0, pathogenic = 0;
  for (const auto& r : recs) {
    common += r.id.rfind("Common_", 0) == 0;
    pathogenic += r.id.rfind("Pathogenic_", 0) == 0;
  }
  EXPECT_EQ(common, 102);  // counted with cut/sort/uniq when the fixture was made
  EXPECT_EQ(pathogenic, 98);
}

TEST(VcfReader, ComplexAlleles) {
  const auto recs = read_all(test::fixture("vcf/q_complex.vcf").string());
  const std::vector<Rec> expected = {
      {"q", 100, "C", {"A", "G", "T"}, "multi_snv"}, {"q", 2000, "GGAC", {"G"}, "deletion"},
      {"q", 3000, "A", {"AGT"}, "insertion"},        {"q", 5000, "A", {"<DEL>"}, "symbolic_del"},
      {"q", 7000, "A", {"A]q:9000]"}, "breakend"},   {"q", 7005, "G", {"T", "*"}, "star"},
      {"q", 9000, "A", {"C", "AT"}, "snv_and_ins"},  {"q", 9005, "T", {}, "no_alt"},
  };
  EXPECT_EQ(recs, expected);
}

// Copies `name` and only the index with suffix `index_suffix` into `dir`.
std::string copy_with_index(const test::TempDir& dir, const std::string& name, const std::string& index_suffix) {
  fs::copy_file(test::fixture("vcf/" + name), dir / name);
  fs::copy_file(test::fixture("vcf/" + name + index_suffix), dir / (name + index_suffix));
  return (dir / name).string();
}

TEST(VcfReader, RegionQueriesMatchBcftools) {
  // Expected positions: bcftools view -H -r REGIONS FILE | cut -f2 (same for .vcf.gz and .bcf).
  struct Case {
    std::vector<Region> regions;
    std::vector<int64_t> pos1;
  };
  const std::vector<Case> cases = {
      {{region("q", 1000, 2000)}, {1008, 1817, 1820, 1917}},
      {{region("q", 1818, 5009)}, {1820, 1917, 4449, 5009}},
      {{region("q", 1000, 2000), region("q", 1818, 5009)}, {1008, 1817, 1820, 1917, 4449, 5009}},
      {{Region{"q"}}, kGiabPos1},
      {{Region{"q", 12125, kRegionToEnd}}, {}},
      {{region("q", 186, 186)}, {186}},
      {{region("q", 1818, 5009), region("q", 1000, 2000), region("q", 10000, 10600)},
       {1008, 1817, 1820, 1917, 4449, 5009, 10532}},
  };
  test::TempDir tbi, csi, bcf;
  const std::vector<std::string> files = {copy_with_index(tbi, "chr22_giab.vcf.gz", ".tbi"),
                                          copy_with_index(csi, "chr22_giab.vcf.gz", ".csi"),
                                          copy_with_index(bcf, "chr22_giab.bcf", ".csi")};
  for (const auto& file : files) {
    for (const auto& c : cases) {
      const auto recs = read_all(file, &c.regions);
      EXPECT_EQ(positions(recs), c.pos1) << file << " " << c.regions[0].to_string();
    }
  }
}

TEST(VcfReader, RegionsOverlapByRecordLengthAndGiveEachRecordOnce) {
  const std::string file = test::fixture("vcf/q_complex.vcf.gz").string();
  auto ids = [&](std::vector<Region> regions) {
    std::vector<std::string> out;
    for (const auto& r : read_all(file, &regions)) out.push_back(r.id);
    return out;
  };
  using V = std::vector<std::string>;
  // bcftools view -H -r ... q_complex.vcf.gz | cut -f3
  EXPECT_EQ(ids({region("q", 5005, 5006)}), V{"symbolic_del"});  // END=5010
  EXPECT_EQ(ids({region("q", 2001, 2002)}), V{"deletion"});      // REF GGAC
  EXPECT_EQ(ids({region("q", 7001, 9000)}), (V{"star", "snv_and_ins"}));
  EXPECT_EQ(ids({region("q", 1, 99)}), V{});
  // Two separate regions both overlapping the <DEL>: it comes once.
  EXPECT_EQ(ids({region("q", 4990, 5001), region("q", 5008, 5020)}), V{"symbolic_del"});
  EXPECT_EQ(ids({region("q", 3000, 3000), region("q", 100, 100)}), (V{"multi_snv", "insertion"}));
  // A contig the file does not have: nothing (with a warning), not an error.
  EXPECT_EQ(ids({Region{"chrUn"}}), V{});
  EXPECT_EQ(ids({}), V{});
}

// ---- bad inputs ----------------------------------------------------------------------------

TEST(VcfReaderErrors, MissingEmptyGarbage) {
  test::TempDir dir;
  const std::string missing = (dir / "missing.vcf").string();
  std::string msg = read_error(missing);
  EXPECT_NE(msg.find("missing.vcf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;

  test::write_file(dir / "empty.vcf", "");
  msg = read_error((dir / "empty.vcf").string());
  EXPECT_NE(msg.find("empty.vcf' is empty"), std::string::npos) << msg;

  std::string garbage;
  for (int i = 0; i < 512; ++i) garbage += static_cast<char>((i * 37 + 11) & 0xff);
  test::write_file(dir / "garbage.vcf", garbage);
  msg = read_error((dir / "garbage.vcf").string());
  EXPECT_NE(msg.find("garbage.vcf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a VCF or BCF file"), std::string::npos) << msg;
}

TEST(VcfReaderErrors, HeaderlessVcf) {
  // The GPN records as published: 5 columns, no header at all.
  test::TempDir dir;
  std::string body;
  const std::string text = test::read_file(test::fixture("vcf/gpn_clinvar_common_200.vcf"));
  for (auto line : split(text, '\n'))
    if (!line.empty() && line[0] != '#') body += std::string(line) + "\n";
  test::write_file(dir / "noheader.vcf", body);
  const std::string msg = read_error((dir / "noheader.vcf").string());
  EXPECT_NE(msg.find("noheader.vcf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'#CHROM' header line) is missing"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1\\x091180851"), std::string::npos) << msg;  // quotes the first line
}

TEST(VcfReaderErrors, HeaderlessVcfFromSharedData) {
  STRAND_SHARED_DATA_OR_SKIP(path, "human/variants/gpn_example_pathogenic_vs_common_hg38.vcf");
  const std::string msg = read_error(path.string());
  EXPECT_NE(msg.find("gpn_example_pathogenic_vs_common_hg38.vcf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("header line) is missing"), std::string::npos) << msg;
}

const char kHeader[] =
    "##fileformat=VCFv4.2\n##contig=<ID=q,length=12356>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

TEST(VcfReaderErrors, MissingChromLine) {
  test::TempDir dir;
  test::write_file(dir / "nochrom.vcf", "##fileformat=VCFv4.2\n##contig=<ID=q>\nq\t186\t.\tT\tC\t.\t.\t.\n");
  const std::string msg = read_error((dir / "nochrom.vcf").string());
  EXPECT_NE(msg.find("nochrom.vcf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the '#CHROM' header line is missing (line 3"), std::string::npos) << msg;
}

TEST(VcfReaderErrors, MalformedHeaderLine) {
  test::TempDir dir;
  test::write_file(dir / "badhdr.vcf",
                   "##fileformat=VCFv4.2\n##INFO=<ID=X,Number=1,Type=Float,Description=\"x\"\n##contig=<ID=q>\n"
                   "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nq\t186\t.\tT\tC\t.\t.\t.\n");
  const std::string msg = read_error((dir / "badhdr.vcf").string());
  EXPECT_NE(msg.find("badhdr.vcf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("malformed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("##INFO"), std::string::npos) << msg;
}

TEST(VcfReaderErrors, MalformedRecords) {
  test::TempDir dir;
  const std::string good = "q\t186\t.\tT\tC\t.\t.\t.\n";
  test::write_file(dir / "badpos.vcf", std::string(kHeader) + good + "q\tabc\t.\tT\tC\t.\t.\t.\n");
  std::string msg = read_error((dir / "badpos.vcf").string());
  EXPECT_NE(msg.find("file '" + (dir / "badpos.vcf").string() + "' record 2 (the record after q:186)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("POS 'abc' is not a position"), std::string::npos) << msg;

  test::write_file(dir / "badpos2.vcf", std::string(kHeader) + "q\t12x\t.\tT\tC\t.\t.\t.\n");
  msg = read_error((dir / "badpos2.vcf").string());
  EXPECT_NE(msg.find("record 1 (the first record)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("POS '12x'"), std::string::npos) << msg;

  test::write_file(dir / "fewcols.vcf", std::string(kHeader) + good + good + "q\t190\t.\tT\n");
  msg = read_error((dir / "fewcols.vcf").string());
  EXPECT_NE(msg.find("fewcols.vcf' record 3 (the record after q:186)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("has 4 tab-separated columns, expected at least 8"), std::string::npos) << msg;
}

// A bgzip VCF of two BGZF blocks (header, records) whose second block is cut short.
TEST(VcfReaderErrors, TruncatedBgzip) {
  test::TempDir dir;
  const fs::path path = dir / "trunc.vcf.gz";
  {
    BgzfPtr fp(bgzf_open(path.c_str(), "w"));
    ASSERT_TRUE(fp);
    const std::string header = kHeader;
    std::string body;
    for (int i = 0; i < 200; ++i) body += "q\t" + std::to_string(100 + i * 7) + "\t.\tA\tC\t.\t.\t.\n";
    ASSERT_EQ(bgzf_write(fp.get(), header.data(), header.size()), static_cast<ssize_t>(header.size()));
    ASSERT_EQ(bgzf_flush(fp.get()), 0);
    ASSERT_EQ(bgzf_write(fp.get(), body.data(), body.size()), static_cast<ssize_t>(body.size()));
    ASSERT_EQ(bgzf_close(fp.release()), 0);
  }
  const std::string full = test::read_file(path);
  test::write_file(path, full.substr(0, full.size() - 28 - 40));  // drop the EOF block and more
  const std::string msg = read_error(path.string());
  EXPECT_NE(msg.find("trunc.vcf.gz' record 1 (the first record)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated or corrupt"), std::string::npos) << msg;

  // Cut inside the header block: the header cannot be read.
  test::write_file(path, full.substr(0, 30));
  const std::string msg2 = read_error(path.string());
  EXPECT_NE(msg2.find("trunc.vcf.gz"), std::string::npos) << msg2;
}

TEST(VcfReaderErrors, TruncatedBcf) {
  test::TempDir dir;
  const std::string full = test::read_file(test::fixture("vcf/chr22_giab.bcf"));
  test::write_file(dir / "trunc.bcf", full.substr(0, full.size() - 28 - 100));
  const std::string msg = read_error((dir / "trunc.bcf").string());
  EXPECT_NE(msg.find("trunc.bcf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated or corrupt"), std::string::npos) << msg;
}

TEST(VcfReaderErrors, RegionsNeedAnIndex) {
  const std::vector<Region> regions = {region("q", 1000, 2000)};
  std::string msg = read_error(test::fixture("vcf/chr22_giab.vcf").string(), &regions);
  EXPECT_NE(msg.find("chr22_giab.vcf': it is not BGZF-compressed (plain VCF)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bcftools index"), std::string::npos) << msg;

  test::TempDir dir;
  fs::copy_file(test::fixture("vcf/chr22_giab.vcf.gz"), dir / "noindex.vcf.gz");
  msg = read_error((dir / "noindex.vcf.gz").string(), &regions);
  EXPECT_NE(msg.find("noindex.vcf.gz' has no index"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bcftools index"), std::string::npos) << msg;

  fs::copy_file(test::fixture("vcf/chr22_giab.bcf"), dir / "noindex.bcf");
  msg = read_error((dir / "noindex.bcf").string(), &regions);
  EXPECT_NE(msg.find("noindex.bcf' has no index"), std::string::npos) << msg;
}

}  // namespace
}  // namespace strand::genomics
