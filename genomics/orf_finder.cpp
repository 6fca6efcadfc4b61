// ORF enumeration; see orf_finder.h.
#include "genomics/orf_finder.h"

#include <algorithm>
#include <cstdint>

#include "core/error.h"

namespace strand::genomics {

namespace {

constexpr uint8_t kNotAcgt = 4;

// A stretch of one strand with no gap, in strand coordinates (0-based along the strand in
// transcription order).
struct Segment {
  int64_t beg0 = 0;
  int64_t end0 = 0;
};

// An ORF in strand coordinates: positions count along the strand in transcription order, so
// a start is the first base of its codon and the ORF is [beg, end) on that strand.
struct StrandOrf {
  int64_t beg0 = 0;
  int64_t end0 = 0;
  bool partial5 = false;
  bool partial3 = false;
  std::vector<int64_t> starts;
};

// 2-bit base codes of the strand in transcription order (T=0, C=1, A=2, G=3, else 4). The
// reverse strand complements by XOR 2 (T<->A is 0<->2, C<->G is 1<->3).
std::vector<uint8_t> strand_codes(std::string_view seq, bool reverse) {
  const size_t n = seq.size();
  std::vector<uint8_t> codes(n);
  for (size_t i = 0; i < n; ++i) {
    const auto code = static_cast<uint8_t>(GeneticCode::base_code(seq[i]));
    if (!reverse)
      codes[i] = code;
    else
      codes[n - 1 - i] = code == kNotAcgt ? kNotAcgt : static_cast<uint8_t>(code ^ 2);
  }
  return codes;
}

// The gap-free stretches: what remains after removing runs of >= min_gap_run non-ACGT bases.
std::vector<Segment> segments_between_gaps(const std::vector<uint8_t>& codes, int min_gap_run) {
  std::vector<Segment> out;
  const auto n = static_cast<int64_t>(codes.size());
  int64_t seg_beg0 = 0;
  int64_t pos0 = 0;
  while (pos0 < n) {
    if (codes[pos0] != kNotAcgt) {
      ++pos0;
      continue;
    }
    int64_t run_end0 = pos0;
    while (run_end0 < n && codes[run_end0] == kNotAcgt) ++run_end0;
    if (run_end0 - pos0 >= min_gap_run) {
      if (pos0 > seg_beg0) out.push_back({seg_beg0, pos0});
      seg_beg0 = run_end0;
    }
    pos0 = run_end0;
  }
  if (n > seg_beg0) out.push_back({seg_beg0, n});
  return out;
}

class StrandScanner {
 public:
  StrandScanner(const std::vector<uint8_t>& codes, const OrfOptions& options)
      : codes_(codes), options_(options), code_(*options.code) {}

  void scan(std::vector<StrandOrf>& out) {
    for (const Segment& seg : segments_between_gaps(codes_, options_.min_gap_run))
      for (int frame = 0; frame < 3; ++frame) scan_frame(seg, seg.beg0 + frame, out);
  }

 private:
  int codon_at(int64_t pos0) const {
    const int b1 = codes_[pos0], b2 = codes_[pos0 + 1], b3 = codes_[pos0 + 2];
    if ((b1 | b2 | b3) > 3) return GeneticCode::kUnknownCodon;
    return (b1 << 4) | (b2 << 2) | b3;
  }

  // Walks the codons [first_pos0, ...) of one frame of a segment, emitting one ORF per
  // stretch between stops (and the open stretches at the segment's ends).
  void scan_frame(const Segment& seg, int64_t first_pos0, std::vector<StrandOrf>& out) {
    if (first_pos0 + 3 > seg.end0) return;
    bool open5 = true;                  // the current stretch began at the segment's 5' edge
    int64_t stretch_pos0 = first_pos0;  // first codon of the current stretch
    starts_.clear();
    int64_t pos0 = first_pos0;
    for (; pos0 + 3 <= seg.end0; pos0 += 3) {
      const int index = codon_at(pos0);
      if (index == GeneticCode::kUnknownCodon) continue;
      if (code_.is_stop_at(index)) {
        emit(open5, stretch_pos0, pos0 + 3, /*partial3=*/false, out);
        open5 = false;
        stretch_pos0 = pos0 + 3;
        starts_.clear();
      } else if (code_.is_start_at(index)) {
        starts_.push_back(pos0);
      }
    }
    // `pos0` is now one past the last complete codon of the frame.
    if (options_.allow_partial && pos0 > stretch_pos0) emit(open5, stretch_pos0, pos0, /*partial3=*/true, out);
  }

  // One ORF ending at `end0` (after its stop, or its last codon when partial3) whose stretch
  // began at `stretch_pos0`; candidates are the collected starts, plus the edge start when
  // the stretch is open at its 5' end and partial ORFs are wanted.
  void emit(bool open5, int64_t stretch_pos0, int64_t end0, bool partial3, std::vector<StrandOrf>& out) {
    const int64_t sense_end0 = partial3 ? end0 : end0 - 3;  // end of the last sense codon
    StrandOrf orf;
    orf.end0 = end0;
    orf.partial3 = partial3;
    // The edge start needs at least one sense codon: a stretch that is only a stop is no ORF.
    if (open5 && options_.allow_partial && stretch_pos0 < sense_end0) {
      orf.partial5 = true;
      orf.starts.push_back(stretch_pos0);
    }
    for (int64_t start_pos0 : starts_) {
      if (start_pos0 >= sense_end0) break;
      if (!orf.starts.empty() && orf.starts.back() == start_pos0) continue;  // edge codon is a start codon
      orf.starts.push_back(start_pos0);
    }
    // Starts are in increasing position, so gene lengths decrease: keep the long-enough prefix
    // (the edge start is the longest, so it survives whenever anything does).
    size_t keep = 0;
    while (keep < orf.starts.size() && end0 - orf.starts[keep] >= options_.min_len_bp) ++keep;
    orf.starts.resize(keep);
    if (orf.starts.empty()) return;
    orf.beg0 = orf.starts.front();
    out.push_back(std::move(orf));
  }

  const std::vector<uint8_t>& codes_;
  const OrfOptions& options_;
  const GeneticCode& code_;
  std::vector<int64_t> starts_;  // real start codons of the current stretch
};

}  // namespace

void OrfOptions::validate() const {
  if (code == nullptr) fail("ORF finder: no genetic code given");
  if (min_len_bp < 3) fail("ORF finder: minimum ORF length ", min_len_bp, " bp is below one codon (3 bp)");
  if (min_gap_run < 1) fail("ORF finder: minimum gap run ", min_gap_run, " must be at least 1 base");
}

std::vector<Orf> find_orfs(std::string_view seq, const OrfOptions& options) {
  options.validate();
  const auto n = static_cast<int64_t>(seq.size());
  std::vector<Orf> out;
  for (const Strand strand : {Strand::kForward, Strand::kReverse}) {
    const bool reverse = strand == Strand::kReverse;
    std::vector<StrandOrf> local;
    StrandScanner(strand_codes(seq, reverse), options).scan(local);
    out.reserve(out.size() + local.size());
    for (StrandOrf& s : local) {
      Orf orf;
      orf.strand = strand;
      orf.partial5 = s.partial5;
      orf.partial3 = s.partial3;
      if (!reverse) {
        orf.beg0 = s.beg0;
        orf.end0 = s.end0;
        orf.starts = std::move(s.starts);
      } else {
        // Strand position q is forward base n-1-q; [beg0, end0) on the strand is
        // [n-end0, n-beg0) forward.
        orf.beg0 = n - s.end0;
        orf.end0 = n - s.beg0;
        orf.starts.reserve(s.starts.size());
        for (int64_t q : s.starts) orf.starts.push_back(n - 1 - q);
      }
      STRAND_ASSERT(orf.beg0 >= 0 && orf.beg0 < orf.end0 && orf.end0 <= n, "ORF out of the contig");
      STRAND_ASSERT((orf.end0 - orf.beg0) % 3 == 0, "ORF length not a multiple of 3");
      out.push_back(std::move(orf));
    }
  }
  std::sort(out.begin(), out.end(), [](const Orf& a, const Orf& b) {
    if (a.beg0 != b.beg0) return a.beg0 < b.beg0;
    if (a.end0 != b.end0) return a.end0 < b.end0;
    return a.strand == Strand::kForward && b.strand == Strand::kReverse;
  });
  return out;
}

}  // namespace strand::genomics
