// NCBI translation tables; see genetic_code.h.
#include "genomics/genetic_code.h"

#include <map>

#include "core/error.h"

namespace strand::genomics {

namespace {

struct TableData {
  int id;
  std::string_view name;
  std::string_view ncbieaa;   // amino acid per codon, '*' = stop
  std::string_view sncbieaa;  // 'M' = start codon
};

// NCBI gc.prt version 4.6 (codons in TCAG order:
//   base1 TTTTTTTTTTTTTTTTCCCCCCCCCCCCCCCCAAAAAAAAAAAAAAAAGGGGGGGGGGGGGGGG
//   base2 TTTTCCCCAAAAGGGGTTTTCCCCAAAAGGGGTTTTCCCCAAAAGGGGTTTTCCCCAAAAGGGG
//   base3 TCAGTCAGTCAGTCAGTCAGTCAGTCAGTCAGTCAGTCAGTCAGTCAGTCAGTCAGTCAGTCAG).
// clang-format off
constexpr TableData kTables[] = {
    {1, "Standard",
     "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "---M------**--*----M---------------M----------------------------"},
    {2, "Vertebrate Mitochondrial",
     "FFLLSSSSYY**CCWWLLLLPPPPHHQQRRRRIIMMTTTTNNKKSS**VVVVAAAADDEEGGGG",
     "----------**--------------------MMMM----------**---M------------"},
    {3, "Yeast Mitochondrial",
     "FFLLSSSSYY**CCWWTTTTPPPPHHQQRRRRIIMMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "----------**----------------------MM---------------M------------"},
    {4, "Mold Mitochondrial; Protozoan Mitochondrial; Coelenterate Mitochondrial; Mycoplasma; Spiroplasma",
     "FFLLSSSSYY**CCWWLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "--MM------**-------M------------MMMM---------------M------------"},
    {5, "Invertebrate Mitochondrial",
     "FFLLSSSSYY**CCWWLLLLPPPPHHQQRRRRIIMMTTTTNNKKSSSSVVVVAAAADDEEGGGG",
     "---M------**--------------------MMMM---------------M------------"},
    {6, "Ciliate Nuclear; Dasycladacean Nuclear; Hexamita Nuclear",
     "FFLLSSSSYYQQCC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "--------------*--------------------M----------------------------"},
    {9, "Echinoderm Mitochondrial; Flatworm Mitochondrial",
     "FFLLSSSSYY**CCWWLLLLPPPPHHQQRRRRIIIMTTTTNNNKSSSSVVVVAAAADDEEGGGG",
     "----------**-----------------------M---------------M------------"},
    {10, "Euplotid Nuclear",
     "FFLLSSSSYY**CCCWLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "----------**-----------------------M----------------------------"},
    {11, "Bacterial, Archaeal and Plant Plastid",
     "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "---M------**--*----M------------MMMM---------------M------------"},
    {12, "Alternative Yeast Nuclear",
     "FFLLSSSSYY**CC*WLLLSPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "----------**--*----M---------------M----------------------------"},
    {13, "Ascidian Mitochondrial",
     "FFLLSSSSYY**CCWWLLLLPPPPHHQQRRRRIIMMTTTTNNKKSSGGVVVVAAAADDEEGGGG",
     "---M------**----------------------MM---------------M------------"},
    {14, "Alternative Flatworm Mitochondrial",
     "FFLLSSSSYYY*CCWWLLLLPPPPHHQQRRRRIIIMTTTTNNNKSSSSVVVVAAAADDEEGGGG",
     "-----------*-----------------------M----------------------------"},
    {15, "Blepharisma Macronuclear",
     "FFLLSSSSYY*QCC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "----------*---*--------------------M----------------------------"},
    {16, "Chlorophycean Mitochondrial",
     "FFLLSSSSYY*LCC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "----------*---*--------------------M----------------------------"},
    {21, "Trematode Mitochondrial",
     "FFLLSSSSYY**CCWWLLLLPPPPHHQQRRRRIIMMTTTTNNNKSSSSVVVVAAAADDEEGGGG",
     "----------**-----------------------M---------------M------------"},
    {22, "Scenedesmus obliquus Mitochondrial",
     "FFLLSS*SYY*LCC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "------*---*---*--------------------M----------------------------"},
    {23, "Thraustochytrium Mitochondrial",
     "FF*LSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "--*-------**--*-----------------M--M---------------M------------"},
    {24, "Rhabdopleuridae Mitochondrial",
     "FFLLSSSSYY**CCWWLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSSKVVVVAAAADDEEGGGG",
     "---M------**-------M---------------M---------------M------------"},
    {25, "Candidate Division SR1 and Gracilibacteria",
     "FFLLSSSSYY**CCGWLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "---M------**-----------------------M---------------M------------"},
    {26, "Pachysolen tannophilus Nuclear",
     "FFLLSSSSYY**CC*WLLLAPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "----------**--*----M---------------M----------------------------"},
    {27, "Karyorelict Nuclear",
     "FFLLSSSSYYQQCCWWLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "--------------*--------------------M----------------------------"},
    {28, "Condylostoma Nuclear",
     "FFLLSSSSYYQQCCWWLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "----------**--*--------------------M----------------------------"},
    {29, "Mesodinium Nuclear",
     "FFLLSSSSYYYYCC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "--------------*--------------------M----------------------------"},
    {30, "Peritrich Nuclear",
     "FFLLSSSSYYEECC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "--------------*--------------------M----------------------------"},
    {31, "Blastocrithidia Nuclear",
     "FFLLSSSSYYEECCWWLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "----------**-----------------------M----------------------------"},
    {32, "Balanophoraceae Plastid",
     "FFLLSSSSYY*WCC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
     "---M------*---*----M------------MMMM---------------M------------"},
    {33, "Cephalodiscidae Mitochondrial",
     "FFLLSSSSYYY*CCWWLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSSKVVVVAAAADDEEGGGG",
     "---M-------*-------M---------------M---------------M------------"},
};
// clang-format on

// Every string is 64 codons long: checked at compile time so a bad edit cannot build.
constexpr bool tables_well_formed() {
  for (const TableData& t : kTables)
    if (t.ncbieaa.size() != 64 || t.sncbieaa.size() != 64) return false;
  return true;
}
static_assert(tables_well_formed(), "every NCBI table string must have 64 characters");

constexpr std::array<uint8_t, 256> make_base_codes() {
  std::array<uint8_t, 256> codes{};
  for (auto& c : codes) c = 4;
  codes['T'] = codes['t'] = codes['U'] = codes['u'] = 0;
  codes['C'] = codes['c'] = 1;
  codes['A'] = codes['a'] = 2;
  codes['G'] = codes['g'] = 3;
  return codes;
}

}  // namespace

const std::array<uint8_t, 256> GeneticCode::kBaseCode = make_base_codes();

GeneticCode::GeneticCode(int id, std::string_view name, std::string_view ncbieaa, std::string_view sncbieaa)
    : id_(id), name_(name), sncbieaa_(sncbieaa) {
  STRAND_ASSERT(ncbieaa.size() == 64 && sncbieaa.size() == 64, "table ", id, " is not 64 codons");
  for (int i = 0; i < 64; ++i) {
    amino_acids_[i] = ncbieaa[i];
    starts_[i] = sncbieaa[i] == 'M';
  }
}

const GeneticCode& GeneticCode::ncbi(int table) {
  // Built once, on first use; the map is immutable afterwards, so concurrent readers are safe.
  static const std::map<int, GeneticCode> kCodes = [] {
    std::map<int, GeneticCode> codes;
    for (const TableData& t : kTables) codes.emplace(t.id, GeneticCode(t.id, t.name, t.ncbieaa, t.sncbieaa));
    return codes;
  }();
  const auto it = kCodes.find(table);
  if (it == kCodes.end()) fail("unknown genetic code ", table, ": not an NCBI translation table (1-6, 9-16, 21-33)");
  return it->second;
}

char GeneticCode::translate(const char* codon3) const {
  const int index = codon_index(codon3);
  return index == kUnknownCodon ? 'X' : amino_acids_[index];
}

bool GeneticCode::is_start(const char* codon3) const {
  const int index = codon_index(codon3);
  return index != kUnknownCodon && starts_[index];
}

bool GeneticCode::is_stop(const char* codon3) const {
  const int index = codon_index(codon3);
  return index != kUnknownCodon && is_stop_at(index);
}

std::string GeneticCode::translate(std::string_view nt, bool first_codon_is_start) const {
  const size_t n_codons = nt.size() / 3;
  std::string protein(n_codons, 'X');
  for (size_t c = 0; c < n_codons; ++c) protein[c] = translate(nt.data() + 3 * c);
  if (first_codon_is_start && n_codons > 0 && is_start(nt.data())) protein[0] = 'M';
  return protein;
}

}  // namespace strand::genomics
