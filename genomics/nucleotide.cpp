#include "genomics/nucleotide.h"

#include <algorithm>
#include <array>

namespace strand::genomics {
namespace {

constexpr std::array<char, 256> make_complement_table() {
  std::array<char, 256> t{};
  for (int i = 0; i < 256; ++i) t[i] = static_cast<char>(i);
  constexpr const char* kFrom = "ACGTURYKMBVDHSWN";
  constexpr const char* kTo = "TGCAAYRMKVBHDSWN";
  for (int i = 0; kFrom[i] != '\0'; ++i) {
    t[static_cast<unsigned char>(kFrom[i])] = kTo[i];
    t[static_cast<unsigned char>(kFrom[i] + 32)] = static_cast<char>(kTo[i] + 32);
  }
  return t;
}
constexpr std::array<char, 256> kComplement = make_complement_table();

constexpr std::array<bool, 256> make_iupac_table() {
  std::array<bool, 256> t{};
  for (const char* p = "ACGTURYKMBVDHSWN"; *p != '\0'; ++p) {
    t[static_cast<unsigned char>(*p)] = true;
    t[static_cast<unsigned char>(*p + 32)] = true;
  }
  for (const char* p = "-.*"; *p != '\0'; ++p) t[static_cast<unsigned char>(*p)] = true;
  return t;
}
constexpr std::array<bool, 256> kIupac = make_iupac_table();

}  // namespace

char complement_base(char base) { return kComplement[static_cast<unsigned char>(base)]; }

void reverse_complement_inplace(std::string& seq) {
  std::reverse(seq.begin(), seq.end());
  for (char& c : seq) c = kComplement[static_cast<unsigned char>(c)];
}

std::string reverse_complement(std::string_view seq) {
  std::string out(seq.size(), '\0');
  const size_t n = seq.size();
  for (size_t i = 0; i < n; ++i) out[i] = kComplement[static_cast<unsigned char>(seq[n - 1 - i])];
  return out;
}

void to_upper_inplace(std::string& seq) {
  for (char& c : seq)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
}

bool is_iupac_base(char c) { return kIupac[static_cast<unsigned char>(c)]; }

}  // namespace strand::genomics
