// Tests of genomics/genbank_reader: the real lambda record (data/annotation/lambda.gbk), the
// shared Leptospira (75 records) and Bradyrhizobium GenBank files when present, INSDC
// locations, and bad inputs. Expected numbers were counted with grep/awk on the files (see
// data/annotation/README.md).
#include "genomics/genbank_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "core/text.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

const Feature* find_id(const GenbankRecord& rec, std::string_view id) {
  for (const Feature& f : rec.features)
    if (f.id == id) return &f;
  return nullptr;
}

std::vector<GenbankRecord> parse_text(std::string_view text, const std::string& name = "mem.gbk") {
  GenbankParser parser(name);
  std::vector<GenbankRecord> out;
  for (std::string_view line : split(text, '\n'))
    if (parser.parse_line(line)) out.push_back(parser.take());
  parser.finish();
  return out;
}

std::string error_of(std::string_view text) {
  try {
    parse_text(text, "bad.gbk");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string location_error(std::string_view text, int64_t length) {
  try {
    parse_insdc_location(text, length);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

int64_t total_length(const Feature& f) {
  int64_t n = 0;
  for (const FeaturePart& p : f.parts) n += p.end0 - p.beg0;
  return n;
}

TEST(GenbankReader, LambdaRecord) {
  const auto records = read_genbank(test::fixture("annotation/lambda.gbk"));
  ASSERT_EQ(records.size(), 1u);
  const GenbankRecord& r = records[0];
  EXPECT_EQ(r.locus, "NC_001416");
  EXPECT_EQ(r.name, "NC_001416.1");
  EXPECT_EQ(r.definition, "Enterobacteria phage lambda, complete genome.");
  EXPECT_EQ(r.length, 48502);
  EXPECT_FALSE(r.circular);
  EXPECT_EQ(r.seq.size(), 48502u);
  EXPECT_EQ(r.seq.substr(0, 20), "gggcggcgacctcgcgggtt");
  EXPECT_EQ(r.seq.substr(48480), "tccggtgatccgacaggttacg");

  // grep -c '^     CDS ' = 73, 26 of them complement(); 92 genes; 285 feature keys.
  EXPECT_EQ(r.features.size(), 285u);
  size_t cds = 0, reverse_cds = 0, genes = 0;
  for (const Feature& f : r.features) {
    EXPECT_EQ(f.seqid, "NC_001416.1");
    EXPECT_EQ(f.source, "GenBank");
    EXPECT_GE(f.beg0(), 0);
    EXPECT_LE(f.end0(), r.length);
    genes += f.type == "gene";
    if (f.type != "CDS") continue;
    ++cds;
    reverse_cds += f.strand == Strand::kReverse;
    // No CDS of lambda is partial or joined: bases = 3 * (amino acids + stop codon).
    const std::string* aa = f.attribute("translation");
    ASSERT_NE(aa, nullptr) << f.id;
    EXPECT_EQ(aa->find(' '), std::string::npos) << f.id;
    EXPECT_EQ(total_length(f), 3 * (static_cast<int64_t>(aa->size()) + 1)) << f.id;
    EXPECT_EQ(f.phase, 0);
  }
  EXPECT_EQ(cds, 73u);
  EXPECT_EQ(reverse_cds, 26u);
  EXPECT_EQ(genes, 92u);

  // CDS 191..736 /locus_tag="lambdap01"
  const Feature* first = find_id(r, "lambdap01.CDS");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->parts, (std::vector<FeaturePart>{{190, 736}}));
  EXPECT_EQ(first->strand, Strand::kForward);
  EXPECT_EQ(first->parents, std::vector<std::string>{"lambdap01"});
  EXPECT_EQ(*first->attribute("product"), "DNA packaging protein");
  EXPECT_EQ(*first->attribute("codon_start"), "1");
  EXPECT_EQ(first->attribute("translation")->size(), 181u);
  EXPECT_EQ(first->attribute("translation")->substr(0, 50), "MEVNKKQLADIFGASIRTIQNWQEQGMPVLRGGGKGNEVLYDSAAVIKWY");
  EXPECT_EQ(first->attribute("translation")->substr(166), "ELIPGLLSEYIEQSG");
  const Feature* gene = find_id(r, "lambdap01");
  ASSERT_NE(gene, nullptr);
  EXPECT_EQ(gene->type, "gene");
  EXPECT_EQ(*gene->attribute("gene"), "nu1");

  // CDS complement(20147..20767) /locus_tag="lambdap90"; CDS 47738..47944 lambdap79.
  const Feature* rev = find_id(r, "lambdap90.CDS");
  ASSERT_NE(rev, nullptr);
  EXPECT_EQ(rev->parts, (std::vector<FeaturePart>{{20146, 20767}}));
  EXPECT_EQ(rev->strand, Strand::kReverse);
  EXPECT_EQ(*rev->attribute("product"), "hypothetical protein");
  const Feature* last = find_id(r, "lambdap79.CDS");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->parts, (std::vector<FeaturePart>{{47737, 47944}}));

  // mRNA complement(<23231..23231) lambdap30; gene complement(23231); variation 21737..>21737
  const Feature* mrna = find_id(r, "lambdap30.mRNA");
  ASSERT_NE(mrna, nullptr);
  EXPECT_EQ(mrna->parts, (std::vector<FeaturePart>{{23230, 23231, true, false}}));
  EXPECT_EQ(mrna->strand, Strand::kReverse);
  const Feature* single = find_id(r, "lambdap30");
  ASSERT_NE(single, nullptr);
  EXPECT_EQ(single->parts, (std::vector<FeaturePart>{{23230, 23231}}));
  const Feature* variation = find_id(r, "lambdap28.variation");  // /locus_tag="lambdap28"
  ASSERT_NE(variation, nullptr);
  EXPECT_EQ(variation->parts, (std::vector<FeaturePart>{{21736, 21737, false, true}}));
  EXPECT_EQ(*variation->attribute("note"), "b2 substitution terminating at the att site");
  // The 68 variation features without locus_tag get generated ids.
  EXPECT_NE(find_id(r, "NC_001416.1.variation.1"), nullptr);
}

TEST(GenbankReader, LambdaSequenceMatchesTheFasta) {
  STRAND_SHARED_DATA_OR_SKIP(fa, "bacteria/lambda/lambda_virus.fa.gz");
  const auto records = read_genbank(test::fixture("annotation/lambda.gbk"));
  const std::string text = test::read_maybe_gzip(fa);
  std::string fasta;
  for (std::string_view line : split(text, '\n'))
    if (!line.empty() && line[0] != '>') fasta += line;
  ASSERT_EQ(fasta.size(), 48502u);
  std::string gb = records.at(0).seq;
  for (char& c : gb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // Same molecule; cmp -l finds two bases that the GenBank record has as 'n' (1-based
  // 20661: FASTA A, 47317: FASTA T) and no other difference.
  std::vector<size_t> diffs;
  for (size_t i = 0; i < gb.size(); ++i)
    if (gb[i] != fasta[i]) diffs.push_back(i + 1);
  EXPECT_EQ(diffs, (std::vector<size_t>{20661, 47317}));
  EXPECT_EQ(gb[20660], 'N');
  EXPECT_EQ(fasta[20660], 'A');
  EXPECT_EQ(fasta[47316], 'T');
}

TEST(GenbankReader, LeptospiraStreamsAllRecords) {
  STRAND_SHARED_DATA_OR_SKIP(path, "bacteria/leptospira_kirschneri_H1/NZ_AHMY02_leptospira_kirschneri_H1.gbk.gz");
  GenbankReader reader(path.string());
  GenbankRecord rec;
  size_t records = 0, cds = 0, reverse_cds = 0;
  int64_t bases = 0;
  bool slippage_seen = false;
  while (reader.next(rec)) {
    ++records;
    bases += static_cast<int64_t>(rec.seq.size());
    EXPECT_EQ(static_cast<int64_t>(rec.seq.size()), rec.length);
    for (const Feature& f : rec.features) {
      if (f.type != "CDS") continue;
      ++cds;
      reverse_cds += f.strand == Strand::kReverse;
      for (const FeaturePart& p : f.parts) {
        EXPECT_GE(p.beg0, 0) << f.id;
        EXPECT_LT(p.beg0, p.end0) << f.id;
        EXPECT_LE(p.end0, rec.length) << f.id;
      }
      if (f.id == "LEP1GSC081_RS211755.CDS") {
        // complement(join(19440..20335,20335..20587)) in NZ_AHMY02000059.1 (188,921 bp)
        slippage_seen = true;
        EXPECT_EQ(rec.name, "NZ_AHMY02000059.1");
        EXPECT_EQ(rec.length, 188921);
        EXPECT_EQ(f.strand, Strand::kReverse);
        EXPECT_EQ(f.parts, (std::vector<FeaturePart>{{20334, 20587}, {19439, 20335}}));
        EXPECT_EQ(*f.attribute("inference"), "COORDINATES: similar to AA sequence:RefSeq:WP_077143899.1");
        EXPECT_EQ(*f.attribute("note"),
                  "programmed frameshift; Derived by automated computational analysis using gene prediction "
                  "method: Protein Homology.");
        ASSERT_NE(f.attribute("ribosomal_slippage"), nullptr);
        EXPECT_EQ(*f.attribute("ribosomal_slippage"), "");
        EXPECT_EQ(f.parents, std::vector<std::string>{"LEP1GSC081_RS211755"});
      }
    }
  }
  EXPECT_EQ(records, 75u);        // grep -c '^LOCUS'
  EXPECT_EQ(cds, 4162u);          // grep -c '^     CDS  '
  EXPECT_EQ(reverse_cds, 1937u);  // ... | grep -c complement
  EXPECT_EQ(bases, 4594734);      // sum of the LOCUS lengths
  EXPECT_TRUE(slippage_seen);
  EXPECT_FALSE(reader.next(rec));  // stays at the end
}

TEST(GenbankReader, BradyrhizobiumCircularChromosome) {
  STRAND_SHARED_DATA_OR_SKIP(path, "bacteria/bradyrhizobium_japonicum/NC_004463.gbk.gz");
  const auto records = read_genbank(path.string());
  ASSERT_EQ(records.size(), 1u);
  const GenbankRecord& r = records[0];
  EXPECT_EQ(r.name, "NC_004463.1");
  EXPECT_TRUE(r.circular);
  EXPECT_EQ(r.length, 9105828);
  size_t cds = 0, reverse_cds = 0;
  for (const Feature& f : r.features) {
    if (f.type != "CDS") continue;
    ++cds;
    reverse_cds += f.strand == Strand::kReverse;
    EXPECT_GE(f.beg0(), 0);
    EXPECT_LE(f.end0(), r.length);
  }
  EXPECT_EQ(cds, 8317u);          // grep -c '^     CDS  '
  EXPECT_EQ(reverse_cds, 4170u);  // ... | grep -c complement
}

constexpr std::string_view kMini =
    "LOCUS       TEST                  20 bp    DNA     circular SYN 01-JAN-2000\n"
    "DEFINITION  A made-up record\n"
    "            on two lines.\n"
    "ACCESSION   X00001\n"
    "FEATURES             Location/Qualifiers\n"
    "     CDS             join(15..20,\n"
    "                     1..3)\n"
    "                     /locus_tag=\"T1\"\n"
    "                     /codon_start=2\n"
    "                     /note=\"a \"\"quoted\"\"\n"
    "                     word\"\n"
    "                     /pseudo\n"
    "     misc_feature    order(2..4,complement(6..7))\n"
    "     misc_feature    remote.1:1..5\n"
    "ORIGIN\n"
    "        1 acgtacgtac gtacgtacgt\n"
    "//\n";

TEST(GenbankReader, SmallRecordQualifiersAndOrigin) {
  const auto recs = parse_text(kMini);
  ASSERT_EQ(recs.size(), 1u);
  const GenbankRecord& r = recs[0];
  EXPECT_EQ(r.name, "X00001");  // no VERSION: ACCESSION
  EXPECT_EQ(r.definition, "A made-up record on two lines.");
  EXPECT_TRUE(r.circular);
  EXPECT_EQ(r.seq, "acgtacgtacgtacgtacgt");
  ASSERT_EQ(r.features.size(), 2u);  // the remote one is skipped
  const Feature& cds = r.features[0];
  EXPECT_EQ(cds.id, "T1.CDS");
  EXPECT_TRUE(cds.parents.empty());                                    // no gene T1 in the record
  EXPECT_EQ(cds.parts, (std::vector<FeaturePart>{{14, 20}, {0, 3}}));  // across the origin
  EXPECT_EQ(cds.phase, 1);
  EXPECT_EQ(*cds.attribute("note"), "a \"quoted\" word");
  EXPECT_EQ(*cds.attribute("pseudo"), "");
  EXPECT_EQ(r.features[1].strand, Strand::kUnknown);
  EXPECT_EQ(r.features[1].id, "X00001.misc_feature.1");
}

TEST(GenbankReader, BlankContinuationLineIsIgnored) {
  // Found by fuzz_genbank: a FEATURES line of spaces only read one byte past the line.
  std::string text(kMini);
  text.insert(text.find("                     /pseudo"), std::string(30, ' ') + "\n");
  const auto recs = parse_text(text);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(*recs[0].features[0].attribute("pseudo"), "");
}

TEST(GenbankReader, InsdcLocations) {
  using P = std::vector<FeaturePart>;
  auto loc = parse_insdc_location("123", 200);
  EXPECT_EQ(loc.parts, (P{{122, 123}}));
  EXPECT_EQ(loc.strand, Strand::kForward);
  loc = parse_insdc_location("<1..>200", 200);
  EXPECT_EQ(loc.parts, (P{{0, 200, true, true}}));
  loc = parse_insdc_location("123^124", 200);  // the base left of the site
  EXPECT_EQ(loc.parts, (P{{122, 123}}));
  loc = parse_insdc_location("200^1", 200);  // between the last and the first base
  EXPECT_EQ(loc.parts, (P{{199, 200}}));
  loc = parse_insdc_location("complement(join(1..3,4..6))", 10);
  EXPECT_EQ(loc.parts, (P{{3, 6}, {0, 3}}));
  EXPECT_EQ(loc.strand, Strand::kReverse);
  loc = parse_insdc_location("join(complement(4..6),complement(1..3))", 10);
  EXPECT_EQ(loc.parts, (P{{3, 6}, {0, 3}}));
  EXPECT_EQ(loc.strand, Strand::kReverse);
  loc = parse_insdc_location("join(4000..4500, 1..200)", 4600);
  EXPECT_EQ(loc.parts, (P{{3999, 4500}, {0, 200}}));
  loc = parse_insdc_location("complement(complement(5..9))", 10);
  EXPECT_EQ(loc.strand, Strand::kForward);
  loc = parse_insdc_location("complement(<5..9)", 10);
  EXPECT_EQ(loc.parts, (P{{4, 9, true, false}}));

  EXPECT_NE(location_error("complement(1..", 100).find("malformed location 'complement(1..': expected a position"),
            std::string::npos);
  EXPECT_NE(location_error("1..300", 200).find("position 300 is past the end of the sequence (200 bp)"),
            std::string::npos);
  EXPECT_NE(location_error("50..10", 200).find("range 50..10 ends before it starts"), std::string::npos);
  EXPECT_NE(location_error("AB000001.1:1..10", 200).find("remote reference"), std::string::npos);
  EXPECT_NE(location_error("5^9", 200).find("not between two adjacent bases"), std::string::npos);
  EXPECT_NE(location_error("join(1..2", 200).find("expected ')', text ended"), std::string::npos);
  EXPECT_NE(location_error("0..5", 200).find("positions start at 1"), std::string::npos);
  EXPECT_NE(location_error("1..5)", 200).find("unexpected text after the location"), std::string::npos);
  EXPECT_NE(location_error("", 200).find("empty location"), std::string::npos);
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "complement(";
  deep += "1..2";
  EXPECT_NE(location_error(deep, 200).find("nested deeper than"), std::string::npos);
}

TEST(GenbankReader, BadInputsNameFileLineAndFault) {
  const std::string mini(kMini);
  auto replace = [&](std::string_view from, std::string_view to) {
    std::string s = mini;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    return s;
  };
  struct Case {
    std::string text, expected;
  };
  const std::vector<Case> cases = {
      {mini.substr(0, mini.size() - 3),
       // line 17: the empty string after the last '\n'
       "bad.gbk line 17: truncated GenBank file: record 'TEST' (LOCUS at line 1) has no '//' terminator"},
      {replace("gtacgtacgt\n", "gtacgtac\n"),
       "bad.gbk line 17: record 'TEST' (LOCUS at line 1) has 18 bases of sequence but its LOCUS line says 20 bp"},
      {replace("join(15..20,", "complement(1..      "), "bad.gbk line 6: CDS feature: malformed location"},
      {replace("join(15..20,", "join(15..21,"),
       "bad.gbk line 6: CDS feature: malformed location 'join(15..21,1..3)': position 21 is past the end of the "
       "sequence (20 bp)"},
      {replace("/codon_start=2", "/codon_start=4"), "bad.gbk line 6: CDS /codon_start must be 1, 2 or 3, found '4'"},
      {replace("        1 acgt", "       11 acgt"),
       "bad.gbk line 16: sequence line starts at position 11 but 0 bases were read before it"},
      {replace("acgtacgtac gt", "acgtacgtac g1"), "bad.gbk line 16: invalid character '1' in the sequence"},
      {replace("20 bp", "20 aa"), "bad.gbk line 1: LOCUS line of a protein record"},
      {replace("20 bp", "x20 bp"), "bad.gbk line 1: invalid LOCUS sequence length 'x20': not an integer"},
      {replace("                     word\"\n", ""),
       "bad.gbk line 12: unterminated quoted qualifier value in the CDS feature of line 6"},
      {"", "bad.gbk: no GenBank record (empty file or no LOCUS line)"},
      {"hello\n", "bad.gbk line 1: expected a LOCUS line to start a GenBank record, found 'hello'"},
      {mini + "LOCUS       T2   5 bp DNA\nORIGIN\n        1 acgt\n",
       "bad.gbk line 21: truncated GenBank file: record 'T2' (LOCUS at line 18) has no '//' terminator"},
      {replace("ORIGIN\n", "LOCUS       T3   5 bp\n"), "bad.gbk line 15: LOCUS line inside record 'TEST'"},
  };
  for (const Case& c : cases) {
    const std::string err = error_of(c.text);
    EXPECT_NE(err.find(c.expected), std::string::npos) << "expected: " << c.expected << "\nerror: " << err;
  }
}

TEST(GenbankReader, EmptyAndTruncatedFiles) {
  test::TempDir tmp;
  test::write_file(tmp / "empty.gbk", "");
  try {
    read_genbank((tmp / "empty.gbk").string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((tmp / "empty.gbk").string() + ": no GenBank record"), std::string::npos);
  }
  // The real lambda file cut before its "//" line (3,279 lines).
  const std::string full = test::read_file(test::fixture("annotation/lambda.gbk"));
  const size_t cut = full.rfind("//\n");
  ASSERT_NE(cut, std::string::npos);
  test::write_file(tmp / "cut.gbk", full.substr(0, cut));
  try {
    read_genbank((tmp / "cut.gbk").string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.gbk line 3278: truncated GenBank file: record 'NC_001416'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace strand::genomics
