// The variant-scoring rules of DESIGN.md ("Variant scoring rules") that need no model: where a
// variant's window lies on its contig, which alleles can be scored and why not, and the ALT
// window. `strand score` (score.cpp) builds its model inputs from these; tests check them on
// their own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace strand::pipelines {

// Why an allele gets '.' instead of a score. Counted per reason in the end-of-run summary.
enum class SkipReason {
  kNone,
  // the whole record
  kContigAbsent,   // its contig is not in the reference FASTA
  kRefMismatch,    // REF differs from the reference (or runs past the contig end)
  kWindowAllN,     // no A/C/G/T in the window outside the variant itself
  // one ALT
  kNoAlt,          // ALT '.'
  kSymbolic,       // <DEL>, <INS>, ...
  kBreakend,       // G]chr:pos], .A, ...
  kStar,           // '*': overlapping deletion
  kUnsupported,    // characters other than A/C/G/T/N
  // STRAND_LLR only, masked models
  kNotSnv,         // REF and ALT are not both one base
  kRefNotAcgt,     // SNV with REF N
  kAltNotAcgt,     // SNV with ALT N
  kCount,
};
// "contig absent from the reference", ... for the summary.
const char* skip_reason_text(SkipReason reason);

// A window of `len_bp` bases starting at `start0` on the contig; the variant's first REF base
// is at index `centre`.
struct WindowPlacement {
  int64_t start0 = 0;
  int64_t len_bp = 0;
  int64_t centre = 0;
};
// The variant's first REF base at index window / 2, the window shifted to stay inside the
// contig near its ends; a contig of at most `window` bases is used whole.
WindowPlacement place_window(int64_t pos0, int64_t contig_len, int64_t window);

// How one ALT allele can be scored (kNone: a sequence of A/C/G/T/N). Case-insensitive.
SkipReason classify_alt(std::string_view alt);

// True when the window has an A/C/G/T (any case) outside [centre, centre + ref_len).
bool window_has_bases(std::string_view window, int64_t centre, int64_t ref_len);

// `seq` holds the reference from the window's start, at least the window and REF (more is
// fine: the ALT window may need bases after REF). Returns seq[0, centre) + alt + seq[centre +
// ref_len, ...) cut to `len_bp`: shorter only where the contig ends.
std::string alt_window(std::string_view seq, int64_t centre, int64_t ref_len, std::string_view alt, int64_t len_bp);

// Contig names that differ only by a "chr" prefix: the name to look up in the reference
// when the name itself is absent: "chr20" -> "20", "20" -> "chr20".
std::string chr_alias(std::string_view contig);

}  // namespace strand::pipelines
