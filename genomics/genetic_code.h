// NCBI translation tables (genetic codes): codon -> amino acid, start and stop codons, for
// every table NCBI defines (1-6, 9-16, 21-33; 7, 8 and 17-20 are retired). The data are the
// 64-character ncbieaa / sncbieaa strings of NCBI's gc.prt (version 4.6), codons in TCAG order.
// Lookups go through a 2-bit codon index (T=0, C=1, A=2, G=3; index = 16*b1 + 4*b2 + b3), so
// scanning a whole genome codon by codon is a few table loads per codon.
//
// Decisions: stops are the codons ncbieaa writes as '*'. Tables 27, 28 and 31 have
// context-dependent stops (sncbieaa marks them '*' while ncbieaa gives an amino acid); they
// are read as amino acids here, as NCBI's own translation does, so ORFs run through them.
// Starts are the codons sncbieaa marks 'M'. U is read as T; any other base (N, IUPAC codes,
// gaps) makes the codon unknown: 'X', neither start nor stop.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace strand::genomics {

class GeneticCode {
 public:
  // Codon index of an unknown codon (a base other than ACGTU in either case).
  static constexpr int kUnknownCodon = -1;

  // The NCBI table `table` (a process-wide singleton); throws strand::Error naming the number
  // for anything that is not a current NCBI table.
  static const GeneticCode& ncbi(int table);

  // 2-bit code of one base: T/U=0, C=1, A=2, G=3 (either case); 4 for any other byte.
  static int base_code(char base) { return kBaseCode[static_cast<unsigned char>(base)]; }
  // The complement of a base code (0..3): T<->A, C<->G.
  static constexpr int complement_code(int code) { return code ^ 2; }
  // The code of seq[pos0] as read on the reverse strand when `reverse` (its complement's code);
  // 4 for a byte other than ACGTU or a position off the sequence.
  static int base_code_at(std::string_view seq, int64_t pos0, bool reverse) {
    if (pos0 < 0 || pos0 >= static_cast<int64_t>(seq.size())) return 4;
    const int b = base_code(seq[static_cast<size_t>(pos0)]);
    return reverse && b < 4 ? complement_code(b) : b;
  }
  // The code of the base `offset` bases downstream of pos0 in transcription order (upstream for
  // a negative offset): seq[pos0 + offset], or on the reverse strand the complement of
  // seq[pos0 - offset]; 4 as base_code_at gives it.
  static int base_code_along(std::string_view seq, int64_t pos0, int64_t offset, bool reverse) {
    return base_code_at(seq, reverse ? pos0 - offset : pos0 + offset, reverse);
  }
  // 0..63 for a codon of ACGTU (either case), kUnknownCodon otherwise. Reads codon3[0..2].
  static int codon_index(const char* codon3) {
    const int b1 = base_code(codon3[0]), b2 = base_code(codon3[1]), b3 = base_code(codon3[2]);
    if ((b1 | b2 | b3) > 3) return kUnknownCodon;
    return (b1 << 4) | (b2 << 2) | b3;
  }

  // By codon index (0..63); the index must be valid.
  char amino_acid_at(int index) const { return amino_acids_[index]; }
  bool is_start_at(int index) const { return starts_[index]; }
  bool is_stop_at(int index) const { return amino_acids_[index] == '*'; }

  // By codon text (reads three characters): amino acid letter, '*' for stops, 'X' unknown.
  char translate(const char* codon3) const;
  bool is_start(const char* codon3) const;
  bool is_stop(const char* codon3) const;

  // Translation of the complete codons of `nt` (a trailing 1-2 bases are ignored); '*' for
  // stops, 'X' for unknown codons. With `first_codon_is_start`, a first codon that is a start
  // codon of this table becomes 'M' (GTG, TTG, ... initiate with methionine).
  std::string translate(std::string_view nt, bool first_codon_is_start) const;

  int id() const { return id_; }
  std::string_view name() const { return name_; }
  // The 64-character NCBI strings this table was built from (TCAG order).
  std::string_view ncbieaa() const { return {amino_acids_.data(), amino_acids_.size()}; }
  std::string_view sncbieaa() const { return sncbieaa_; }

 private:
  GeneticCode(int id, std::string_view name, std::string_view ncbieaa, std::string_view sncbieaa);

  static const std::array<uint8_t, 256> kBaseCode;

  int id_ = 0;
  std::string_view name_;
  std::string_view sncbieaa_;
  std::array<char, 64> amino_acids_{};
  std::array<bool, 64> starts_{};
};

}  // namespace strand::genomics
