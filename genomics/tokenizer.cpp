#include "genomics/tokenizer.h"

#include <stdexcept>

#include "core/error.h"

namespace strand::genomics {
namespace {

constexpr std::array<TokenId, 256> make_token_table() {
  std::array<TokenId, 256> t{};
  for (auto& v : t) v = kTokenUnk;
  t['A'] = t['a'] = kTokenA;
  t['C'] = t['c'] = kTokenC;
  t['G'] = t['g'] = kTokenG;
  t['T'] = t['t'] = kTokenT;
  t['N'] = t['n'] = kTokenN;
  return t;
}
constexpr std::array<TokenId, 256> kTokenOf = make_token_table();

constexpr std::array<TokenId, kVocabSize> make_complement_map() {
  std::array<TokenId, kVocabSize> m{};
  for (int i = 0; i < kVocabSize; ++i) m[static_cast<size_t>(i)] = i;
  m[kTokenA] = kTokenT;
  m[kTokenT] = kTokenA;
  m[kTokenC] = kTokenG;
  m[kTokenG] = kTokenC;
  return m;
}
constexpr std::array<TokenId, kVocabSize> kComplementMap = make_complement_map();

}  // namespace

TokenId token_of(char base) { return kTokenOf[static_cast<unsigned char>(base)]; }

char base_of(TokenId token) {
  switch (token) {
    case kTokenA: return 'A';
    case kTokenC: return 'C';
    case kTokenG: return 'G';
    case kTokenT: return 'T';
    case kTokenN: return 'N';
    default: return '?';
  }
}

const std::array<TokenId, kVocabSize>& complement_map() { return kComplementMap; }

void tokenize(std::string_view seq, std::span<TokenId> out) {
  STRAND_ASSERT(out.size() == seq.size(), "tokenize: output has ", out.size(), " slots for ", seq.size(), " bases");
  for (size_t i = 0; i < seq.size(); ++i) out[i] = kTokenOf[static_cast<unsigned char>(seq[i])];
}

std::vector<TokenId> tokenize(std::string_view seq) {
  std::vector<TokenId> ids(seq.size());
  tokenize(seq, ids);
  return ids;
}

std::vector<TokenId> reverse_complement_tokens(std::span<const TokenId> ids) {
  std::vector<TokenId> out(ids.size());
  const size_t n = ids.size();
  for (size_t i = 0; i < n; ++i) {
    const TokenId t = ids[n - 1 - i];
    STRAND_ASSERT(t >= 0 && t < kVocabSize, "token id ", t, " outside the vocabulary");
    out[i] = kComplementMap[static_cast<size_t>(t)];
  }
  return out;
}

}  // namespace strand::genomics
