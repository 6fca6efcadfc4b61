// Tests of genomics/gff3_writer: exact lines of a reverse-strand multi-part CDS (coordinate
// order, per-part phases), escaping, round trips of the real FlyBase GFF3 and of the lambda
// GenBank record, validated by `gt gff3validator` (GenomeTools) when installed, bgzip output.
#include "genomics/gff3_writer.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/text.h"
#include "genomics/genbank_reader.h"
#include "genomics/gff3_reader.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

bool have_gt() {
  return test::run_command("gt -version").exit_code == 0;
}

void expect_valid_gff3(const test::fs::path& path) {
  if (!have_gt()) {
    GTEST_SKIP() << "gt (genometools) not installed";
  }
  const auto r = test::run_command("gt gff3validator '" + path.string() + "'");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("input is valid GFF3"), std::string::npos) << r.out << r.err;
}

std::string write_doc(const test::fs::path& path, const std::vector<ContigInfo>& contigs,
                      const std::vector<Feature>& features) {
  AtomicOutput out(path.string());
  Gff3Writer writer(out);
  writer.write_header(contigs, {"strand-version test", "strand-command strand annotate x"});
  for (const Feature& f : features) writer.write(f);
  writer.close();
  out.commit();
  return test::read_maybe_gzip(path);
}

Feature reverse_cds() {
  Feature f;
  f.seqid = "chr 1";
  f.source = "strand";
  f.type = "CDS";
  f.strand = Strand::kReverse;
  // Transcription order (right to left): 22 bases skipping 1, then 5, then 11.
  f.parts = {{39, 61}, {29, 34}, {9, 20}};
  f.phase = 1;
  f.score = 0.25;
  f.id = "cds1";
  f.parents = {"g1"};
  f.attributes = {{"Note", "a;b=c,d%e\tf"}, {"Dbxref", "x:1"}, {"pseudo", ""}, {"Dbxref", "y:2"}};
  return f;
}

TEST(Gff3Writer, ReverseMultiPartCdsLines) {
  // Phases: first part 1; 22-1 = 21 bases = 7 codons -> next 0; 5 bases -> 1 codon + 2 left
  // -> the last part needs 1 base to finish the codon -> phase 1.
  const std::string attrs = "ID=cds1;Parent=g1;Note=a%3Bb%3Dc%2Cd%25e%09f;Dbxref=x:1,y:2;pseudo=true";
  EXPECT_EQ(format_gff3(reverse_cds()), "chr%201\tstrand\tCDS\t10\t20\t0.25\t-\t1\t" + attrs +
                                            "\n"
                                            "chr%201\tstrand\tCDS\t30\t34\t0.25\t-\t0\t" +
                                            attrs +
                                            "\n"
                                            "chr%201\tstrand\tCDS\t40\t61\t0.25\t-\t1\t" +
                                            attrs);
}

TEST(Gff3Writer, NonCdsPartialAndEscape) {
  Feature f;
  f.seqid = "c1";
  f.type = "gene";
  f.strand = Strand::kForward;
  f.phase = 2;  // not a CDS: written as '.'
  f.parts = {{0, 10, true, false}, {20, 30, false, true}};
  EXPECT_EQ(format_gff3(f),
            "c1\t.\tgene\t1\t10\t.\t+\t.\tstart_range=.,1\nc1\t.\tgene\t21\t30\t.\t+\t.\tend_range=30,.");
  EXPECT_EQ(gff3_escape("a b;c=d&e,f%g\n\x01"), "a b%3Bc%3Dd%26e%2Cf%25g%0A%01");
}

TEST(Gff3Writer, RoundTripOfFlyBaseIsValidAndEqual) {
  const Gff3Document doc = read_gff3(test::fixture("annotation/dmel_2L_flybase.gff3"));
  test::TempDir tmp;
  const auto path = tmp / "dmel.gff3";
  const std::string text = write_doc(path, doc.sequence_regions, doc.features);
  EXPECT_EQ(text.rfind("##gff-version 3\n##sequence-region 2L 1 23011546\n#!strand-version test\n", 0), 0u);
  EXPECT_EQ(tmp.list(), std::vector<std::string>{"dmel.gff3"});  // no temporary left
  const Gff3Document back = read_gff3(path.string());
  ASSERT_EQ(back.features.size(), doc.features.size());
  for (size_t i = 0; i < doc.features.size(); ++i) {
    const Feature& a = doc.features[i];
    const Feature& b = back.features[i];
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.source, b.source);
    EXPECT_EQ(a.parts, b.parts) << a.id;
    EXPECT_EQ(a.strand, b.strand);
    EXPECT_EQ(a.phase, b.phase) << a.id;
    EXPECT_EQ(a.parents, b.parents);
    EXPECT_EQ(a.attributes, b.attributes) << a.id;
  }
  expect_valid_gff3(path);
}

TEST(Gff3Writer, LambdaGenbankToValidGff3) {
  const auto records = read_genbank(test::fixture("annotation/lambda.gbk"));
  ASSERT_EQ(records.size(), 1u);
  test::TempDir tmp;
  const auto path = tmp / "lambda.gff3";
  const std::string text = write_doc(path, {{records[0].name, records[0].length}}, records[0].features);
  size_t cds_lines = 0;
  for (std::string_view line : split(text, '\n')) cds_lines += line.find("\tCDS\t") != std::string_view::npos;
  EXPECT_EQ(cds_lines, 73u);
  EXPECT_NE(text.find("NC_001416.1\tGenBank\tCDS\t191\t736\t.\t+\t0\tID=lambdap01.CDS;Parent=lambdap01;gene=nu1;"),
            std::string::npos);
  EXPECT_NE(text.find("NC_001416.1\tGenBank\tCDS\t20147\t20767\t.\t-\t0\tID=lambdap90.CDS;Parent=lambdap90;"),
            std::string::npos);
  expect_valid_gff3(path);
}

TEST(Gff3Writer, BgzipWhenNameEndsInGz) {
  test::TempDir tmp;
  const auto path = tmp / "out.gff3.gz";
  Feature cds = reverse_cds();
  cds.parents.clear();  // the reader checks that parents exist
  const std::string text = write_doc(path, {{"chr 1", 100}}, {cds});
  const std::string raw = test::read_file(path);
  ASSERT_GE(raw.size(), 18u);
  EXPECT_EQ(raw.substr(0, 2), "\x1f\x8b");
  EXPECT_EQ(raw.substr(12, 2), "BC");  // the BGZF extra field
  EXPECT_EQ(text.rfind("##gff-version 3\n##sequence-region chr%201 1 100\n", 0), 0u);
  const Gff3Document back = read_gff3(path.string());
  ASSERT_EQ(back.features.size(), 1u);
  EXPECT_EQ(back.features[0].parts, cds.parts);
  EXPECT_EQ(back.features[0].seqid, "chr 1");
  // A valueless attribute comes back as "true" (GFF3 has no empty values).
  EXPECT_EQ(*back.features[0].attribute("pseudo"), "true");
  EXPECT_EQ(*back.features[0].attribute("Note"), "a;b=c,d%e\tf");
}

}  // namespace
}  // namespace strand::genomics
