// The model-free rules of `strand score` (DESIGN.md, "Variant scoring rules"), one by one:
// where a variant's window lies on its contig, which ALT alleles can be scored, whether a
// window has any base to read, the ALT window, and the "chr" prefix alias.
#include "pipelines/variant_windows.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace strand::pipelines {
namespace {

// Expects a window of `len` bases from `start0`, the variant at index `centre`.
void expect_window(const WindowPlacement& w, int64_t start0, int64_t len, int64_t centre) {
  EXPECT_EQ(w.start0, start0);
  EXPECT_EQ(w.len_bp, len);
  EXPECT_EQ(w.centre, centre);
}

// ---- place_window ------------------------------------------------------------------------

TEST(PlaceWindow, MiddleOfAContigPutsTheVariantAtHalfTheWindow) {
  // Even W: index W/2 = 32, 32 bases before, 31 after.
  expect_window(place_window(500, 1000, 64), 468, 64, 32);
  // Odd W: index W/2 = 25 (integer division), 25 bases before, 25 after.
  expect_window(place_window(500, 1000, 51), 475, 51, 25);
  // The smallest window: W = 2 puts the variant second.
  expect_window(place_window(5, 10, 2), 4, 2, 1);
  // W = 3: index 1.
  expect_window(place_window(5, 10, 3), 4, 3, 1);
}

TEST(PlaceWindow, ExactlyFitsWhenTheVariantIsHalfAWindowFromEitherEnd) {
  // pos0 = W/2: the window starts at the contig's first base, not shifted.
  expect_window(place_window(32, 1000, 64), 0, 64, 32);
  // The window ends on the contig's last base: start0 = len - W, the variant still at W/2.
  expect_window(place_window(1000 - 32, 1000, 64), 936, 64, 32);
}

TEST(PlaceWindow, NearTheStartTheWindowIsShiftedToStayInside) {
  expect_window(place_window(10, 1000, 64), 0, 64, 10);
  expect_window(place_window(31, 1000, 64), 0, 64, 31);
  expect_window(place_window(20, 1000, 51), 0, 51, 20);
}

TEST(PlaceWindow, NearTheEndTheWindowIsShiftedToStayInside) {
  expect_window(place_window(990, 1000, 64), 936, 64, 54);
  expect_window(place_window(969, 1000, 64), 936, 64, 33);
  expect_window(place_window(990, 1000, 51), 949, 51, 41);
}

TEST(PlaceWindow, FirstAndLastBaseOfTheContig) {
  expect_window(place_window(0, 1000, 64), 0, 64, 0);
  expect_window(place_window(999, 1000, 64), 936, 64, 63);
  expect_window(place_window(0, 1000, 51), 0, 51, 0);
  expect_window(place_window(999, 1000, 51), 949, 51, 50);
  // The fixture's snv_last: q is 12,356 bp, POS 12356 (pos0 12355).
  expect_window(place_window(12355, 12356, 64), 12292, 64, 63);
}

TEST(PlaceWindow, AContigOfAtMostTheWindowIsUsedWhole) {
  // Shorter (the fixture's tiny: 40 bp, POS 20).
  expect_window(place_window(19, 40, 64), 0, 40, 19);
  expect_window(place_window(0, 40, 64), 0, 40, 0);
  expect_window(place_window(39, 40, 64), 0, 40, 39);
  // Equal.
  expect_window(place_window(5, 64, 64), 0, 64, 5);
  expect_window(place_window(63, 64, 64), 0, 64, 63);
  // One base longer: shifted by at most one.
  expect_window(place_window(32, 65, 64), 0, 64, 32);
  expect_window(place_window(33, 65, 64), 1, 64, 32);
  expect_window(place_window(64, 65, 64), 1, 64, 63);
  // A one-base contig.
  expect_window(place_window(0, 1, 2), 0, 1, 0);
}

TEST(PlaceWindow, TheWindowAlwaysHoldsTheVariantAndStaysInsideTheContig) {
  for (const int64_t len : {1, 2, 3, 7, 50, 51, 52, 64, 65, 100}) {
    for (const int64_t window : {2, 3, 7, 51, 64}) {
      for (int64_t pos0 = 0; pos0 < len; ++pos0) {
        const WindowPlacement w = place_window(pos0, len, window);
        const std::string what = "pos0 " + std::to_string(pos0) + " len " + std::to_string(len) + " W " +
                                 std::to_string(window);
        EXPECT_GE(w.start0, 0) << what;
        EXPECT_EQ(w.len_bp, std::min(len, window)) << what;
        EXPECT_LE(w.start0 + w.len_bp, len) << what;
        EXPECT_EQ(w.start0 + w.centre, pos0) << what;
        EXPECT_LT(w.centre, w.len_bp) << what;
        // Away from the ends the variant is exactly at W/2.
        if (len > window && pos0 >= window / 2 && pos0 + (window - window / 2) <= len) {
          EXPECT_EQ(w.centre, window / 2) << what;
        }
      }
    }
  }
}

TEST(PlaceWindowDeathTest, APositionOutsideTheContigIsAProgrammingError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(place_window(1000, 1000, 64), "place_window");
  EXPECT_DEATH(place_window(-1, 1000, 64), "place_window");
  EXPECT_DEATH(place_window(5, 1000, 0), "place_window");
}

// ---- classify_alt ------------------------------------------------------------------------

TEST(ClassifyAlt, SequencesOfAcgtnInAnyCaseAreScorable) {
  for (const char* alt : {"A", "C", "G", "T", "N", "a", "c", "g", "t", "n", "ACGTN", "acgtn", "AcGtN", "AGGTC",
                          "NNNN"})
    EXPECT_EQ(classify_alt(alt), SkipReason::kNone) << alt;
}

TEST(ClassifyAlt, MissingAltIsNoAlt) {
  EXPECT_EQ(classify_alt("."), SkipReason::kNoAlt);
  EXPECT_EQ(classify_alt(""), SkipReason::kNoAlt);
}

TEST(ClassifyAlt, StarIsAnOverlappingDeletion) { EXPECT_EQ(classify_alt("*"), SkipReason::kStar); }

TEST(ClassifyAlt, AngleBracketAllelesAreSymbolic) {
  for (const char* alt : {"<DEL>", "<INS>", "<DUP:TANDEM>", "<INS:ME:ALU>", "<CNV>", "<*>", "<NON_REF>"})
    EXPECT_EQ(classify_alt(alt), SkipReason::kSymbolic) << alt;
}

TEST(ClassifyAlt, BreakendsInEveryNotation) {
  // The four bracket forms of VCF 4.2 section 5.4 ...
  for (const char* alt : {"G]chr:5]", "]chr:5]G", "G[chr:5[", "[chr:5[G", "A]q:6000]", "]13:123456]T",
                          "C[2:321682[", "g]chr:5]"})
    EXPECT_EQ(classify_alt(alt), SkipReason::kBreakend) << alt;
  // ... and single breakends, '.' before or after the bases.
  for (const char* alt : {".A", "A.", ".ACGT", "ACGT.", ".a"}) EXPECT_EQ(classify_alt(alt), SkipReason::kBreakend) << alt;
}

TEST(ClassifyAlt, OtherCharactersAreUnsupported) {
  for (const char* alt : {"R", "Y", "W", "ACGR", "r", "U", "A-", "A,G", "1", "**", "A*"})
    EXPECT_EQ(classify_alt(alt), SkipReason::kUnsupported) << alt;
}

TEST(SkipReasonText, EveryReasonHasItsOwnText) {
  std::set<std::string> texts;
  for (int i = 0; i < static_cast<int>(SkipReason::kCount); ++i) {
    const std::string text = skip_reason_text(static_cast<SkipReason>(i));
    EXPECT_NE(text, "?") << i;
    EXPECT_FALSE(text.empty()) << i;
    texts.insert(text);
  }
  EXPECT_EQ(texts.size(), static_cast<size_t>(SkipReason::kCount));
  EXPECT_STREQ(skip_reason_text(SkipReason::kContigAbsent), "contig absent from the reference");
}

// ---- window_has_bases --------------------------------------------------------------------

TEST(WindowHasBases, OnlyNIsEmpty) {
  EXPECT_FALSE(window_has_bases("NNNNNNNN", 4, 1));
  EXPECT_FALSE(window_has_bases("nnnnnnnn", 0, 1));
  EXPECT_FALSE(window_has_bases("N", 0, 1));
  // IUPAC codes are not bases either.
  EXPECT_FALSE(window_has_bases("NRYKMSWN", 4, 1));
}

TEST(WindowHasBases, BasesOnlyInsideTheRefSpanDoNotCount) {
  EXPECT_FALSE(window_has_bases("NNNANNNN", 3, 1));
  EXPECT_FALSE(window_has_bases("NNNACGNN", 3, 3));
  EXPECT_FALSE(window_has_bases("ACGT", 0, 4));
  EXPECT_FALSE(window_has_bases("NNNNNNNG", 7, 1));  // REF on the last base
  EXPECT_FALSE(window_has_bases("GNNNNNNN", 0, 1));  // REF on the first base
  // One base just outside the span counts, on either side.
  EXPECT_TRUE(window_has_bases("NNAACGNN", 3, 3));
  EXPECT_TRUE(window_has_bases("NNNACGTN", 3, 3));
  EXPECT_TRUE(window_has_bases("ANNNNNNG", 7, 1));
  EXPECT_TRUE(window_has_bases("GNNNNNNT", 0, 1));
}

TEST(WindowHasBases, LowerCaseBasesCount) {
  for (const char* w : {"aNNNNNNN", "NcNNNNNN", "NNNNNgNN", "NNNNNNNt"}) EXPECT_TRUE(window_has_bases(w, 3, 1)) << w;
  EXPECT_TRUE(window_has_bases("acgtacgt", 3, 1));
  EXPECT_TRUE(window_has_bases("ACGTACGT", 3, 1));
}

// ---- alt_window --------------------------------------------------------------------------

TEST(AltWindow, SnvReplacesTheCentreBase) {
  EXPECT_EQ(alt_window("AAAACAAAA", 4, 1, "G", 9), "AAAAGAAAA");
  // `seq` may run past the window: only len_bp bases come out.
  EXPECT_EQ(alt_window("AAAACAAAATTT", 4, 1, "G", 9), "AAAAGAAAA");
  // Case is kept as given.
  EXPECT_EQ(alt_window("acgtacgta", 4, 1, "g", 9), "acgtgcgta");
}

TEST(AltWindow, DeletionIsExtendedWithReferenceBasesOnTheRight) {
  // Window of 8 at the start of seq, REF "ACG" at index 4, seq holds the window plus REF.
  //               0123 456 7890
  const std::string seq = "ACGTACGTACG";
  EXPECT_EQ(alt_window(seq, 4, 3, "A", 8), "ACGTATAC");
  // A deletion of the whole REF span but one base keeps the window length.
  EXPECT_EQ(alt_window(seq, 4, 3, "A", 8).size(), 8u);
}

TEST(AltWindow, InsertionLongerThanTheRestOfTheWindowIsCut) {
  EXPECT_EQ(alt_window("ACGTACGT", 6, 1, "GGGGGG", 8), "ACGTACGG");
  EXPECT_EQ(alt_window("ACGTACGT", 7, 1, "TTTTT", 8), "ACGTACGT");
  // A short insertion: the window's tail is pushed out on the right.
  EXPECT_EQ(alt_window("ACGTACGT", 2, 1, "GCC", 8), "ACGCCTAC");
}

TEST(AltWindow, RefAtTheContigEndGivesAShorterAltWindow) {
  // seq ends where the contig ends, REF "CGG" covers its last three bases.
  EXPECT_EQ(alt_window("ACGTACGG", 5, 3, "C", 8), "ACGTAC");
  // The fixture's del_end shape: GGCCCC>G reaching the last base, W = 64 → 59 bases.
  const std::string seq = std::string(58, 'A') + "GGCCCC";
  EXPECT_EQ(alt_window(seq, 58, 6, "G", 64), std::string(58, 'A') + "G");
  EXPECT_EQ(alt_window(seq, 58, 6, "G", 64).size(), 59u);
  // An SNV on the last base keeps the full length.
  EXPECT_EQ(alt_window("ACGTACGT", 7, 1, "A", 8), "ACGTACGA");
}

TEST(AltWindow, CentreZero) {
  EXPECT_EQ(alt_window("GATTACA", 0, 1, "C", 7), "CATTACA");
  EXPECT_EQ(alt_window("GATTACA", 0, 1, "TT", 7), "TTATTAC");
  EXPECT_EQ(alt_window("GATTACA", 0, 3, "G", 7), "GTACA");  // deletion at the contig start, seq ends there
  EXPECT_EQ(alt_window("GATTACA", 0, 1, "CCCCCCCCCC", 4), "CCCC");
}

TEST(AltWindow, ReferenceAltGivesTheReferenceWindow) {
  const std::string seq = "ACGTTGCAACGTTGCA";
  for (int64_t c = 0; c < 8; ++c)
    EXPECT_EQ(alt_window(seq, c, 1, seq.substr(static_cast<size_t>(c), 1), 8), seq.substr(0, 8)) << c;
  EXPECT_EQ(alt_window(seq, 3, 4, "TTGC", 8), seq.substr(0, 8));
}

// ---- chr_alias ---------------------------------------------------------------------------

TEST(ChrAlias, AddsOrRemovesTheChrPrefix) {
  EXPECT_EQ(chr_alias("chr20"), "20");
  EXPECT_EQ(chr_alias("20"), "chr20");
  EXPECT_EQ(chr_alias("chrX"), "X");
  EXPECT_EQ(chr_alias("X"), "chrX");
  EXPECT_EQ(chr_alias("chrM"), "M");
  EXPECT_EQ(chr_alias("MT"), "chrMT");
  EXPECT_EQ(chr_alias("chrq"), "q");
  EXPECT_EQ(chr_alias("q"), "chrq");
  EXPECT_EQ(chr_alias("chr1_KI270706v1_random"), "1_KI270706v1_random");
  // Round trip.
  for (const char* name : {"1", "22", "Y", "q", "chr7", "chrUn_GL000220v1"})
    EXPECT_EQ(chr_alias(chr_alias(name)), name) << name;
}

TEST(ChrAlias, TheBarePrefixIsNotStripped) {
  // "chr" alone is a name, not a prefix: stripping would leave an empty contig name.
  EXPECT_EQ(chr_alias("chr"), "chrchr");
}

}  // namespace
}  // namespace strand::pipelines
