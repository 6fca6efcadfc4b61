// The Caduceus/HyenaDNA character tokenizer of DESIGN.md, vocabulary padded to 16:
//   [CLS]=0 [SEP]=1 [BOS]=2 [MASK]=3 [PAD]=4 [RESERVED]=5 [UNK]=6 A=7 C=8 G=9 T=10 N=11
// Input is upper-cased; any other character (IUPAC R, Y, K, ..., gaps) becomes [UNK]. No
// special tokens are added. Complement: A<->T, C<->G, every other id maps to itself.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strand::genomics {

using TokenId = int32_t;

inline constexpr TokenId kTokenCls = 0;
inline constexpr TokenId kTokenSep = 1;
inline constexpr TokenId kTokenBos = 2;
inline constexpr TokenId kTokenMask = 3;
inline constexpr TokenId kTokenPad = 4;
inline constexpr TokenId kTokenReserved = 5;
inline constexpr TokenId kTokenUnk = 6;
inline constexpr TokenId kTokenA = 7;
inline constexpr TokenId kTokenC = 8;
inline constexpr TokenId kTokenG = 9;
inline constexpr TokenId kTokenT = 10;
inline constexpr TokenId kTokenN = 11;
inline constexpr int kVocabSize = 16;  // 12 used ids, padded

TokenId token_of(char base);
// The character a token stands for ('A', 'C', 'G', 'T', 'N'), '?' for special tokens.
char base_of(TokenId token);
// Complement map over the whole padded vocabulary (A<->T, C<->G, identity elsewhere).
const std::array<TokenId, kVocabSize>& complement_map();
inline TokenId complement_token(TokenId t) { return complement_map()[static_cast<size_t>(t)]; }

// seq → ids, written into `out` (out.size() must equal seq.size()).
void tokenize(std::string_view seq, std::span<TokenId> out);
std::vector<TokenId> tokenize(std::string_view seq);
// Reverse complement in token space: out[i] = complement(ids[n-1-i]).
std::vector<TokenId> reverse_complement_tokens(std::span<const TokenId> ids);
// Index of A/C/G/T tokens in a 4-nucleotide table (A=0, C=1, G=2, T=3), -1 otherwise.
inline int nucleotide_index(TokenId t) { return (t >= kTokenA && t <= kTokenT) ? t - kTokenA : -1; }

}  // namespace strand::genomics
