// strand score as a VCF-in, VCF-out tool (DESIGN.md, "Variant scoring rules" and "Command-line
// conventions"), end to end through run_score and the strand binary: every record passed
// through untouched and in order, the header it adds, every -O type readable by bcftools,
// -W indexes, -r on an indexed input, --scores, standard input/output, --window limits, and
// bad inputs failing with a message that names the culprit and leaving no output behind.
// The scores themselves are checked against the independent implementation in score_test.cpp.
// bcftools (when installed) is the independent reader of the outputs.
#include "pipelines/score.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/text.h"
#include "genomics/fasta_index.h"
#include "genomics/region.h"
#include "tests/test_support.h"

namespace strand::pipelines {
namespace {

namespace fs = std::filesystem;

const fs::path kScoreData = test::source_dir() / "data" / "score";
const fs::path kVcfData = test::source_dir() / "data" / "vcf";
const std::string kRef = (kScoreData / "ref.fa").string();
const std::string kVariants = (kScoreData / "variants.vcf").string();
const std::string kVariantsGz = (kScoreData / "variants.vcf.gz").string();
const std::string kGiab = (kVcfData / "chr22_giab.vcf").string();

std::string model_dir(const std::string& name) { return (test::source_dir() / "data" / "golden" / name).string(); }

// The tiny PS model with a 64-base window: fast, and every rule of the fixture is in reach.
ScoreOptions options(const std::string& input, const std::string& out, OutputType type = OutputType::kPlain) {
  ScoreOptions o;
  o.model = model_dir("ps");
  o.fasta_ref = kRef;
  o.input = input;
  o.output.path = out;
  o.output.type = type;
  o.window = 64;
  o.compute.threads = 2;
  o.check_ref = CheckRef::kExclude;
  o.command_line = "strand score (score_io_test)";
  return o;
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

bool have_bcftools() {
  static const bool have = test::run_command("bcftools --version").exit_code == 0;
  return have;
}
#define REQUIRE_BCFTOOLS()                        \
  do {                                            \
    if (!have_bcftools()) {                       \
      GTEST_SKIP() << "bcftools is not installed"; \
    }                                             \
  } while (0)

// Runs a shell command that must succeed; returns its stdout.
std::string sh(const std::string& command) {
  const test::CommandResult r = test::run_command(command);
  EXPECT_EQ(r.exit_code, 0) << command << "\nstderr: " << r.err;
  return r.out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  for (const std::string_view f : split(line, '\t')) out.emplace_back(f);
  return out;
}

bool contains(const std::string& text, std::string_view what) { return text.find(what) != std::string::npos; }

std::string info_without_tags(const std::string& info);

// The records of a VCF/BCF as bcftools prints them, with (optionally) the STRAND_ tags removed
// (here rather than with bcftools annotate -x, which refuses records on undeclared contigs).
std::string body(const std::string& path, bool strip_tags = false, const std::string& view_args = "") {
  const std::string text = sh("bcftools view -H " + view_args + " " + quote(path) + " 2>/dev/null");
  if (!strip_tags) return text;
  std::string out;
  for (const std::string& line : lines(text)) {
    std::vector<std::string> f = fields(line);
    if (f.size() > 7) f[7] = info_without_tags(f[7]);
    for (size_t i = 0; i < f.size(); ++i) out += (i > 0 ? "\t" : "") + f[i];
    out += '\n';
  }
  return out;
}

// The header lines of a plain or bgzip VCF.
std::vector<std::string> text_header(const std::string& path) {
  std::vector<std::string> out;
  for (const std::string& line : lines(test::read_maybe_gzip(path)))
    if (line.starts_with("#")) out.push_back(line);
  return out;
}

std::vector<std::string> text_records(const std::string& path) {
  std::vector<std::string> out;
  for (const std::string& line : lines(test::read_maybe_gzip(path)))
    if (!line.empty() && !line.starts_with("#")) out.push_back(line);
  return out;
}

// The header line starting with `prefix`, or "".
std::string header_line(const std::vector<std::string>& header, std::string_view prefix) {
  for (const std::string& line : header)
    if (line.starts_with(prefix)) return line;
  return "";
}

// INFO with the STRAND_ tags taken out ("." when nothing else is left).
std::string info_without_tags(const std::string& info) {
  std::string out;
  for (const std::string_view kv : split(info, ';')) {
    if (kv.starts_with("STRAND_LLR=") || kv.starts_with("STRAND_EDIST=")) continue;
    if (!out.empty()) out += ';';
    out += kv;
  }
  return out.empty() ? "." : out;
}

std::string info_value(const std::string& info, std::string_view tag) {
  for (const std::string_view kv : split(info, ';'))
    if (kv.starts_with(std::string(tag) + "=")) return std::string(kv.substr(tag.size() + 1));
  return "";
}

uint64_t count(const ScoreSummary& s, SkipReason r) { return s.skipped[static_cast<size_t>(r)]; }

std::string sha256_of(const std::string& path) {
  const test::CommandResult r = test::run_command("sha256sum " + quote(path));
  if (r.exit_code != 0) return "";
  return r.out.substr(0, 64);
}

test::CommandResult strand_cli(const std::string& args, std::string_view stdin_data = {}) {
  return test::run_command(quote(test::strand_binary().string()) + " " + args, stdin_data);
}

// A CLI failure: status 1, an [E::strand] line naming every one of `what`, nothing on stdout.
void expect_cli_error(const test::CommandResult& r, const std::vector<std::string>& what, const std::string& args) {
  EXPECT_EQ(r.exit_code, 1) << args << "\nstderr: " << r.err;
  EXPECT_TRUE(contains(r.err, "[E::strand] ")) << args << "\nstderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << args << "\nstdout: " << r.out.substr(0, 500);
  for (const auto& w : what) EXPECT_TRUE(contains(r.err, w)) << args << ": no '" << w << "' in: " << r.err;
}

// ---- pass-through and header ----------------------------------------------------------------

// Every record comes out in input order with its fields as written; only INFO gains the tags.
// (Fields that htslib itself rewrites while parsing, such as a String value in an INFO tag
// declared Integer, change as they do in bcftools: `compare_info` false skips INFO.)
void expect_pass_through(const std::string& input, const std::string& out, bool compare_info = true) {
  const std::vector<std::string> in_records = text_records(input), out_records = text_records(out);
  ASSERT_EQ(out_records.size(), in_records.size()) << input;
  for (size_t i = 0; i < in_records.size(); ++i) {
    const std::vector<std::string> a = fields(in_records[i]), b = fields(out_records[i]);
    ASSERT_EQ(a.size(), b.size()) << "record " << i << "\nin:  " << in_records[i] << "\nout: " << out_records[i];
    for (size_t c = 0; c < a.size(); ++c) {
      if (c == 7) {
        if (compare_info) {
          EXPECT_EQ(info_without_tags(b[c]), a[c]) << "record " << i << " INFO";
        }
      } else {
        EXPECT_EQ(b[c], a[c]) << "record " << i << " column " << c + 1;
      }
    }
  }
}

TEST(ScoreIo, EveryRecordIsPassedThroughInOrderWithItsFieldsUntouched) {
  test::TempDir tmp;
  const std::string out = (tmp / "out.vcf").string();
  const ScoreSummary s = run_score(options(kVariants, out));
  EXPECT_EQ(s.records, 34u);
  expect_pass_through(kVariants, out);
  // Records with ALT get one value per ALT for each tag; the record without ALT gets none.
  for (const std::string& line : text_records(out)) {
    const std::vector<std::string> f = fields(line);
    const size_t alts = f[4] == "." ? 0 : split(f[4], ',').size();
    if (alts == 0) {
      EXPECT_EQ(f[7], ".") << line;
      continue;
    }
    for (const char* tag : {"STRAND_LLR", "STRAND_EDIST"}) {
      const std::string v = info_value(f[7], tag);
      ASSERT_FALSE(v.empty()) << tag << " missing: " << line;
      // All-missing is written as one '.', otherwise one value per ALT.
      if (v != ".") {
        EXPECT_EQ(split(v, ',').size(), alts) << tag << ": " << line;
      }
    }
  }
  EXPECT_EQ(tmp.list(), std::vector<std::string>{"out.vcf"});  // no temporary left behind
}

TEST(ScoreIo, PassThroughAsSeenByBcftools) {
  REQUIRE_BCFTOOLS();
  test::TempDir tmp;
  // chr22_giab.bcf: the GIAB records with their contig and INFO tag declared (BCF needs them).
  const std::string giab_bcf = (kVcfData / "chr22_giab.bcf").string();
  for (const std::string& input : {kVariants, kVariantsGz, kGiab, giab_bcf}) {
    const std::string want = body(input);
    ASSERT_FALSE(want.empty()) << input;
    const std::string out = (tmp / "out.vcf").string();
    run_score(options(input, out));
    EXPECT_EQ(body(out, /*strip_tags=*/true), want) << input;
    if (input == kGiab) continue;  // undeclared contig/tag: BCF cannot be written (next test)
    const std::string bcf = (tmp / "out.bcf").string();
    run_score(options(input, bcf, OutputType::kBcf));
    EXPECT_EQ(body(bcf, /*strip_tags=*/true), want) << input << " as BCF";
  }
}

// A VCF whose records use a contig or tag its header does not declare can be written as VCF
// (as bcftools does) but not as BCF: a clear error naming the tag, and no output left.
TEST(ScoreIo, BcfOutputOfUndeclaredTagsIsAClearError) {
  test::TempDir tmp;
  for (const OutputType type : {OutputType::kBcf, OutputType::kBcfUncompressed}) {
    ScoreOptions o = options(kGiab, (tmp / "out.bcf").string(), type);
    test::expect_error([&] { run_score(o); }, {"out.bcf", "PLNCIIonWG", "not declared"});
    EXPECT_TRUE(tmp.list().empty());
  }
}

// chr22_giab.vcf: 10 columns with a sample, a contig and an INFO tag the header does not
// declare (htslib adds them, as bcftools does), REF checked against ref.fa's copy of q.
TEST(ScoreIo, GiabRecordsWithSamplesAndUndeclaredTagsPassThrough) {
  test::TempDir tmp;
  const std::string out = (tmp / "giab.vcf").string();
  const ScoreSummary s = run_score(options(kGiab, out));
  EXPECT_EQ(s.records, 14u);
  EXPECT_EQ(s.alleles, 14u);
  EXPECT_EQ(s.llr_values, 14u);  // every GIAB record is an SNV matching the reference
  EXPECT_EQ(s.edist_values, 14u);
  EXPECT_EQ(count(s, SkipReason::kRefMismatch), 0u);
  // INFO/allalts is declared Integer but holds bases: htslib (and so bcftools) reads '.'.
  expect_pass_through(kGiab, out, /*compare_info=*/false);
  const std::vector<std::string> in = text_header(kGiab), header = text_header(out);
  for (const std::string& line : in)
    EXPECT_NE(std::find(header.begin(), header.end(), line), header.end()) << "input header line lost: " << line;
  EXPECT_EQ(header.back(), header_line(in, "#CHROM"));
  EXPECT_TRUE(header.back().ends_with("\tFORMAT\tNA12878")) << header.back();
}

TEST(ScoreIo, HeaderKeepsTheInputAndAddsTagsAndProvenance) {
  test::TempDir tmp;
  const std::string out = (tmp / "out.vcf").string();
  ScoreOptions o = options(kVariants, out);
  run_score(o);
  const std::vector<std::string> in = text_header(kVariants), header = text_header(out);
  for (const std::string& line : in)
    EXPECT_NE(std::find(header.begin(), header.end(), line), header.end()) << "input header line lost: " << line;
  EXPECT_EQ(header.front(), "##fileformat=VCFv4.2");
  EXPECT_EQ(header.back(), in.back());  // #CHROM line
  // htslib declares the PASS filter, as bcftools's outputs do.
  EXPECT_EQ(header_line(header, "##FILTER=<ID=PASS,"), "##FILTER=<ID=PASS,Description=\"All filters passed\">");

  const std::string llr = header_line(header, "##INFO=<ID=STRAND_LLR,");
  const std::string edist = header_line(header, "##INFO=<ID=STRAND_EDIST,");
  for (const std::string& line : {llr, edist}) {
    ASSERT_FALSE(line.empty());
    EXPECT_TRUE(contains(line, "Number=A")) << line;
    EXPECT_TRUE(contains(line, "Type=Float")) << line;
    EXPECT_TRUE(contains(line, "Description=\"")) << line;
    EXPECT_TRUE(contains(line, o.model)) << "description names the model: " << line;
    EXPECT_TRUE(contains(line, "64 bp")) << "description names the window: " << line;
  }
  EXPECT_TRUE(contains(llr, "both strands")) << llr;
  EXPECT_TRUE(contains(llr, "masked")) << llr;

  EXPECT_TRUE(header_line(header, "##strandVersion=").size() > std::string("##strandVersion=").size());
  EXPECT_EQ(header_line(header, "##strandCommand="), "##strandCommand=" + o.command_line);
  EXPECT_EQ(header_line(header, "##strandModel="), "##strandModel=" + o.model);
  const std::string sha = header_line(header, "##strandModelSHA256=");
  ASSERT_EQ(sha.size(), std::string("##strandModelSHA256=").size() + 64) << sha;
  const std::string want_sha = sha256_of(o.model + "/model.safetensors");
  if (!want_sha.empty()) {
    EXPECT_EQ(sha, "##strandModelSHA256=" + want_sha);
  }
  EXPECT_EQ(header_line(header, "##strandScoreWindow="), "##strandScoreWindow=64");
  EXPECT_EQ(header_line(header, "##strandScoreMode="), "##strandScoreMode=masked-LM SNV LLR, both strands");
  // Nothing else: the input lines, PASS, the two ##INFO lines and the six ##strand lines.
  EXPECT_EQ(header.size(), in.size() + 1 + 2 + 6);
}

TEST(ScoreIo, HeaderNamesTheCausalModeTheForwardStrandAndTheDefaultWindow) {
  test::TempDir tmp;
  ScoreOptions o = options(kVariants, (tmp / "m.vcf").string());
  o.model = model_dir("mamba");
  o.both_strands = false;
  o.regions = genomics::parse_region_list("tiny");
  o.input = kVariantsGz;
  o.window = 0;  // the model sets none: kDefaultScoreWindow
  run_score(o);
  const std::vector<std::string> header = text_header(o.output.path);
  EXPECT_EQ(header_line(header, "##strandScoreWindow="), cat("##strandScoreWindow=", kDefaultScoreWindow));
  EXPECT_EQ(header_line(header, "##strandScoreMode="), "##strandScoreMode=causal window LLR, forward strand");
  const std::string llr = header_line(header, "##INFO=<ID=STRAND_LLR,");
  EXPECT_TRUE(contains(llr, "causal")) << llr;
  EXPECT_TRUE(contains(llr, "forward strand only")) << llr;
  EXPECT_TRUE(contains(llr, cat(kDefaultScoreWindow, " bp"))) << llr;
}

TEST(ScoreIo, NoVersionDropsTheVersionAndCommandLinesOnly) {
  test::TempDir tmp;
  ScoreOptions o = options(kVariants, (tmp / "out.vcf").string());
  o.write_provenance = false;
  run_score(o);
  const std::vector<std::string> header = text_header(o.output.path);
  EXPECT_EQ(header_line(header, "##strandVersion"), "");
  EXPECT_EQ(header_line(header, "##strandCommand"), "");
  EXPECT_NE(header_line(header, "##strandModel="), "");
  EXPECT_NE(header_line(header, "##strandModelSHA256="), "");
  EXPECT_NE(header_line(header, "##strandScoreWindow="), "");
  EXPECT_NE(header_line(header, "##strandScoreMode="), "");
  EXPECT_NE(header_line(header, "##INFO=<ID=STRAND_LLR,"), "");
  EXPECT_EQ(header.size(), text_header(kVariants).size() + 1 + 2 + 4);
}

// Scoring an already scored VCF (with another model) replaces the values and the tag
// descriptions: the records are those of scoring the original.
TEST(ScoreIo, RescoringAScoredVcfReplacesItsValues) {
  test::TempDir tmp;
  run_score(options(kVariants, (tmp / "ps.vcf").string()));
  ScoreOptions again = options((tmp / "ps.vcf").string(), (tmp / "again.vcf").string());
  again.model = model_dir("mamba");
  run_score(again);
  ScoreOptions fresh = options(kVariants, (tmp / "fresh.vcf").string());
  fresh.model = model_dir("mamba");
  run_score(fresh);
  EXPECT_EQ(text_records(again.output.path), text_records(fresh.output.path));
  const std::vector<std::string> header = text_header(again.output.path);
  EXPECT_EQ(std::count_if(header.begin(), header.end(),
                          [](const std::string& l) { return l.starts_with("##INFO=<ID=STRAND_LLR,"); }),
            1);
  EXPECT_TRUE(contains(header_line(header, "##INFO=<ID=STRAND_LLR,"), "causal model")) << "the new description";
}

// Re-scoring a scored VCF: the ##strandModel / ##strandModelSHA256 / ##strandScore* lines describe
// only the new run (the old ones are replaced), while ##strandCommand keeps the history.
TEST(ScoreIo, RescoringLeavesOneSetOfModelLines) {
  test::TempDir tmp;
  run_score(options(kVariants, (tmp / "ps.vcf").string()));
  ScoreOptions again = options((tmp / "ps.vcf").string(), (tmp / "again.vcf").string());
  again.model = model_dir("mamba");
  again.window = 51;
  run_score(again);
  const std::vector<std::string> header = text_header(again.output.path);
  for (const char* key : {"##strandModel=", "##strandModelSHA256=", "##strandScoreWindow=", "##strandScoreMode="})
    EXPECT_EQ(std::count_if(header.begin(), header.end(), [&](const std::string& l) { return l.starts_with(key); }), 1)
        << key;
  EXPECT_EQ(header_line(header, "##strandModel="), "##strandModel=" + again.model);
  EXPECT_EQ(header_line(header, "##strandScoreWindow="), "##strandScoreWindow=51");
}

// ---- output types and indexes ---------------------------------------------------------------

TEST(ScoreIo, BcftoolsReadsEveryOutputType) {
  REQUIRE_BCFTOOLS();
  test::TempDir tmp;
  const std::string plain = (tmp / "out.vcf").string();
  run_score(options(kVariants, plain));
  const std::string want = body(plain);
  ASSERT_EQ(lines(want).size(), 34u);
  struct Case {
    OutputType type;
    const char* name;
  };
  for (const Case& c : {Case{OutputType::kBgzf, "out.vcf.gz"}, Case{OutputType::kBcf, "out.bcf"},
                        Case{OutputType::kBcfUncompressed, "out.u.bcf"}}) {
    const std::string out = (tmp / c.name).string();
    run_score(options(kVariants, out, c.type));
    EXPECT_EQ(body(out), want) << c.name;
    EXPECT_EQ(sh("bcftools view -h " + quote(out) + " | grep -c '^##strand'"), "6\n") << c.name;
    const std::string raw = test::read_file(out), inflated = test::read_maybe_gzip(out);
    switch (c.type) {
      case OutputType::kBgzf:
        EXPECT_EQ(raw.substr(0, 4), std::string("\x1f\x8b\x08\x04", 4)) << "BGZF (gzip with the extra field)";
        EXPECT_TRUE(inflated.starts_with("##fileformat=VCFv4.2\n"));
        break;
      case OutputType::kBcf:
        EXPECT_EQ(raw.substr(0, 4), std::string("\x1f\x8b\x08\x04", 4));
        EXPECT_TRUE(inflated.starts_with("BCF\x02")) << "compressed BCF";
        break;
      default:
        EXPECT_TRUE(raw.starts_with("BCF\x02")) << "uncompressed BCF";
        break;
    }
  }
  EXPECT_EQ(tmp.list(), (std::vector<std::string>{"out.bcf", "out.u.bcf", "out.vcf", "out.vcf.gz"}));
}

// The index written with -W answers region queries like one bcftools builds.
TEST(ScoreIo, WriteIndexGivesAValidIndexForEachKind) {
  REQUIRE_BCFTOOLS();
  const std::string region = "q:1000-2000,tiny";
  const std::string want = sh("bcftools view -H -r " + region + " " + quote(kVariantsGz) + " | cut -f1-7");
  ASSERT_EQ(lines(want).size(), 6u) << want;  // POS 1000, 1008, 1817, 1820, 1917 and tiny
  struct Case {
    OutputType type;
    genomics::IndexKind index;
    const char* name;
    const char* index_name;
  };
  for (const Case& c : {Case{OutputType::kBgzf, genomics::IndexKind::kCsi, "out.vcf.gz", "out.vcf.gz.csi"},
                        Case{OutputType::kBgzf, genomics::IndexKind::kTbi, "out.vcf.gz", "out.vcf.gz.tbi"},
                        Case{OutputType::kBcf, genomics::IndexKind::kCsi, "out.bcf", "out.bcf.csi"}}) {
    test::TempDir tmp;
    const std::string out = (tmp / c.name).string();
    ScoreOptions o = options(kVariants, out, c.type);
    o.output.index = c.index;
    run_score(o);
    EXPECT_EQ(tmp.list(), (std::vector<std::string>{c.name, c.index_name})) << c.index_name;
    EXPECT_EQ(sh("bcftools index -n " + quote(out)), "34\n") << c.index_name;
    EXPECT_EQ(sh("bcftools view -H -r " + region + " " + quote(out) + " | cut -f1-7"), want) << c.index_name;
    // The scored records come back with their tags.
    EXPECT_EQ(sh("bcftools view -H -r tiny " + quote(out) + " | grep -c STRAND_LLR="), "1\n") << c.index_name;
  }
}

// ---- regions ---------------------------------------------------------------------------------

// (Regions listed in file order: bcftools writes contigs in the order -r lists them, strand in
// file order (VcfReader::set_regions); and "q:30" is one position for bcftools but "from 30 to
// the end" for strand (samtools' reading, genomics/region.cpp), so single positions are
// written "q:30-30" here.)
TEST(ScoreIo, RegionsOfAnIndexedInputGiveTheRecordsBcftoolsGives) {
  REQUIRE_BCFTOOLS();
  // q:501-501 lies inside the 4-base REF of POS 500 (del4to1): the record comes with it.
  for (const std::string region :
       {"q:1000-2000,tiny", "q:501-501", "q:12350-12356,nrun", "q:30-30", "q:12000-", "absent", "q:2-2,q:1-1"}) {
    test::TempDir tmp;
    const std::string out = (tmp / "out.vcf").string();
    ScoreOptions o = options(kVariantsGz, out);
    o.regions = genomics::parse_region_list(region);
    const ScoreSummary s = run_score(o);
    const std::string want = body(kVariantsGz, false, "-r " + region);
    EXPECT_EQ(body(out, /*strip_tags=*/true), want) << region;
    EXPECT_EQ(s.records, lines(want).size()) << region;
  }
}

// Whatever order -r lists them in, records come out contig by contig in file order, once each.
TEST(ScoreIo, RegionsComeOutInFileOrder) {
  test::TempDir tmp;
  ScoreOptions o = options(kVariantsGz, (tmp / "out.vcf").string());
  o.regions = genomics::parse_region_list("tiny,nrun:500-600,q:12000-12356,q:12350-12356");
  const ScoreSummary s = run_score(o);
  std::vector<std::string> got;
  for (const std::string& line : text_records(o.output.path)) {
    const std::vector<std::string> f = fields(line);
    got.push_back(f[0] + ":" + f[1]);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"q:12125", "q:12350", "q:12356", "nrun:520", "tiny:20"}));
  EXPECT_EQ(s.records, got.size());
}

TEST(ScoreIo, DefaultBatchIs32OnTheCpuAndFillsAGpuPassByRows) {
  ScoreOptions o;
  EXPECT_EQ(o.batch_for(1024), kDefaultScoreBatch);
  EXPECT_EQ(o.batch_for(131072), kDefaultScoreBatch);
  o.compute.device = kernels::parse_device_spec("cuda:0");
  EXPECT_EQ(o.batch_for(1024), 256);
  EXPECT_EQ(o.batch_for(4096), 64);
  EXPECT_EQ(o.batch_for(131072), 2);
  EXPECT_EQ(o.batch_for(1 << 20), 1);  // one window longer than the row budget still runs
  EXPECT_EQ(o.batch_for(100), kMaxGpuScoreBatch);
  o.batch = 7;  // an explicit --batch wins on either device
  EXPECT_EQ(o.batch_for(1024), 7);
  o.compute.device = kernels::DeviceSpec{};
  EXPECT_EQ(o.batch_for(1024), 7);
  o.batch = -1;
  o.input = "in.vcf";
  o.fasta_ref = "ref.fa";
  EXPECT_THROW(o.validate(), Error);
}

TEST(ScoreIo, RegionsNeedAnIndexedInput) {
  test::TempDir tmp;
  ScoreOptions o = options(kVariants, (tmp / "out.vcf").string());
  o.regions = genomics::parse_region_list("q:1-100");
  test::expect_error([&] { run_score(o); }, {"variants.vcf"});
  EXPECT_TRUE(tmp.list().empty());
  o.input.assign(1, '-');  // stdin
  test::expect_error([&] { run_score(o); }, {"-r/-R", "standard input"});
}

// ---- --scores -------------------------------------------------------------------------------

TEST(ScoreIo, ScoresSelectsTheTags) {
  test::TempDir tmp;
  ScoreOptions both = options(kVariants, (tmp / "both.vcf").string());
  const ScoreSummary all = run_score(both);
  const std::vector<std::string> all_records = text_records(both.output.path);

  ScoreOptions llr = options(kVariants, (tmp / "llr.vcf").string());
  llr.edist = false;
  const ScoreSummary sl = run_score(llr);
  ScoreOptions edist = options(kVariants, (tmp / "edist.vcf").string());
  edist.llr = false;
  const ScoreSummary se = run_score(edist);

  EXPECT_EQ(sl.llr_values, all.llr_values);
  EXPECT_EQ(sl.edist_values, 0u);
  EXPECT_EQ(se.llr_values, 0u);
  EXPECT_EQ(se.edist_values, all.edist_values);
  // Without LLR, "not an SNV" and friends are not reasons to skip anything.
  EXPECT_EQ(count(all, SkipReason::kNotSnv), 4u);
  EXPECT_EQ(count(se, SkipReason::kNotSnv), 0u);
  EXPECT_EQ(count(se, SkipReason::kAltNotAcgt), 0u);
  EXPECT_EQ(count(se, SkipReason::kRefNotAcgt), 0u);
  EXPECT_EQ(count(se, SkipReason::kNone), se.edist_values);
  EXPECT_EQ(count(sl, SkipReason::kNone), sl.llr_values);

  const auto check = [&](const ScoreOptions& o, const char* present, const char* absent) {
    const std::vector<std::string> header = text_header(o.output.path);
    EXPECT_NE(header_line(header, cat("##INFO=<ID=", present, ",")), "") << o.output.path;
    EXPECT_EQ(header_line(header, cat("##INFO=<ID=", absent, ",")), "") << o.output.path;
    const std::vector<std::string> records = text_records(o.output.path);
    ASSERT_EQ(records.size(), all_records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      const std::string info = fields(records[i])[7], full = fields(all_records[i])[7];
      EXPECT_EQ(info_value(info, absent), "") << records[i];
      // The same values as when both are computed.
      EXPECT_EQ(info_value(info, present), info_value(full, present)) << records[i];
    }
  };
  check(llr, "STRAND_LLR", "STRAND_EDIST");
  check(edist, "STRAND_EDIST", "STRAND_LLR");

  ScoreOptions none = options(kVariants, (tmp / "none.vcf").string());
  none.llr = none.edist = false;
  test::expect_error([&] { run_score(none); }, {"--scores"});
}

TEST(ScoreIo, CliScoresOptionIsChecked) {
  test::TempDir tmp;
  const std::string base = "score -q -f " + quote(kRef) + " -m " + quote(model_dir("ps")) + " --window 64 -o " +
                           quote((tmp / "out.vcf").string()) + " " + quote(kVariants);
  for (const char* bad : {"foo", "llr,foo", "llr,", "LLR"}) {
    const std::string args = base + " --scores '" + bad + "'";
    expect_cli_error(strand_cli(args), {"--scores", bad}, args);
  }
  EXPECT_TRUE(tmp.list().empty());
  const test::CommandResult r = strand_cli(base + " --scores edist");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string header = test::read_file(tmp / "out.vcf");
  EXPECT_TRUE(contains(header, "##INFO=<ID=STRAND_EDIST,"));
  EXPECT_FALSE(contains(header, "STRAND_LLR"));
}

// ---- standard input and output --------------------------------------------------------------

TEST(ScoreIo, StdinAndStdoutThroughTheCli) {
  test::TempDir tmp;
  // The same run through the API, for comparison (no version/command lines: they differ).
  ScoreOptions o = options(kVariants, (tmp / "api.vcf").string());
  o.write_provenance = false;
  run_score(o);
  const std::string want = test::read_file(o.output.path);

  const std::string common =
      "score --no-version --check-ref x --threads 2 -f " + quote(kRef) + " -m " + quote(o.model) + " --window 64";
  // stdin -> file
  const test::CommandResult to_file =
      strand_cli(common + " -o " + quote((tmp / "cli.vcf").string()) + " -", test::read_file(kVariants));
  ASSERT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_TRUE(to_file.out.empty()) << "data goes to -o, nothing to stdout";
  EXPECT_TRUE(contains(to_file.err, "[M::score] 34 records, 36 ALT alleles")) << "the summary goes to stderr: "
                                                                                << to_file.err;
  EXPECT_EQ(test::read_file(tmp / "cli.vcf"), want);
  // stdin -> stdout
  const test::CommandResult to_stdout = strand_cli(common + " -", test::read_file(kVariants));
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(to_stdout.out, want);
  // A pipe from another program, as in the --help example.
  const test::CommandResult piped = test::run_command("cat " + quote(kVariants) + " | " +
                                                      quote(test::strand_binary().string()) + " " + common + " -q -");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, want);
  EXPECT_TRUE(piped.err.empty()) << "-q: " << piped.err;
  // A bgzipped VCF on stdin.
  const test::CommandResult gz = strand_cli(common + " -", test::read_file(kVariantsGz));
  ASSERT_EQ(gz.exit_code, 0) << gz.err;
  EXPECT_EQ(gz.out, want);
  EXPECT_EQ(tmp.list(), (std::vector<std::string>{"api.vcf", "cli.vcf"}));
}

TEST(ScoreIo, CliWritesTheCommandLineItWasGiven) {
  test::TempDir tmp;
  const std::string out = (tmp / "out.vcf.gz").string();
  const std::string args = "score -q -f " + quote(kRef) + " -m " + quote(model_dir("ps")) +
                           " --window 64 -Oz -W -o " + quote(out) + " " + quote(kVariants);
  const test::CommandResult r = strand_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(tmp.list(), (std::vector<std::string>{"out.vcf.gz", "out.vcf.gz.csi"}));
  const std::string command = header_line(text_header(out), "##strandCommand=");
  EXPECT_TRUE(contains(command, "score")) << command;
  EXPECT_TRUE(contains(command, "--window 64")) << command;
  EXPECT_TRUE(contains(command, "variants.vcf")) << command;
}

// ---- --check-ref ----------------------------------------------------------------------------

TEST(ScoreIo, CheckRefErrorNamesTheRecordAndLeavesNoOutput) {
  test::TempDir tmp;
  for (const OutputType type : {OutputType::kPlain, OutputType::kBgzf}) {
    ScoreOptions o = options(kVariants, (tmp / (type == OutputType::kPlain ? "out.vcf" : "out.vcf.gz")).string(), type);
    o.check_ref = CheckRef::kError;
    if (type == OutputType::kBgzf) o.output.index = genomics::IndexKind::kCsi;
    test::expect_error([&] { run_score(o); }, {"variants.vcf", "q:9500", "REF G", "ref.fa", "the reference has T"});
    EXPECT_TRUE(tmp.list().empty()) << "left behind: " << (tmp.list().empty() ? "" : tmp.list()[0]);
  }
}

TEST(ScoreIo, CheckRefThroughTheCli) {
  test::TempDir tmp;
  const std::string out = (tmp / "out.vcf").string();
  const std::string base = "score -f " + quote(kRef) + " -m " + quote(model_dir("ps")) + " --window 64 -o " +
                           quote(out) + " " + quote(kVariants);
  const std::string e = base + " --check-ref e";
  expect_cli_error(strand_cli(e), {"q:9500", "variants.vcf"}, e);
  EXPECT_TRUE(tmp.list().empty());
  // w (default): a warning naming the record, the record written with '.'.
  const test::CommandResult w = strand_cli(base);
  ASSERT_EQ(w.exit_code, 0) << w.err;
  EXPECT_TRUE(contains(w.err, "[W::score]")) << w.err;
  EXPECT_TRUE(contains(w.err, "q:9500")) << w.err;
  EXPECT_TRUE(contains(w.err, "1 REF mismatch")) << "counted in the summary: " << w.err;
  bool found = false;
  for (const std::string& line : text_records(out))
    if (line.starts_with("q\t9500\t")) {
      found = true;
      EXPECT_TRUE(contains(line, "STRAND_LLR=.;STRAND_EDIST=.")) << line;
    }
  EXPECT_TRUE(found);
  // x: no warning, still counted.
  const test::CommandResult x = strand_cli(base + " --check-ref x");
  ASSERT_EQ(x.exit_code, 0) << x.err;
  EXPECT_FALSE(contains(x.err, "[W::score]")) << x.err;
  EXPECT_TRUE(contains(x.err, "1 REF mismatch")) << x.err;
}

// ---- bad inputs ------------------------------------------------------------------------------

const char* const kSmallHeader =
    "##fileformat=VCFv4.2\n##contig=<ID=q,length=12356>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

TEST(ScoreIo, MalformedRecordsAreErrorsNamingTheFileAndLeaveNoOutput) {
  struct Case {
    const char* what;
    std::string body;
    std::vector<std::string> message;
  };
  const std::vector<Case> cases = {
      {"non-numeric POS", "q\t186\t.\tT\tC\t.\t.\t.\nq\tabc\t.\tT\tC\t.\t.\t.\n", {"bad.vcf", "POS 'abc'"}},
      {"truncated line", "q\t186\t.\tT\tC\t.\t.\t.\nq\t1008\t.\tC\n", {"bad.vcf", "4 tab-separated columns"}},
  };
  for (const Case& c : cases) {
    test::TempDir tmp;
    test::write_file(tmp / "bad.vcf", std::string(kSmallHeader) + c.body);
    ScoreOptions o = options((tmp / "bad.vcf").string(), (tmp / "out.vcf").string());
    const std::string msg = test::error_message([&] { run_score(o); });
    ASSERT_FALSE(msg.empty()) << c.what << ": no error";
    for (const auto& part : c.message) EXPECT_TRUE(contains(msg, part)) << c.what << ": " << msg;
    EXPECT_TRUE(contains(msg, "record 2") || contains(msg, "q:186")) << c.what << " names the record: " << msg;
    EXPECT_EQ(tmp.list(), std::vector<std::string>{"bad.vcf"}) << c.what;
  }
}

TEST(ScoreIo, MalformedRecordThroughTheCli) {
  test::TempDir tmp;
  test::write_file(tmp / "bad.vcf", std::string(kSmallHeader) + "q\t186\t.\tT\tC\t.\t.\t.\nq\tabc\t.\tT\tC\t.\t.\t.\n");
  const std::string args = "score -f " + quote(kRef) + " -m " + quote(model_dir("ps")) + " --window 64 -o " +
                           quote((tmp / "out.vcf").string()) + " " + quote((tmp / "bad.vcf").string());
  expect_cli_error(strand_cli(args), {"bad.vcf", "record 2", "q:186", "abc"}, args);
  EXPECT_EQ(tmp.list(), std::vector<std::string>{"bad.vcf"});
}

// A bad record after enough good ones that several chunks were already written: the partly
// written output is removed all the same.
TEST(ScoreIo, AnErrorAfterRecordsWereWrittenLeavesNoOutput) {
  test::TempDir tmp;
  genomics::IndexedFasta fasta(kRef);
  std::string q;
  fasta.fetch(genomics::Region{"q", 0, 12356}, q);
  std::string vcf = kSmallHeader;
  for (int pos = 100; pos < 300; ++pos) {
    const char ref = q[static_cast<size_t>(pos - 1)];
    vcf += cat("q\t", pos, "\t.\t", ref, "\t", ref == 'A' ? 'C' : 'A', "\t.\t.\t.\n");
  }
  vcf += "q\tx301\t.\tA\tC\t.\t.\t.\n";
  test::write_file(tmp / "late.vcf", vcf);
  for (const OutputType type : {OutputType::kPlain, OutputType::kBcf}) {
    ScoreOptions o =
        options((tmp / "late.vcf").string(), (tmp / (type == OutputType::kBcf ? "out.bcf" : "out.vcf")).string(), type);
    o.batch = 1;  // chunks of 16 records
    o.compute.threads = 1;
    const std::string msg = test::error_message([&] { run_score(o); });
    EXPECT_TRUE(contains(msg, "late.vcf")) << msg;
    EXPECT_EQ(tmp.list(), std::vector<std::string>{"late.vcf"});
  }
}

TEST(ScoreIo, ReferenceProblemsAreErrorsNamingTheFile) {
  // bgzip reference with its .gzi but no .fai
  {
    test::TempDir tmp;
    fs::copy_file(test::fixture("fasta/lambda.fa.gz"), tmp / "lambda.fa.gz");
    fs::copy_file(test::fixture("fasta/lambda.fa.gz.gzi"), tmp / "lambda.fa.gz.gzi");
    test::write_file(tmp / "in.vcf",
                     "##fileformat=VCFv4.2\n##contig=<ID=gi|9626243|ref|NC_001416.1|,length=48502>\n"
                     "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                     "gi|9626243|ref|NC_001416.1|\t100\t.\tA\tC\t.\t.\t.\n");
    ScoreOptions o = options((tmp / "in.vcf").string(), (tmp / "out.vcf").string());
    o.fasta_ref = (tmp / "lambda.fa.gz").string();
    test::expect_error([&] { run_score(o); }, {"lambda.fa.gz", ".fai", "samtools faidx"});
    EXPECT_EQ(tmp.list(), (std::vector<std::string>{"in.vcf", "lambda.fa.gz", "lambda.fa.gz.gzi"}));
    // ... and with neither index
    fs::remove(tmp / "lambda.fa.gz.gzi");
    test::expect_error([&] { run_score(o); }, {"lambda.fa.gz", "index", "samtools faidx"});
    EXPECT_EQ(tmp.list(), (std::vector<std::string>{"in.vcf", "lambda.fa.gz"}));
  }
  // plain reference without .fai
  {
    test::TempDir tmp;
    fs::copy_file(kRef, tmp / "ref.fa");
    ScoreOptions o = options(kVariants, (tmp / "out.vcf").string());
    o.fasta_ref = (tmp / "ref.fa").string();
    test::expect_error([&] { run_score(o); }, {"ref.fa", ".fai", "samtools faidx"});
    EXPECT_EQ(tmp.list(), std::vector<std::string>{"ref.fa"});
  }
  // plain gzip (not bgzip) reference
  {
    test::TempDir tmp;
    fs::copy_file(test::fixture("fasta/lambda.gzip.fa.gz"), tmp / "lambda.gzip.fa.gz");
    ScoreOptions o = options(kVariants, (tmp / "out.vcf").string());
    o.fasta_ref = (tmp / "lambda.gzip.fa.gz").string();
    test::expect_error([&] { run_score(o); }, {"lambda.gzip.fa.gz"});
    EXPECT_EQ(tmp.list(), std::vector<std::string>{"lambda.gzip.fa.gz"});
  }
  // no such reference
  {
    test::TempDir tmp;
    ScoreOptions o = options(kVariants, (tmp / "out.vcf").string());
    o.fasta_ref = (tmp / "missing.fa").string();
    test::expect_error([&] { run_score(o); }, {"missing.fa"});
    EXPECT_TRUE(tmp.list().empty());
  }
}

TEST(ScoreIo, MissingInputsModelAndUnwritableOutputAreErrors) {
  test::TempDir tmp;
  {
    ScoreOptions o = options(kVariants, "/nonexistent-dir/out.vcf");
    test::expect_error([&] { run_score(o); }, {"/nonexistent-dir/out.vcf"});
  }
  {
    ScoreOptions o = options(kVariants, (tmp / "out.vcf").string());
    o.model = (tmp / "no-such-model").string();
    test::expect_error([&] { run_score(o); }, {"no-such-model"});
  }
  {
    ScoreOptions o = options((tmp / "missing.vcf").string(), (tmp / "out.vcf").string());
    test::expect_error([&] { run_score(o); }, {"missing.vcf"});
  }
  {
    test::write_file(tmp / "not.vcf", "this is not a VCF\n");
    ScoreOptions o = options((tmp / "not.vcf").string(), (tmp / "out.vcf").string());
    test::expect_error([&] { run_score(o); }, {"not.vcf"});
  }
  EXPECT_EQ(tmp.list(), std::vector<std::string>{"not.vcf"});
  // The same through the CLI: status 1, [E::strand] naming the file.
  const std::string base = "score -f " + quote(kRef) + " --window 64 ";
  const std::string unwritable = base + "-m " + quote(model_dir("ps")) + " -o /nonexistent-dir/out.vcf " + quote(kVariants);
  expect_cli_error(strand_cli(unwritable), {"/nonexistent-dir/out.vcf"}, unwritable);
  const std::string no_model = base + "-m " + quote((tmp / "no-such-model").string()) + " -o " +
                               quote((tmp / "out.vcf").string()) + " " + quote(kVariants);
  expect_cli_error(strand_cli(no_model), {"no-such-model"}, no_model);
  EXPECT_EQ(tmp.list(), std::vector<std::string>{"not.vcf"});
}

// No contig of the VCF is in the reference (not even with a "chr" prefix): not an error; every
// record is passed through with '.' and counted.
TEST(ScoreIo, ContigsAbsentFromTheReferenceGiveDotsAndAreCounted) {
  test::TempDir tmp;
  const std::string input = (kVcfData / "gpn_clinvar_common_200.vcf").string();
  const std::string out = (tmp / "out.vcf").string();
  const ScoreSummary s = run_score(options(input, out));
  EXPECT_EQ(s.records, 200u);
  EXPECT_EQ(s.alleles, 200u);
  EXPECT_EQ(count(s, SkipReason::kContigAbsent), 200u);
  EXPECT_EQ(count(s, SkipReason::kNone), 0u);
  EXPECT_EQ(s.llr_values, 0u);
  EXPECT_EQ(s.edist_values, 0u);
  EXPECT_EQ(s.windows, 0u);
  expect_pass_through(input, out);
  for (const std::string& line : text_records(out))
    EXPECT_EQ(fields(line)[7], "STRAND_LLR=.;STRAND_EDIST=.") << line;
  EXPECT_EQ(tmp.list(), std::vector<std::string>{"out.vcf"});
}

// A header without records: a header-only output, nothing scored.
TEST(ScoreIo, AVcfWithoutRecordsGivesAHeaderOnlyOutput) {
  test::TempDir tmp;
  test::write_file(tmp / "empty.vcf", kSmallHeader);
  ScoreOptions o = options((tmp / "empty.vcf").string(), (tmp / "out.vcf.gz").string(), OutputType::kBgzf);
  o.output.index = genomics::IndexKind::kCsi;
  const ScoreSummary s = run_score(o);
  EXPECT_EQ(s.records, 0u);
  EXPECT_EQ(s.windows, 0u);
  EXPECT_TRUE(text_records(o.output.path).empty());
  EXPECT_NE(header_line(text_header(o.output.path), "##INFO=<ID=STRAND_LLR,"), "");
  EXPECT_EQ(tmp.list(), (std::vector<std::string>{"empty.vcf", "out.vcf.gz", "out.vcf.gz.csi"}));
}

// A soft-masked (lower-case) reference reads the same bases: the same output.
TEST(ScoreIo, SoftMaskedReferenceGivesTheSameScores) {
  test::TempDir tmp;
  std::string lower;
  for (const std::string& line : lines(test::read_file(kRef))) {
    std::string l = line;
    if (!l.starts_with(">"))
      for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    lower += l + "\n";
  }
  test::write_file(tmp / "lower.fa", lower);
  fs::copy_file(kRef + ".fai", tmp / "lower.fa.fai");  // same layout
  ScoreOptions upper_run = options(kVariants, (tmp / "upper.vcf").string());
  ScoreOptions lower_run = options(kVariants, (tmp / "lower.vcf").string());
  lower_run.fasta_ref = (tmp / "lower.fa").string();
  const ScoreSummary a = run_score(upper_run), b = run_score(lower_run);
  EXPECT_EQ(text_records(upper_run.output.path), text_records(lower_run.output.path));
  EXPECT_EQ(a.skipped, b.skipped);
  EXPECT_EQ(a.llr_values, b.llr_values);
}

// REF running past the contig end, or starting past it: a REF mismatch ('.', counted), with
// --check-ref e an error naming the record.
TEST(ScoreIo, RecordsPastTheContigEndAreRefMismatches) {
  test::TempDir tmp;
  // q is 12,356 bp ending ...GGCCCCC: CCC at 12355 runs one base past the end.
  test::write_file(tmp / "past.vcf", std::string(kSmallHeader) +
                                         "q\t12355\tdel\tCCC\tC\t.\t.\t.\n"
                                         "q\t12356\tlast\tC\tT\t.\t.\t.\n"
                                         "q\t12357\tpast\tA\tG\t.\t.\t.\n");
  ScoreOptions o = options((tmp / "past.vcf").string(), (tmp / "out.vcf").string());
  const ScoreSummary s = run_score(o);
  EXPECT_EQ(s.records, 3u);
  EXPECT_EQ(count(s, SkipReason::kRefMismatch), 2u);
  EXPECT_EQ(s.llr_values, 1u);
  const std::vector<std::string> records = text_records(o.output.path);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(fields(records[0])[7], "STRAND_LLR=.;STRAND_EDIST=.");
  EXPECT_EQ(fields(records[2])[7], "STRAND_LLR=.;STRAND_EDIST=.");
  o.check_ref = CheckRef::kError;
  test::expect_error([&] { run_score(o); }, {"past.vcf", "q:12355", "runs past the end"});
}

// POS 0 (allowed by VCF 4.2 for telomeric events; htslib reads pos0 = -1) is a REF mismatch like
// a record past the contig end ('.' and counted; an error naming the record with --check-ref e),
// never a crash. Run through the CLI so that an abort could not take the test binary down.
TEST(ScoreIo, PosZeroIsARefMismatchNotACrash) {
  test::TempDir tmp;
  test::write_file(tmp / "pos0.vcf", std::string(kSmallHeader) + "q\t0\ttelomere\tA\tG\t.\t.\t.\n"
                                                                  "q\t186\t.\tT\tC\t.\t.\t.\n");
  const std::string base = "score -f " + quote(kRef) + " -m " + quote(model_dir("ps")) + " --window 64 -o " +
                           quote((tmp / "out.vcf").string()) + " " + quote((tmp / "pos0.vcf").string());
  const test::CommandResult x = strand_cli(base + " --check-ref x");
  EXPECT_EQ(x.exit_code, 0) << x.err;
  EXPECT_TRUE(contains(x.err, "1 REF mismatch")) << x.err;
  EXPECT_EQ(tmp.list(), (std::vector<std::string>{"out.vcf", "pos0.vcf"}));
  fs::remove(tmp / "out.vcf");
  const std::string e = base + " --check-ref e";
  expect_cli_error(strand_cli(e), {"pos0.vcf", "q:0"}, e);
  EXPECT_EQ(tmp.list(), std::vector<std::string>{"pos0.vcf"});
}

// ---- --window --------------------------------------------------------------------------------

// A window longer than every contig: each variant reads its whole contig. tiny (40 bp) is read
// whole at W = 64 as well, so its scores do not change.
TEST(ScoreIo, WindowLongerThanTheContigsUsesThemWhole) {
  test::TempDir tmp;
  const auto run = [&](int64_t window, const std::string& name) {
    ScoreOptions o = options(kVariantsGz, (tmp / name).string());
    o.regions = genomics::parse_region_list("tiny,nrun,q:1-40");
    o.window = window;
    const ScoreSummary s = run_score(o);
    EXPECT_EQ(s.records, 8u) << window;  // q POS 1, 2, 30, 30; nrun 3; tiny 1
    return text_records(o.output.path);
  };
  const std::vector<std::string> big = run(100000, "big.vcf"), small = run(64, "small.vcf");
  ASSERT_EQ(big.size(), small.size());
  EXPECT_EQ(header_line(text_header((tmp / "big.vcf").string()), "##strandScoreWindow="), "##strandScoreWindow=100000");
  for (size_t i = 0; i < big.size(); ++i) {
    if (big[i].starts_with("tiny\t")) {
      EXPECT_EQ(big[i], small[i]) << "tiny is read whole at both windows";
      EXPECT_TRUE(contains(big[i], "STRAND_LLR=")) << big[i];
      EXPECT_FALSE(contains(big[i], "STRAND_LLR=.")) << big[i];
    }
  }
}

TEST(ScoreIo, WindowOfTwoIsTheSmallestThatWorks) {
  test::TempDir tmp;
  for (const char* model : {"ps", "mamba"}) {
    ScoreOptions o = options(kVariants, (tmp / cat(model, ".vcf")).string());
    o.model = model_dir(model);
    o.window = 2;
    const ScoreSummary s = run_score(o);
    EXPECT_EQ(s.records, 34u) << model;
    EXPECT_GT(s.llr_values, 0u) << model;
    EXPECT_GT(s.edist_values, 0u) << model;
    // nrun POS 480 (REF N after 479 N): at W = 2 its window is N N, so both nrun records at
    // POS 100 and 480 are "window only N".
    EXPECT_EQ(count(s, SkipReason::kWindowAllN), 2u) << model;
    EXPECT_EQ(count(s, SkipReason::kRefNotAcgt), 0u) << model;
    EXPECT_EQ(header_line(text_header(o.output.path), "##strandScoreWindow="), "##strandScoreWindow=2");
    expect_pass_through(kVariants, o.output.path);
  }
}

TEST(ScoreIo, WindowOfOneIsAnError) {
  test::TempDir tmp;
  ScoreOptions o = options(kVariants, (tmp / "out.vcf").string());
  o.window = 1;
  test::expect_error([&] { run_score(o); }, {"--window", "1", ">= 2"});
  o.window = -5;
  test::expect_error([&] { run_score(o); }, {"--window", "-5"});
  EXPECT_TRUE(tmp.list().empty());
  const std::string base = "score -f " + quote(kRef) + " -m " + quote(model_dir("ps")) + " -o " +
                           quote((tmp / "out.vcf").string()) + " " + quote(kVariants) + " --window ";
  for (const char* bad : {"1", "-1", "x", "1.5"}) expect_cli_error(strand_cli(base + bad), {"--window"}, base + bad);
  EXPECT_TRUE(tmp.list().empty());
}

// An explicit "--window 0" is an error like --window 1 (inside ScoreOptions 0 means "not given":
// the model's default).
TEST(ScoreIo, ExplicitWindowZeroIsAnError) {
  test::TempDir tmp;
  const std::string args = "score -f " + quote(kRef) + " -m " + quote(model_dir("ps")) + " -o " +
                           quote((tmp / "out.vcf").string()) + " " + quote(kVariants) + " --window 0";
  expect_cli_error(strand_cli(args), {"--window", "0"}, args);
  EXPECT_TRUE(tmp.list().empty());
}

}  // namespace
}  // namespace strand::pipelines
