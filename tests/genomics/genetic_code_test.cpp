// Tests of genomics/genetic_code: every NCBI table loads with its differences from the
// standard code, starts of tables 1 and 11, TGA = W in table 4, case/U/ambiguity handling, and
// the translation of a real protein (lambda's first CDS, nu1, from the shared GenBank file).
#include "genomics/genetic_code.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/error.h"
#include "genomics/genbank_reader.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

constexpr int kTables[] = {1,  2,  3,  4,  5,  6,  9,  10, 11, 12, 13, 14, 15, 16,
                           21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33};

std::string codon_text(int index) {
  static constexpr char kTcag[] = "TCAG";
  return {kTcag[index >> 4], kTcag[(index >> 2) & 3], kTcag[index & 3]};
}

std::set<std::string> starts_of(const GeneticCode& code) {
  std::set<std::string> out;
  for (int i = 0; i < 64; ++i)
    if (code.is_start(codon_text(i).c_str())) out.insert(codon_text(i));
  return out;
}

std::set<std::string> stops_of(const GeneticCode& code) {
  std::set<std::string> out;
  for (int i = 0; i < 64; ++i)
    if (code.is_stop(codon_text(i).c_str())) out.insert(codon_text(i));
  return out;
}

TEST(GeneticCode, EveryNcbiTableLoads) {
  for (int table : kTables) {
    const GeneticCode& code = GeneticCode::ncbi(table);
    EXPECT_EQ(code.id(), table);
    EXPECT_EQ(code.ncbieaa().size(), 64u) << table;
    EXPECT_EQ(code.sncbieaa().size(), 64u) << table;
    EXPECT_FALSE(code.name().empty()) << table;
    EXPECT_FALSE(starts_of(code).empty()) << table;
    // Every table keeps ATG as a start and TGG as tryptophan.
    EXPECT_TRUE(code.is_start("ATG")) << table;
    EXPECT_EQ(code.translate("TGG"), 'W') << table;
    EXPECT_EQ(&code, &GeneticCode::ncbi(table));  // one instance per table
  }
}

TEST(GeneticCode, UnknownTablesAreErrors) {
  for (int table : {0, 7, 8, 17, 18, 19, 20, 34, -1, 100}) {
    const std::string msg = test::error_message([&] { GeneticCode::ncbi(table); });
    EXPECT_NE(msg.find("genetic code " + std::to_string(table)), std::string::npos) << msg;
  }
}

TEST(GeneticCode, CodonIndexIsTcagOrder) {
  EXPECT_EQ(GeneticCode::codon_index("TTT"), 0);
  EXPECT_EQ(GeneticCode::codon_index("TCA"), 6);
  EXPECT_EQ(GeneticCode::codon_index("ATG"), 35);
  EXPECT_EQ(GeneticCode::codon_index("GGG"), 63);
  EXPECT_EQ(GeneticCode::codon_index("atg"), 35);
  EXPECT_EQ(GeneticCode::codon_index("AUG"), 35);
  EXPECT_EQ(GeneticCode::codon_index("ANG"), GeneticCode::kUnknownCodon);
  EXPECT_EQ(GeneticCode::codon_index("AT-"), GeneticCode::kUnknownCodon);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(GeneticCode::codon_index(codon_text(i).c_str()), i);
}

TEST(GeneticCode, StandardAndBacterialStartsAndStops) {
  const GeneticCode& t1 = GeneticCode::ncbi(1);
  const GeneticCode& t11 = GeneticCode::ncbi(11);
  EXPECT_EQ(starts_of(t1), (std::set<std::string>{"TTG", "CTG", "ATG"}));
  EXPECT_EQ(starts_of(t11), (std::set<std::string>{"TTG", "CTG", "ATT", "ATC", "ATA", "ATG", "GTG"}));
  EXPECT_EQ(stops_of(t1), (std::set<std::string>{"TAA", "TAG", "TGA"}));
  EXPECT_EQ(stops_of(t11), (std::set<std::string>{"TAA", "TAG", "TGA"}));
  // Table 11 translates exactly like table 1; only the starts differ.
  EXPECT_EQ(t1.ncbieaa(), t11.ncbieaa());
  EXPECT_FALSE(t1.is_start("GTG"));
  EXPECT_TRUE(t11.is_start("GTG"));
  EXPECT_EQ(t1.ncbieaa(), "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG");
}

TEST(GeneticCode, MycoplasmaTableReadsTgaAsTryptophan) {
  const GeneticCode& t4 = GeneticCode::ncbi(4);
  const GeneticCode& t11 = GeneticCode::ncbi(11);
  EXPECT_EQ(t4.translate("TGA"), 'W');
  EXPECT_FALSE(t4.is_stop("TGA"));
  EXPECT_EQ(t11.translate("TGA"), '*');
  EXPECT_TRUE(t11.is_stop("TGA"));
  EXPECT_EQ(stops_of(t4), (std::set<std::string>{"TAA", "TAG"}));
  EXPECT_EQ(starts_of(t4), (std::set<std::string>{"TTA", "TTG", "CTG", "ATT", "ATC", "ATA", "ATG", "GTG"}));
  EXPECT_EQ(t4.translate("ATGTGATAA", true), "MW*");
  EXPECT_EQ(t11.translate("ATGTGATAA", true), "M**");
}

TEST(GeneticCode, TableSpecificCodons) {
  EXPECT_EQ(GeneticCode::ncbi(2).translate("AGA"), '*');
  EXPECT_EQ(GeneticCode::ncbi(2).translate("ATA"), 'M');
  EXPECT_EQ(stops_of(GeneticCode::ncbi(2)), (std::set<std::string>{"TAA", "TAG", "AGA", "AGG"}));
  EXPECT_EQ(GeneticCode::ncbi(3).translate("CTG"), 'T');
  EXPECT_EQ(GeneticCode::ncbi(6).translate("TAA"), 'Q');
  EXPECT_EQ(GeneticCode::ncbi(9).translate("AAA"), 'N');
  EXPECT_EQ(GeneticCode::ncbi(10).translate("TGA"), 'C');
  EXPECT_EQ(GeneticCode::ncbi(12).translate("CTG"), 'S');
  EXPECT_EQ(GeneticCode::ncbi(13).translate("AGA"), 'G');
  EXPECT_EQ(GeneticCode::ncbi(14).translate("TAA"), 'Y');
  EXPECT_EQ(GeneticCode::ncbi(15).translate("TAG"), 'Q');
  EXPECT_EQ(GeneticCode::ncbi(16).translate("TAG"), 'L');
  EXPECT_EQ(GeneticCode::ncbi(22).translate("TCA"), '*');
  EXPECT_EQ(GeneticCode::ncbi(23).translate("TTA"), '*');
  EXPECT_EQ(GeneticCode::ncbi(24).translate("AGG"), 'K');
  EXPECT_EQ(GeneticCode::ncbi(25).translate("TGA"), 'G');
  EXPECT_EQ(GeneticCode::ncbi(26).translate("CTG"), 'A');
  EXPECT_EQ(GeneticCode::ncbi(29).translate("TAG"), 'Y');
  EXPECT_EQ(GeneticCode::ncbi(30).translate("TAA"), 'E');
  EXPECT_EQ(GeneticCode::ncbi(31).translate("TGA"), 'W');
  EXPECT_EQ(GeneticCode::ncbi(32).translate("TAG"), 'W');
  EXPECT_EQ(GeneticCode::ncbi(33).translate("TAA"), 'Y');
  EXPECT_EQ(GeneticCode::ncbi(33).translate("AGA"), 'S');
  // Context-dependent stops of 27/28/31 are read as amino acids (see genetic_code.h).
  EXPECT_TRUE(stops_of(GeneticCode::ncbi(27)).empty());
  EXPECT_TRUE(stops_of(GeneticCode::ncbi(28)).empty());
  EXPECT_TRUE(stops_of(GeneticCode::ncbi(31)).empty());
}

TEST(GeneticCode, CaseUracilAndAmbiguousBases) {
  const GeneticCode& t11 = GeneticCode::ncbi(11);
  EXPECT_EQ(t11.translate("atg"), 'M');
  EXPECT_EQ(t11.translate("AuG"), 'M');
  EXPECT_EQ(t11.translate("uaa"), '*');
  EXPECT_TRUE(t11.is_start("gtg"));
  EXPECT_TRUE(t11.is_stop("tga"));
  for (const char* codon : {"ANG", "NNN", "TRA", "AT-", "A.G", "xyz"}) {
    EXPECT_EQ(t11.translate(codon), 'X') << codon;
    EXPECT_FALSE(t11.is_start(codon)) << codon;
    EXPECT_FALSE(t11.is_stop(codon)) << codon;
  }
}

// Bases read in transcription order from a position: forward as written, reverse leftwards
// and complemented; off the sequence and non-ACGTU bytes are 4.
TEST(GeneticCode, BaseCodeAlongReadsInTranscriptionOrder) {
  const std::string_view seq = "ACGTN";
  // Forward from A (pos 0): A C G T N.
  EXPECT_EQ(GeneticCode::base_code_along(seq, 0, 0, false), 2);   // A
  EXPECT_EQ(GeneticCode::base_code_along(seq, 0, 2, false), 3);   // G
  EXPECT_EQ(GeneticCode::base_code_along(seq, 0, 4, false), 4);   // N
  EXPECT_EQ(GeneticCode::base_code_along(seq, 0, -1, false), 4);  // off the start
  // Reverse from T (pos 3): complement of T G C A = A C G T.
  EXPECT_EQ(GeneticCode::base_code_along(seq, 3, 0, true), 2);   // A
  EXPECT_EQ(GeneticCode::base_code_along(seq, 3, 1, true), 1);   // C
  EXPECT_EQ(GeneticCode::base_code_along(seq, 3, 3, true), 0);   // T
  EXPECT_EQ(GeneticCode::base_code_along(seq, 3, 4, true), 4);   // off the start
  EXPECT_EQ(GeneticCode::base_code_along(seq, 3, -1, true), 4);  // N upstream
}

TEST(GeneticCode, TranslateSequence) {
  const GeneticCode& t11 = GeneticCode::ncbi(11);
  EXPECT_EQ(t11.translate("ATGAAATAG", true), "MK*");
  EXPECT_EQ(t11.translate("GTGAAATAG", true), "MK*");
  EXPECT_EQ(t11.translate("GTGAAATAG", false), "VK*");
  EXPECT_EQ(t11.translate("TTGAAA", true), "MK");
  EXPECT_EQ(t11.translate("CCCAAA", true), "PK");  // not a start: kept
  EXPECT_EQ(t11.translate("ATGAA", true), "M");    // trailing partial codon ignored
  EXPECT_EQ(t11.translate("AT", true), "");
  EXPECT_EQ(t11.translate("", true), "");
  EXPECT_EQ(t11.translate("atgNNNtaa", true), "MX*");
  EXPECT_EQ(GeneticCode::ncbi(1).translate("GTGAAA", true), "VK");  // GTG is no start in table 1
}

// nu1, the first CDS of phage lambda (NC_001416.1, 191..736), translated from the genome.
TEST(GeneticCode, TranslatesLambdaNu1) {
  STRAND_SHARED_DATA_OR_SKIP(path, "bacteria/lambda/NC_001416.1_lambda.gbk");
  const std::vector<GenbankRecord> records = read_genbank(path.string());
  ASSERT_EQ(records.size(), 1u);
  const GenbankRecord& rec = records[0];
  const Feature* nu1 = nullptr;
  for (const Feature& f : rec.features)
    if (f.type == "CDS") {
      nu1 = &f;
      break;
    }
  ASSERT_NE(nu1, nullptr);
  ASSERT_EQ(nu1->parts.size(), 1u);
  EXPECT_EQ(nu1->parts[0].beg0, 190);
  EXPECT_EQ(nu1->parts[0].end0, 736);
  EXPECT_EQ(nu1->strand, Strand::kForward);
  const std::string* want = nu1->attribute("translation");
  ASSERT_NE(want, nullptr);
  const std::string nt = rec.seq.substr(190, 736 - 190);
  std::string protein = GeneticCode::ncbi(11).translate(nt, true);
  ASSERT_EQ(protein.back(), '*');
  protein.pop_back();
  EXPECT_EQ(protein, *want);
  EXPECT_EQ(protein.size(), 181u);
  EXPECT_EQ(protein.substr(0, 44), "MEVNKKQLADIFGASIRTIQNWQEQGMPVLRGGGKGNEVLYDSA");
  EXPECT_EQ(protein.substr(protein.size() - 21), "KAAALDELIPGLLSEYIEQSG");
}

}  // namespace
}  // namespace strand::genomics
