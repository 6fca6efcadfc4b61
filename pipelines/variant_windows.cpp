#include "pipelines/variant_windows.h"

#include <algorithm>

#include "core/error.h"
#include "genomics/tokenizer.h"

namespace strand::pipelines {

const char* skip_reason_text(SkipReason reason) {
  switch (reason) {
    case SkipReason::kNone: return "scored";
    case SkipReason::kContigAbsent: return "contig absent from the reference";
    case SkipReason::kRefMismatch: return "REF mismatch";
    case SkipReason::kWindowAllN: return "window only N";
    case SkipReason::kNoAlt: return "no ALT";
    case SkipReason::kSymbolic: return "symbolic allele";
    case SkipReason::kBreakend: return "breakend";
    case SkipReason::kStar: return "'*' allele";
    case SkipReason::kUnsupported: return "allele with characters other than ACGTN";
    case SkipReason::kNotSnv: return "not an SNV (masked model: no LLR)";
    case SkipReason::kRefNotAcgt: return "SNV with REF not A/C/G/T (no LLR)";
    case SkipReason::kAltNotAcgt: return "SNV with ALT not A/C/G/T (no LLR)";
    case SkipReason::kCount: break;
  }
  return "?";
}

WindowPlacement place_window(int64_t pos0, int64_t contig_len, int64_t window) {
  STRAND_ASSERT(window > 0 && pos0 >= 0 && pos0 < contig_len, "place_window(", pos0, ", ", contig_len, ", ", window,
                ")");
  WindowPlacement w;
  if (contig_len <= window) {
    w.len_bp = contig_len;
  } else {
    w.start0 = std::clamp<int64_t>(pos0 - window / 2, 0, contig_len - window);
    w.len_bp = window;
  }
  w.centre = pos0 - w.start0;
  return w;
}

SkipReason classify_alt(std::string_view alt) {
  if (alt.empty() || alt == ".") return SkipReason::kNoAlt;
  if (alt == "*") return SkipReason::kStar;
  if (alt.front() == '<') return SkipReason::kSymbolic;
  if (alt.find_first_of("[]") != std::string_view::npos || alt.front() == '.' || alt.back() == '.')
    return SkipReason::kBreakend;
  for (const char ch : alt)
    if (genomics::token_of(ch) == genomics::kTokenUnk) return SkipReason::kUnsupported;  // not A/C/G/T/N
  return SkipReason::kNone;
}

bool window_has_bases(std::string_view window, int64_t centre, int64_t ref_len) {
  for (int64_t i = 0; i < static_cast<int64_t>(window.size()); ++i) {
    if (i >= centre && i < centre + ref_len) continue;
    if (genomics::nucleotide_index(genomics::token_of(window[static_cast<size_t>(i)])) >= 0) return true;
  }
  return false;
}

std::string alt_window(std::string_view seq, int64_t centre, int64_t ref_len, std::string_view alt, int64_t len_bp) {
  STRAND_ASSERT(centre >= 0 && centre + ref_len <= static_cast<int64_t>(seq.size()), "alt_window: REF outside seq");
  std::string out;
  out.reserve(static_cast<size_t>(len_bp));
  out.append(seq.substr(0, static_cast<size_t>(std::min(centre, len_bp))));
  if (static_cast<int64_t>(out.size()) < len_bp) out.append(alt.substr(0, static_cast<size_t>(len_bp) - out.size()));
  if (static_cast<int64_t>(out.size()) < len_bp) {
    const std::string_view after = seq.substr(static_cast<size_t>(centre + ref_len));
    out.append(after.substr(0, static_cast<size_t>(len_bp) - out.size()));
  }
  return out;
}

std::string chr_alias(std::string_view contig) {
  if (contig.size() > 3 && contig.starts_with("chr")) return std::string(contig.substr(3));
  return "chr" + std::string(contig);
}

}  // namespace strand::pipelines
