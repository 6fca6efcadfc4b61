#include "genomics/tokenizer.h"

#include <gtest/gtest.h>

#include "genomics/nucleotide.h"

namespace strand::genomics {
namespace {

TEST(Tokenizer, DesignVocabulary) {
  // [CLS]=0 [SEP]=1 [BOS]=2 [MASK]=3 [PAD]=4 [RESERVED]=5 [UNK]=6 A=7 C=8 G=9 T=10 N=11
  EXPECT_EQ(tokenize("ACGTN"), (std::vector<TokenId>{7, 8, 9, 10, 11}));
  EXPECT_EQ(tokenize("acgtn"), (std::vector<TokenId>{7, 8, 9, 10, 11}));
  // IUPAC codes other than N, U, gaps and anything else become [UNK]; no special tokens added.
  EXPECT_EQ(tokenize("RYKMSWBDHVU-*x"), std::vector<TokenId>(14, kTokenUnk));
  EXPECT_TRUE(tokenize("").empty());
  EXPECT_EQ(kVocabSize, 16);
}

TEST(Tokenizer, ComplementMap) {
  const auto& m = complement_map();
  EXPECT_EQ(m[kTokenA], kTokenT);
  EXPECT_EQ(m[kTokenT], kTokenA);
  EXPECT_EQ(m[kTokenC], kTokenG);
  EXPECT_EQ(m[kTokenG], kTokenC);
  for (TokenId t : {0, 1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15}) EXPECT_EQ(m[static_cast<size_t>(t)], t);
}

TEST(Tokenizer, ReverseComplementCommutesWithTokenize) {
  const std::string seq = "GATTACAnnRYacgtTTTGC";
  EXPECT_EQ(reverse_complement_tokens(tokenize(seq)), tokenize(reverse_complement(seq)));
}

TEST(Tokenizer, BaseOf) {
  EXPECT_EQ(base_of(kTokenA), 'A');
  EXPECT_EQ(base_of(kTokenN), 'N');
  EXPECT_EQ(base_of(kTokenMask), '?');
  EXPECT_EQ(nucleotide_index(kTokenG), 2);
  EXPECT_EQ(nucleotide_index(kTokenN), -1);
}

}  // namespace
}  // namespace strand::genomics
