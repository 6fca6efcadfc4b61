#include "genomics/vcf_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/text.h"
#include "genomics/vcf_reader.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

namespace fs = std::filesystem;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

bool have_bcftools() {
  return test::run_command("bcftools --version").exit_code == 0;
}

// The per-allele test values: pos1/1000 + allele index, so each is distinct and exact in text.
std::vector<float> values_for(const bcf1_t* rec) {
  std::vector<float> v;
  for (int a = 1; a < rec->n_allele; ++a) v.push_back(static_cast<float>(rec->pos + 1) / 1000.0f + a);
  return v;
}

struct WriteSpec {
  VcfFormat format = VcfFormat::kVcf;
  IndexKind index = IndexKind::kNone;
};

// input → output with INFO/STRAND_LLR (values_for) and two provenance lines; commits.
void score_file(const std::string& input, const std::string& output, const WriteSpec& spec) {
  VcfReader reader(input);
  AtomicOutput out(output);
  VcfWriter writer(out, reader.header(), {spec.format, spec.index, 0});
  writer.add_info_float("STRAND_LLR", "A", "Log-likelihood ratio alt vs ref (test)");
  writer.add_header_line("##strandVersion=0.1.0");
  writer.add_header_line("##strandCommand=strand score -m test in.vcf");
  writer.write_header();
  Bcf1Ptr rec(bcf_init());
  while (reader.next(rec.get())) {
    const auto v = values_for(rec.get());
    writer.set_info_floats(rec.get(), "STRAND_LLR", v);
    writer.write(rec.get());
  }
  writer.close();
  out.commit();
}

struct OutRec {
  std::string contig, ref, id;
  int64_t pos1;
  std::vector<std::string> alts;
  std::vector<float> llr;
  // VCF text keeps 6 significant digits of a float: equal within 1e-6 relative.
  bool operator==(const OutRec& o) const {
    if (contig != o.contig || ref != o.ref || id != o.id || pos1 != o.pos1 || alts != o.alts) return false;
    if (llr.size() != o.llr.size()) return false;
    for (size_t i = 0; i < llr.size(); ++i)
      if (std::fabs(llr[i] - o.llr[i]) > 1e-6f * std::fabs(o.llr[i])) return false;
    return true;
  }
};

void PrintTo(const OutRec& r, std::ostream* os) {
  *os << r.contig << ":" << r.pos1 << " " << r.id << " " << r.ref << " alts=" << r.alts.size() << " llr=";
  for (float v : r.llr) *os << v << ",";
}

std::vector<OutRec> read_back(const std::string& path, const std::vector<Region>* regions = nullptr) {
  VcfReader reader(path);
  if (regions) reader.set_regions(*regions);
  Bcf1Ptr rec(bcf_init());
  std::vector<OutRec> out;
  float* vals = nullptr;
  int n_vals = 0;
  while (reader.next(rec.get())) {
    const auto v = reader.view(rec.get());
    OutRec r{std::string(v.contig), std::string(v.ref), rec->d.id, v.pos0 + 1, {}, {}};
    for (auto a : v.alts) r.alts.emplace_back(a);
    const int n = bcf_get_info_float(reader.header(), rec.get(), "STRAND_LLR", &vals, &n_vals);
    for (int i = 0; i < n; ++i) r.llr.push_back(vals[i]);
    out.push_back(std::move(r));
  }
  std::free(vals);
  return out;
}

std::vector<OutRec> expected_from(const std::string& input) {
  VcfReader reader(input);
  Bcf1Ptr rec(bcf_init());
  std::vector<OutRec> out;
  while (reader.next(rec.get())) {
    const auto v = reader.view(rec.get());
    OutRec r{std::string(v.contig), std::string(v.ref), rec->d.id, v.pos0 + 1, {}, values_for(rec.get())};
    for (auto a : v.alts) r.alts.emplace_back(a);
    out.push_back(std::move(r));
  }
  return out;
}

TEST(VcfWriter, FormatLetters) {
  EXPECT_EQ(parse_vcf_format('v'), VcfFormat::kVcf);
  EXPECT_EQ(parse_vcf_format('z'), VcfFormat::kVcfGz);
  EXPECT_EQ(parse_vcf_format('b'), VcfFormat::kBcf);
  EXPECT_EQ(parse_vcf_format('u'), VcfFormat::kBcfUncompressed);
  EXPECT_THROW(parse_vcf_format('x'), Error);
  EXPECT_EQ(guess_vcf_format("a.bcf"), VcfFormat::kBcf);
  EXPECT_EQ(guess_vcf_format("a.vcf.gz"), VcfFormat::kVcfGz);
  EXPECT_EQ(guess_vcf_format("a.vcf.bgz"), VcfFormat::kVcfGz);
  EXPECT_EQ(guess_vcf_format("a.vcf"), VcfFormat::kVcf);
  EXPECT_EQ(guess_vcf_format("-"), VcfFormat::kVcf);
}

TEST(VcfWriter, RoundTripEveryFormat) {
  const std::string input = test::fixture("vcf/chr22_giab.bcf").string();
  const auto expected = expected_from(input);
  ASSERT_EQ(expected.size(), 14u);
  const bool bcftools = have_bcftools();
  const std::string in_body = bcftools ? test::run_command("bcftools view -H " + input).out : "";
  for (const auto& [format, name] :
       std::vector<std::pair<VcfFormat, std::string>>{{VcfFormat::kVcf, "out.vcf"},
                                                      {VcfFormat::kVcfGz, "out.vcf.gz"},
                                                      {VcfFormat::kBcf, "out.bcf"},
                                                      {VcfFormat::kBcfUncompressed, "out.u.bcf"}}) {
    SCOPED_TRACE(name);
    test::TempDir dir;
    const std::string out = (dir / name).string();
    score_file(input, out, {format, IndexKind::kNone});
    EXPECT_EQ(dir.list(), std::vector<std::string>{name});  // no temporary left behind
    EXPECT_EQ(read_back(out), expected);
    if (!bcftools) continue;
    // The other fields are untouched: removing the new tag gives back the input's records.
    const auto stripped = test::run_command("bcftools annotate -x INFO/STRAND_LLR " + out + " | bcftools view -H");
    ASSERT_EQ(stripped.exit_code, 0) << stripped.err;
    EXPECT_EQ(stripped.out, in_body);
    const auto header = test::run_command("bcftools view -h " + out);
    ASSERT_EQ(header.exit_code, 0) << header.err;
    EXPECT_NE(header.out.find("##INFO=<ID=STRAND_LLR,Number=A,Type=Float,Description=\"Log-likelihood ratio alt vs "
                              "ref (test)\">"),
              std::string::npos);
    EXPECT_NE(header.out.find("##strandVersion=0.1.0\n"), std::string::npos);
    EXPECT_NE(header.out.find("##strandCommand=strand score -m test in.vcf\n"), std::string::npos);
    const auto query = test::run_command("bcftools query -f '%POS %INFO/STRAND_LLR\\n' " + out);
    ASSERT_EQ(query.exit_code, 0) << query.err;
    EXPECT_EQ(split(query.out, '\n')[0], "186 1.186");
    EXPECT_EQ(split(query.out, '\n')[13], "12125 13.125");
  }
}

// Per-allele values with NaN on the multi-allelic / symbolic / breakend / '*' fixture.
TEST(VcfWriter, PerAlleleFloatsWithMissing) {
  const std::string input = test::fixture("vcf/q_complex.vcf").string();
  const std::vector<std::vector<float>> values = {
      {1.5f, kNaN, -2.25f},  // multi_snv
      {0.5f},                // deletion
      {kNaN},                // insertion
      {kNaN},                // symbolic_del
      {kNaN},                // breakend
      {3.0f, kNaN},          // star
      {kNaN, kNaN},          // snv_and_ins
      {},                    // no_alt
  };
  const std::vector<std::string> expected_info = {
      "STRAND_LLR=1.5,.,-2.25",  "STRAND_LLR=0.5", "STRAND_LLR=.", "SVTYPE=DEL;END=5010;STRAND_LLR=.",
      "SVTYPE=BND;STRAND_LLR=.", "STRAND_LLR=3,.", "STRAND_LLR=.", "STRAND_LLR=."};
  test::TempDir dir;
  const std::string out = (dir / "out.vcf").string();
  {
    VcfReader reader(input);
    AtomicOutput output(out);
    VcfWriter writer(output, reader.header(), {});
    writer.add_info_float("STRAND_LLR", "A", "test");
    writer.write_header();
    Bcf1Ptr rec(bcf_init());
    size_t i = 0;
    while (reader.next(rec.get())) {
      ASSERT_LT(i, values.size());
      writer.set_info_floats(rec.get(), "STRAND_LLR", values[i++]);
      writer.write(rec.get());
    }
    writer.close();
    output.commit();
  }
  std::vector<std::string> info;
  const std::string text = test::read_file(out);
  for (auto line : split(text, '\n'))
    if (!line.empty() && line[0] != '#') info.emplace_back(split(line, '\t').at(7));
  EXPECT_EQ(info, expected_info);
  if (have_bcftools()) {
    const auto r = test::run_command("bcftools view -H " + out + " | cut -f8");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string joined;
    for (const auto& s : expected_info) joined += s + "\n";
    EXPECT_EQ(r.out, joined);
  }
}

// The GIAB VCF uses contig 'q' and INFO/PLNCIIonWG without declaring them. htslib adds them to
// the reader's header on the first record, after the writer copied it: the added tag must not
// take the ID of STRAND_LLR in the output.
TEST(VcfWriter, UndeclaredContigAndTagKeepTheirNames) {
  const std::string input = test::fixture("vcf/chr22_giab.vcf").string();
  test::TempDir dir;
  const std::string out = (dir / "out.vcf.gz").string();
  score_file(input, out, {VcfFormat::kVcfGz, IndexKind::kCsi});
  EXPECT_EQ(dir.list(), (std::vector<std::string>{"out.vcf.gz", "out.vcf.gz.csi"}));

  std::vector<std::string> got;
  const std::string out_text = test::read_maybe_gzip(out);
  for (auto line : split(out_text, '\n'))
    if (!line.empty() && line[0] != '#') got.emplace_back(line);
  ASSERT_EQ(got.size(), 14u);
  // Undeclared INFO/PLNCIIonWG keeps its name and values; exactly one STRAND_LLR, the right one.
  EXPECT_NE(got[0].find(";PLNCIIonWG=67,0,116;"), std::string::npos) << got[0];
  for (const auto& line : got) {
    const auto cols = split(line, '\t');
    const auto info = std::string(cols.at(7));
    const int64_t pos1 = parse_int64(cols[1], "POS");
    EXPECT_EQ(info.find("STRAND_LLR="), info.rfind("STRAND_LLR=")) << line;
    char expected_llr[32];
    std::snprintf(expected_llr, sizeof expected_llr, "STRAND_LLR=%g", pos1 / 1000.0 + 1);
    EXPECT_TRUE(info.ends_with(expected_llr)) << line;
  }
  if (have_bcftools()) {
    // Every record equals what bcftools makes of the input (htslib normalizes e.g. the
    // non-integer allalts=C to '.'), plus the new tag at the end of INFO.
    const auto r = test::run_command("bcftools view -H " + input);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    size_t i = 0;
    for (auto line : split(r.out, '\n')) {
      if (line.empty()) continue;
      ASSERT_LT(i, got.size());
      std::string with_tag;
      const auto cols = split(line, '\t');
      for (size_t c = 0; c < cols.size(); ++c) {
        if (c) with_tag += '\t';
        with_tag += std::string(cols[c]);
        if (c == 7)
          with_tag += got[i].substr(got[i].find(";STRAND_LLR="),
                                    got[i].find('\t', got[i].find(";STRAND_LLR=")) - got[i].find(";STRAND_LLR="));
      }
      EXPECT_EQ(got[i], with_tag);
      ++i;
    }
    EXPECT_EQ(i, got.size());
  }

  // The index written with the records knows contig q: query it.
  const std::vector<Region> regions = {Region{"q", 999, 2000}};
  const auto recs = read_back(out, &regions);
  ASSERT_EQ(recs.size(), 4u);  // bcftools view -H -r q:1000-2000 chr22_giab.vcf.gz | wc -l
  EXPECT_EQ(recs[0].pos1, 1008);
  ASSERT_EQ(recs[0].llr.size(), 1u);
  EXPECT_NEAR(recs[0].llr[0], 2.008f, 1e-6);
  if (have_bcftools()) {
    const auto r = test::run_command("bcftools view -H -r q:1000-2000 " + out + " | cut -f2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "1008\n1817\n1820\n1917\n");
  }
}

TEST(VcfWriter, UndeclaredContigCannotGoToBcf) {
  const std::string input = test::fixture("vcf/chr22_giab.vcf").string();
  test::TempDir dir;
  const std::string out = (dir / "out.bcf").string();
  try {
    score_file(input, out, {VcfFormat::kBcf, IndexKind::kNone});
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cannot write BCF '" + out + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("is not declared in the input's header"), std::string::npos) << msg;
  }
  EXPECT_TRUE(dir.list().empty());  // without commit, nothing is left
}

TEST(VcfWriter, IndexesAreUsable) {
  const std::string input = test::fixture("vcf/chr22_giab.bcf").string();
  const std::vector<Region> regions = {Region{"q", 1817, 5009}};       // q:1818-5009
  const std::vector<int64_t> expected_pos = {1820, 1917, 4449, 5009};  // bcftools view -H -r q:1818-5009
  for (const auto& [spec, name, suffix] : std::vector<std::tuple<WriteSpec, std::string, std::string>>{
           {{VcfFormat::kVcfGz, IndexKind::kCsi}, "out.vcf.gz", ".csi"},
           {{VcfFormat::kVcfGz, IndexKind::kTbi}, "out.vcf.gz", ".tbi"},
           {{VcfFormat::kBcf, IndexKind::kCsi}, "out.bcf", ".csi"}}) {
    SCOPED_TRACE(name + suffix);
    test::TempDir dir;
    const std::string out = (dir / name).string();
    score_file(input, out, spec);
    EXPECT_EQ(dir.list(), (std::vector<std::string>{name, name + suffix}));
    std::vector<int64_t> pos;
    for (const auto& r : read_back(out, &regions)) pos.push_back(r.pos1);
    EXPECT_EQ(pos, expected_pos);
    if (have_bcftools()) {
      const auto r = test::run_command("bcftools view -H -r q:1818-5009 " + out + " | cut -f2");
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, "1820\n1917\n4449\n5009\n");
    }
  }
}

TEST(VcfWriter, NoCommitLeavesNothing) {
  test::TempDir dir;
  try {
    VcfReader reader(test::fixture("vcf/chr22_giab.bcf").string());
    AtomicOutput out((dir / "out.vcf.gz").string());
    VcfWriter writer(out, reader.header(), {VcfFormat::kVcfGz, IndexKind::kCsi, 0});
    writer.write_header();
    Bcf1Ptr rec(bcf_init());
    ASSERT_TRUE(reader.next(rec.get()));
    writer.write(rec.get());
    fail("simulated failure");
  } catch (const Error&) {
  }
  EXPECT_TRUE(dir.list().empty());
}

TEST(VcfWriter, ReplacingAnInfoDefinition) {
  // DPSum is Integer in the input; redefining it as Float replaces the line (with a warning).
  test::TempDir dir;
  const std::string out = (dir / "out.vcf").string();
  {
    VcfReader reader(test::fixture("vcf/chr22_giab.bcf").string());
    AtomicOutput output(out);
    VcfWriter writer(output, reader.header(), {});
    writer.add_info_float("DPSum", "A", "replaced");
    writer.write_header();
    Bcf1Ptr rec(bcf_init());
    while (reader.next(rec.get())) {
      const std::vector<float> v = {0.25f};
      writer.set_info_floats(rec.get(), "DPSum", v);
      writer.write(rec.get());
    }
    writer.close();
    output.commit();
  }
  const std::string text = test::read_file(out);
  EXPECT_NE(text.find("##INFO=<ID=DPSum,Number=A,Type=Float,Description=\"replaced\">"), std::string::npos);
  EXPECT_EQ(text.find("ID=DPSum,Number=1,Type=Integer"), std::string::npos);
  const std::string body = text.substr(text.find("\nq\t") + 1);
  const std::string first(split(body, '\n')[0]);
  EXPECT_EQ(split(first, '\t')[7].substr(0, 11), "DPSum=0.25;");
}

TEST(VcfWriterErrors, IndexNeedsACompressedFile) {
  VcfReader reader(test::fixture("vcf/chr22_giab.bcf").string());
  test::TempDir dir;
  auto error = [&](const std::string& path, VcfFormat format, IndexKind index) -> std::string {
    try {
      AtomicOutput out(path);
      VcfWriter writer(out, reader.header(), {format, index, 0});
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(error("-", VcfFormat::kVcfGz, IndexKind::kCsi),
            "cannot index standard output: write to a file (-o) to use -W");
  const std::string plain = (dir / "x.vcf").string();
  EXPECT_EQ(error(plain, VcfFormat::kVcf, IndexKind::kCsi),
            "cannot index '" + plain + "': only compressed output (-O z or -O b) can be indexed");
  const std::string ubcf = (dir / "x.bcf").string();
  EXPECT_EQ(error(ubcf, VcfFormat::kBcfUncompressed, IndexKind::kCsi),
            "cannot index '" + ubcf + "': only compressed output (-O z or -O b) can be indexed");
  EXPECT_EQ(error(ubcf, VcfFormat::kBcf, IndexKind::kTbi),
            "cannot write a .tbi index for BCF '" + ubcf + "': BCF takes a .csi index");
  EXPECT_TRUE(dir.list().empty());
}

TEST(VcfWriterErrors, BadHeaderLines) {
  VcfReader reader(test::fixture("vcf/chr22_giab.bcf").string());
  test::TempDir dir;
  AtomicOutput out((dir / "x.vcf").string());
  VcfWriter writer(out, reader.header(), {});
  EXPECT_THROW(writer.add_header_line("strandVersion=1"), Error);
  EXPECT_THROW(writer.add_header_line("##a=1\n##b=2"), Error);
  EXPECT_THROW(writer.add_info_float("1bad", "A", "x"), Error);
  EXPECT_THROW(writer.add_info_float("OK", "Q", "x"), Error);
}

}  // namespace
}  // namespace strand::genomics
