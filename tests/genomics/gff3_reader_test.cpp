// Tests of genomics/gff3_reader: a real FlyBase GFF3 cut (data/annotation/README.md), the
// gffutils discontinuous-feature example, compressed input and every kind of bad line.
#include "genomics/gff3_reader.h"

#include <gtest/gtest.h>

#include <map>

#include "core/error.h"
#include "core/text.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

const Feature* find_id(const Gff3Document& doc, std::string_view id) {
  for (const Feature& f : doc.features)
    if (f.id == id) return &f;
  return nullptr;
}

Gff3Document parse_text(std::string_view text, const std::string& name = "mem.gff3") {
  Gff3Parser parser(name);
  for (std::string_view line : split(text, '\n')) parser.parse_line(line);
  return parser.finish();
}

// Parses `text` and returns the error message (empty when none was thrown).
std::string error_of(std::string_view text) {
  try {
    parse_text(text, "bad.gff3");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

constexpr std::string_view kHeader = "##gff-version 3\n";

// Constants counted with grep/awk on the fixture (see data/annotation/README.md).
constexpr size_t kDmelFeatures = 149;    // unique IDs before ##FASTA
constexpr size_t kDmelWithParent = 144;  // lines with Parent=, none of them multi-line
constexpr size_t kDmelReverseCds = 53;

TEST(Gff3Reader, FlyBaseCounts) {
  const Gff3Document doc = read_gff3(test::fixture("annotation/dmel_2L_flybase.gff3"));
  ASSERT_EQ(doc.features.size(), kDmelFeatures);
  ASSERT_EQ(doc.sequence_regions.size(), 1u);
  EXPECT_EQ(doc.sequence_regions[0], (ContigInfo{"2L", 23011546}));
  std::map<std::string, int> by_type;
  size_t with_parent = 0, reverse_cds = 0;
  for (const Feature& f : doc.features) {
    ++by_type[f.type];
    if (!f.parents.empty()) ++with_parent;
    if (f.type == "CDS" && f.strand == Strand::kReverse) ++reverse_cds;
    EXPECT_EQ(f.seqid, "2L");
  }
  const std::map<std::string, int> expected = {
      {"CDS", 59},  {"exon", 30}, {"five_prime_UTR", 28},    {"gene", 4},
      {"mRNA", 15}, {"ncRNA", 1}, {"orthologous_region", 1}, {"three_prime_UTR", 11}};
  EXPECT_EQ(by_type, expected);
  EXPECT_EQ(with_parent, kDmelWithParent);
  EXPECT_EQ(reverse_cds, kDmelReverseCds);
}

TEST(Gff3Reader, FlyBaseParentsPhasesAndValues) {
  const Gff3Document doc = read_gff3(test::fixture("annotation/dmel_2L_flybase.gff3"));
  // 2L FlyBase CDS 7680 8116 . + 0 ID=CDS_FBgn0031208:1_1189;...;Parent=FBtr0300689,FBtr0300690
  const Feature* cds = find_id(doc, "CDS_FBgn0031208:1_1189");
  ASSERT_NE(cds, nullptr);
  EXPECT_EQ(cds->type, "CDS");
  EXPECT_EQ(cds->source, "FlyBase");
  ASSERT_EQ(cds->parts.size(), 1u);
  EXPECT_EQ(cds->parts[0], (FeaturePart{7679, 8116}));
  EXPECT_EQ(cds->strand, Strand::kForward);
  EXPECT_EQ(cds->phase, 0);
  EXPECT_EQ(cds->parents, (std::vector<std::string>{"FBtr0300689", "FBtr0300690"}));
  ASSERT_NE(cds->attribute("Name"), nullptr);
  EXPECT_EQ(*cds->attribute("Name"), "CG11023-cds");
  EXPECT_EQ(cds->attribute("ID"), nullptr);  // ID lives in Feature::id

  // 2L FlyBase CDS 11310 11344 . - 2 ID=CDS_FBgn0002121:1_1297
  const Feature* rev = find_id(doc, "CDS_FBgn0002121:1_1297");
  ASSERT_NE(rev, nullptr);
  EXPECT_EQ(rev->strand, Strand::kReverse);
  EXPECT_EQ(rev->phase, 2);
  EXPECT_EQ(rev->beg0(), 11309);
  EXPECT_EQ(rev->end0(), 11344);

  // Every Parent resolves; the first exon of l(2)gl belongs to 11 transcripts.
  const Feature* exon = find_id(doc, "FBgn0002121:1");
  ASSERT_NE(exon, nullptr);
  EXPECT_EQ(exon->parents.size(), 11u);
  EXPECT_EQ(exon->parents.front(), "FBtr0078166");
  EXPECT_EQ(exon->parents.back(), "FBtr0330655");
  for (const Feature& f : doc.features)
    for (const std::string& p : f.parents) EXPECT_NE(find_id(doc, p), nullptr) << f.id << " -> " << p;

  // Multi-valued attributes: one pair per value, in order; spaces kept.
  const Feature* gene = find_id(doc, "FBgn0002121");
  ASSERT_NE(gene, nullptr);
  int aliases = 0;
  for (const auto& [k, v] : gene->attributes) aliases += k == "Alias";
  EXPECT_EQ(aliases, 34);
  EXPECT_EQ(*gene->attribute("Alias"), "Lgl");
  EXPECT_EQ(*gene->attribute("fullname"), "lethal (2) giant larvae");
  EXPECT_EQ(*gene->attribute("Name"), "l(2)gl");

  // %3B decoded inside one value of a multi-valued Dbxref.
  const Feature* ir21a = find_id(doc, "FBgn0031209");
  ASSERT_NE(ir21a, nullptr);
  bool found = false;
  for (const auto& [k, v] : ir21a->attributes)
    if (k == "Dbxref" && v == "FlyAtlas:Stencil:2L:25151:23928:GENSCAN;CG2657-RA") found = true;
  EXPECT_TRUE(found);
}

TEST(Gff3Reader, FlyBaseMultiLineFeatureAndFasta) {
  const Gff3Document doc = read_gff3(test::fixture("annotation/dmel_2L_flybase.gff3"));
  // Two lines share ID=ortho:5391 (orthologous_region 11218..15711, '-'): one feature.
  const Feature* ortho = find_id(doc, "ortho:5391");
  ASSERT_NE(ortho, nullptr);
  EXPECT_EQ(ortho->parts.size(), 2u);
  EXPECT_EQ(ortho->beg0(), 11217);
  EXPECT_EQ(ortho->end0(), 15711);
  // Nothing of the ##FASTA section (">chr2L" and bases) became a feature.
  for (const Feature& f : doc.features) EXPECT_NE(f.seqid, ">chr2L");
}

TEST(Gff3Reader, DiscontinuousFeatureOfGffutils) {
  // gffutils synthetic.gff3: ID=discontig1 on 5..15 and 20..30, 18 lines, 17 IDs, two seqids.
  const Gff3Document doc = read_gff3(test::fixture("annotation/gffutils_synthetic.gff3"));
  EXPECT_EQ(doc.features.size(), 17u);
  const Feature* f = find_id(doc, "discontig1");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->parts.size(), 2u);
  EXPECT_EQ(f->parts[0], (FeaturePart{4, 15}));
  EXPECT_EQ(f->parts[1], (FeaturePart{19, 30}));
  EXPECT_EQ(f->strand, Strand::kNone);
  EXPECT_EQ(find_id(doc, "different_seqid1")->seqid, "seq2");
  EXPECT_EQ(find_id(doc, "different_source1")->source, "synthetic2");
}

TEST(Gff3Reader, GzipAndBgzipGiveTheSameDocument) {
  const auto plain = read_gff3(test::fixture("annotation/dmel_2L_flybase.gff3"));
  test::TempDir tmp;
  const std::string src = test::fixture("annotation/dmel_2L_flybase.gff3").string();
  for (const char* tool : {"gzip", "bgzip"}) {
    const auto path = tmp / (std::string(tool) + ".gff3.gz");
    const auto r = test::run_command(std::string(tool) + " -c '" + src + "' > '" + path.string() + "'");
    if (r.exit_code != 0) GTEST_SKIP() << tool << " not available: " << r.err;
    const auto doc = read_gff3(path.string());
    ASSERT_EQ(doc.features.size(), plain.features.size()) << tool;
    for (size_t i = 0; i < doc.features.size(); ++i) {
      EXPECT_EQ(doc.features[i].id, plain.features[i].id);
      EXPECT_EQ(doc.features[i].parts, plain.features[i].parts);
      EXPECT_EQ(doc.features[i].attributes, plain.features[i].attributes);
    }
  }
}

TEST(Gff3Reader, ReverseMultiPartCdsInTranscriptionOrder) {
  // Parts given in coordinate order; on '-' the transcription order is right to left and the
  // feature's phase is that of the rightmost part.
  const Gff3Document doc = parse_text(std::string(kHeader) +
                                      "c1\tx\tgene\t1\t100\t.\t-\t.\tID=g1\n"
                                      "c1\tx\tCDS\t10\t20\t.\t-\t1\tID=cds1;Parent=g1\n"
                                      "c1\tx\tCDS\t40\t60\t.\t-\t0\tID=cds1;Parent=g1\n"
                                      "c1\tx\tCDS\t30\t35\t.\t-\t2\tID=cds1;Parent=g1\n"
                                      "###\n"
                                      "c1\tx\tsite\t5\t5\t0.5\t?\t.\tNote=a%2Cb,c%25;start_range=.,5\n");
  ASSERT_EQ(doc.features.size(), 3u);
  const Feature& cds = doc.features[1];
  ASSERT_EQ(cds.parts.size(), 3u);
  EXPECT_EQ(cds.parts[0].beg0, 39);
  EXPECT_EQ(cds.parts[1].beg0, 29);
  EXPECT_EQ(cds.parts[2].beg0, 9);
  EXPECT_EQ(cds.phase, 0);
  EXPECT_EQ(cds.parents, std::vector<std::string>{"g1"});
  const Feature& site = doc.features[2];
  EXPECT_EQ(site.strand, Strand::kUnknown);
  EXPECT_EQ(site.score, 0.5);
  EXPECT_TRUE(site.parts[0].partial_start);
  EXPECT_FALSE(site.parts[0].partial_end);
  // An escaped comma stays inside its value; the unescaped one separates values.
  ASSERT_EQ(site.attributes.size(), 2u);
  EXPECT_EQ(site.attributes[0], (std::pair<std::string, std::string>{"Note", "a,b"}));
  EXPECT_EQ(site.attributes[1], (std::pair<std::string, std::string>{"Note", "c%"}));
}

TEST(Gff3Reader, ToleratesMissingVersionLineCrLfAndImplicitFasta) {
  const Gff3Document doc = parse_text("c1\tx\tgene\t1\t10\t.\t+\t.\tID=a\r\n\n# comment\n>c1\nACGT\n");
  ASSERT_EQ(doc.features.size(), 1u);
  EXPECT_EQ(doc.features[0].id, "a");
}

TEST(Gff3Reader, BadInputsNameFileLineAndFault) {
  struct Case {
    std::string text;
    std::string expected;  // substring of the error
  };
  const std::string h(kHeader);
  static constexpr char kBinary[] = "\x1f\x8b\x08\x00\xff\x00\x01\x02\tgarbage\x7f";
  const std::vector<Case> cases = {
      {h + "c1\tx\tgene\t1\t10\t.\t+\tID=a\n", "bad.gff3 line 2: expected 9 tab-separated columns, found 8"},
      {h + "c1 x gene 1 10 . + . ID=a\n", "bad.gff3 line 2: expected 9 tab-separated columns, found 1"},
      {h + "\nc1\tx\tgene\t20\t10\t.\t+\t.\tID=a\n", "bad.gff3 line 3: start 20 is after end 10"},
      {h + "c1\tx\tgene\t0\t10\t.\t+\t.\tID=a\n", "bad.gff3 line 2: start 0 is below 1"},
      {h + "c1\tx\tgene\tone\t10\t.\t+\t.\tID=a\n", "bad.gff3 line 2: invalid start (column 4) 'one': not an integer"},
      {h + "c1\tx\tCDS\t1\t10\t.\t+\t3\tID=a\n", "bad.gff3 line 2: phase (column 8) must be 0, 1, 2 or '.', found '3'"},
      {h + "c1\tx\tCDS\t1\t10\t.\t+\t.\tID=a\n", "bad.gff3 line 2: a CDS needs a phase of 0, 1 or 2"},
      {h + "c1\tx\tgene\t1\t10\t.\tplus\t.\tID=a\n", "bad.gff3 line 2: strand (column 7) must be"},
      {h + "c1\tx\tgene\t1\t10\tnan\t+\t.\tID=a\n", "bad.gff3 line 2: score 'nan' is not a finite number"},
      {h + "c1\tx\tgene\t1\t10\thigh\t+\t.\tID=a\n", "bad.gff3 line 2: invalid score (column 6) 'high'"},
      {h + "c1\tx\tgene\t1\t10\t.\t+\t.\tID=a\nc1\tx\tmRNA\t1\t10\t.\t+\t.\tID=b;Parent=nope\n",
       "bad.gff3 line 3: Parent 'nope' names no feature ID in the file"},
      {h + "c1\tx\tgene\t1\t10\t.\t+\t.\tID=a;Note=50%G1\n",
       "bad.gff3 line 2: invalid %-escape in attribute 'Note' value '50%G1'"},
      {h + "c1\tx\tgene\t1\t10\t.\t+\t.\tID=a;Note=5%\n", "bad.gff3 line 2: invalid %-escape in attribute 'Note'"},
      {h + "c1\tx\tgene\t1\t10\t.\t+\t.\tID=a;flag\n", "bad.gff3 line 2: attribute 'flag' is not tag=value"},
      {h + "c1\tx\tCDS\t1\t10\t.\t+\t0\tID=a\nc1\tx\texon\t20\t30\t.\t+\t.\tID=a\n",
       "bad.gff3 line 3: feature ID 'a' has type 'exon' here but 'CDS' at line 2"},
      {h + "c1\tx\tCDS\t1\t10\t.\t+\t0\tID=a\nc1\tx\tCDS\t20\t30\t.\t-\t0\tID=a\n",
       "bad.gff3 line 3: feature ID 'a' has strand '-' here but '+' at line 2"},
      {h + "c1\tx\tCDS\t1\t10\t.\t+\t0\tID=a\nc2\tx\tCDS\t20\t30\t.\t+\t0\tID=a\n",
       "bad.gff3 line 3: feature ID 'a' is on seqid 'c2' here but on 'c1' at line 2"},
      {h + "##sequence-region c1 1 50\nc1\tx\tgene\t1\t60\t.\t+\t.\tID=a\n",
       "bad.gff3 line 3: end 60 is past the end of sequence-region 'c1' (50)"},
      {h + "##sequence-region c1 1\n", "bad.gff3 line 2: '##sequence-region' needs 3 fields"},
      {"##gff-version 2\nc1\tx\tgene\t1\t10\t.\t+\t.\tgene_id \"a\"\n",
       "bad.gff3 line 1: GFF version '2' is not supported: this reader reads GFF3 only"},
      {std::string(kBinary, sizeof kBinary - 1),
       "bad.gff3 line 1: expected 9 tab-separated columns, found 2: '\\x1f\\x8b\\x08\\x00\\xff"},
  };
  for (const Case& c : cases) {
    const std::string err = error_of(c.text);
    EXPECT_NE(err.find(c.expected), std::string::npos) << "input:\n" << c.text << "\nerror: " << err;
  }
}

TEST(Gff3Reader, BadFileNamesFileAndLine) {
  test::TempDir tmp;
  const auto path = tmp / "eight.gff3";
  test::write_file(path, "##gff-version 3\n##sequence-region c1 1 100\nc1\tx\tgene\t1\t10\t.\t+\t.\n");
  try {
    read_gff3(path.string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path.string() + " line 3: expected 9 tab-separated columns, found 8", 0), 0u)
        << e.what();
  }
  EXPECT_THROW(read_gff3((tmp / "missing.gff3").string()), Error);
}

}  // namespace
}  // namespace strand::genomics
