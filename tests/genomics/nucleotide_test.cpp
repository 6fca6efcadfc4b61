#include "genomics/nucleotide.h"

#include <gtest/gtest.h>

#include "tests/test_support.h"

namespace strand::genomics {
namespace {

TEST(Complement, IupacPairsAndCase) {
  const std::string from = "ACGTURYKMBVDHSWNacgturykmbvdhswn-.*X";
  const std::string to = "TGCAAYRMKVBHDSWNtgcaayrmkvbhdswn-.*X";
  for (size_t i = 0; i < from.size(); ++i) EXPECT_EQ(complement_base(from[i]), to[i]) << from[i];
}

TEST(ReverseComplement, KnownSequenceAndInvolution) {
  EXPECT_EQ(reverse_complement("AACGTNRy"), "rYNACGTT");
  EXPECT_EQ(reverse_complement(""), "");
  std::string s = "GATTACAgattacaNNRYKM";
  const std::string orig = s;
  reverse_complement_inplace(s);
  EXPECT_EQ(s, reverse_complement(orig));
  reverse_complement_inplace(s);
  EXPECT_EQ(s, orig);
}

TEST(ReverseComplement, RealSequenceIsAnInvolutionAndSwapsBaseCounts) {
  STRAND_SHARED_DATA_OR_SKIP(path, "bacteria/lambda/lambda_virus.fa.gz");
  const std::string text = test::read_maybe_gzip(path);
  std::string seq;
  for (size_t pos = text.find('\n') + 1; pos < text.size(); ++pos)
    if (text[pos] != '\n') seq += text[pos];
  ASSERT_EQ(seq.size(), 48502u);
  const std::string rc = reverse_complement(seq);
  EXPECT_EQ(std::count(rc.begin(), rc.end(), 'A'), std::count(seq.begin(), seq.end(), 'T'));
  EXPECT_EQ(std::count(rc.begin(), rc.end(), 'G'), std::count(seq.begin(), seq.end(), 'C'));
  EXPECT_EQ(reverse_complement(rc), seq);
}

TEST(ToUpper, OnlyLetters) {
  std::string s = "acgtN-*nry";
  to_upper_inplace(s);
  EXPECT_EQ(s, "ACGTN-*NRY");
}

TEST(IsIupac, Alphabet) {
  for (char c : std::string("ACGTURYKMBVDHSWNacgtn-.*")) EXPECT_TRUE(is_iupac_base(c)) << c;
  for (char c : std::string("EFIJLOPQXZ0 \n>")) EXPECT_FALSE(is_iupac_base(c)) << c;
}

}  // namespace
}  // namespace strand::genomics
