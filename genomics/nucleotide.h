// Nucleotide utilities: IUPAC-aware complement and reverse complement (case kept), and
// upper-casing. Table-driven: one lookup per base, fast on records of hundreds of megabases.
#pragma once

#include <string>
#include <string_view>

namespace strand::genomics {

// Complement of one IUPAC character, case kept: A<->T, C<->G, U->A, R<->Y, K<->M, B<->V,
// D<->H, S, W, N and gaps ('-', '.', '*') map to themselves; any other byte is returned as is.
char complement_base(char base);
// Reverse complement of `seq`, in place or into a new string.
void reverse_complement_inplace(std::string& seq);
std::string reverse_complement(std::string_view seq);
// ASCII upper-case in place.
void to_upper_inplace(std::string& seq);
// True for the 15 IUPAC nucleotide codes plus U and gap characters, in either case.
bool is_iupac_base(char c);

}  // namespace strand::genomics
