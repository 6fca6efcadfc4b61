// Typed option pieces that several jobs share: where an output goes and in which format,
// which device and how many threads, how a long record is tiled. apps/ fills them from the
// command line (apps/common_options.cpp); the <job>_options.h structs hold the ones they use.
// The checks live here, next to the types, so that a pipeline called from code gets the same
// errors as one called from the command line; messages name the command-line option.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/text.h"
#include "genomics/region.h"
#include "genomics/vcf_writer.h"
#include "kernels/backend.h"
#include "kernels/device.h"

namespace strand::pipelines {

// -O letters with bcftools' meanings. VCF outputs take all four; text outputs (FASTA, TSV,
// GFF3, bedGraph) take v (plain) and z (bgzip); binary outputs (safetensors, npy, bigWig)
// have no -O: their format is fixed.
enum class OutputType { kPlain, kBgzf, kBcf, kBcfUncompressed };
enum class OutputKind { kVcf, kText, kBinary };

inline char output_type_letter(OutputType type) {
  switch (type) {
    case OutputType::kPlain: return 'v';
    case OutputType::kBgzf: return 'z';
    case OutputType::kBcf: return 'b';
    case OutputType::kBcfUncompressed: return 'u';
  }
  return '?';
}

inline genomics::VcfFormat to_vcf_format(OutputType type) {
  switch (type) {
    case OutputType::kPlain: return genomics::VcfFormat::kVcf;
    case OutputType::kBgzf: return genomics::VcfFormat::kVcfGz;
    case OutputType::kBcf: return genomics::VcfFormat::kBcf;
    case OutputType::kBcfUncompressed: return genomics::VcfFormat::kBcfUncompressed;
  }
  return genomics::VcfFormat::kVcf;
}

struct OutputOptions {
  std::string path = "-";  // "-" = standard output
  OutputType type = OutputType::kPlain;
  genomics::IndexKind index = genomics::IndexKind::kNone;  // -W (VCF outputs only)

  bool is_stdout() const { return path == "-"; }
  // Only BGZF-compressed outputs can be indexed (htslib indexes BGZF blocks).
  bool bgzf_compressed() const { return type == OutputType::kBgzf || type == OutputType::kBcf; }

  void validate(OutputKind kind) const {
    if (path.empty()) fail("invalid -o/--output: empty file name");
    if (kind == OutputKind::kBinary && is_stdout())
      fail("-o/--output: this output is a binary file and cannot go to standard output; name a file");
    if (kind != OutputKind::kVcf && (type == OutputType::kBcf || type == OutputType::kBcfUncompressed))
      fail("invalid -O/--output-type '", output_type_letter(type), "': BCF is for VCF outputs (use v or z)");
    if (index == genomics::IndexKind::kNone) return;
    if (kind != OutputKind::kVcf) fail("-W/--write-index: only VCF/BCF outputs can be indexed");
    if (is_stdout()) fail("-W/--write-index needs an output file (-o FILE), not standard output");
    if (!bgzf_compressed())
      fail("-W/--write-index needs a compressed output (-O z or -O b), but '", path, "' is written with -O ",
           output_type_letter(type));
    if (index == genomics::IndexKind::kTbi && type != OutputType::kBgzf)
      fail("-W/--write-index=tbi needs -O z: TBI cannot index BCF (use --write-index=csi)");
  }
};

// Several outputs of one run (-o, -a, -d, --tracks ...): at most one may be standard output,
// and no two may name the same file. `outputs` pairs an option name with its path ("" = unused).
inline void check_distinct_outputs(const std::vector<std::pair<std::string_view, std::string>>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].second.empty()) continue;
    for (size_t j = i + 1; j < outputs.size(); ++j) {
      if (outputs[i].second != outputs[j].second) continue;
      if (outputs[i].second == "-")
        fail(outputs[i].first, " and ", outputs[j].first, " both write to standard output; name a file for one");
      fail(outputs[i].first, " and ", outputs[j].first, " both write to '", outputs[i].second, "'");
    }
  }
}

// -r/-R read only the given regions, which needs random access: an indexed file, not stdin.
inline void check_regions_need_index(const std::vector<genomics::Region>& regions,
                                     const std::vector<std::string>& inputs) {
  if (regions.empty()) return;
  for (const auto& input : inputs)
    if (input == "-") fail("-r/-R need an indexed input file; they cannot be used with standard input ('-')");
}

struct ComputeOptions {
  int threads = 0;  // --threads; 0 = all cores
  kernels::DeviceSpec device;
  // --precision: how GEMMs multiply on a GPU (kernels/backend.h); the CPU is fp32 only.
  kernels::GemmPrecision precision = kernels::GemmPrecision::kFp32;

  void validate() const {
    if (threads < 0) fail("invalid --threads ", threads, ": must be >= 0 (0 = all cores)");
    if (precision != kernels::GemmPrecision::kFp32 && device.kind == kernels::DeviceSpec::Kind::kCpu)
      fail("--precision ", kernels::to_string(precision), " needs a GPU (--device cuda): the CPU computes in fp32");
  }
};

// --window W --overlap O for bidirectional models: by default (window 0) a record is processed
// whole, exactly; with a window it is cut into W-base tiles overlapping by O bases, and each
// tile contributes its centre.
struct TilingOptions {
  int64_t window = 0;   // 0 = whole records
  int64_t overlap = 0;  // bases shared by neighbouring tiles

  bool enabled() const { return window > 0; }
  // For logs and output metadata: "windowed (window W, overlap O)" or "exact (whole <unit>)".
  std::string mode_text(std::string_view unit) const {
    return enabled() ? cat("windowed (window ", window, ", overlap ", overlap, ")") : cat("exact (whole ", unit, ")");
  }
  void validate() const {
    if (window < 0) fail("invalid --window ", window, ": must be >= 1 (or absent for whole records)");
    if (overlap < 0) fail("invalid --overlap ", overlap, ": must be >= 0");
    if (window == 0 && overlap > 0) fail("--overlap needs --window");
    if (window > 0 && overlap >= window)
      fail("invalid --overlap ", overlap, ": must be smaller than --window ", window);
  }
};
// The overlap used when --window is given without --overlap: a quarter of the tile, so each
// kept centre has at least W/8 bases of context on both sides.
inline int64_t default_overlap(int64_t window) {
  return window / 4;
}

enum class TrackFormat { kBigWig, kBedGraph };

inline const char* track_format_name(TrackFormat format) {
  return format == TrackFormat::kBigWig ? "bigwig" : "bedgraph";
}

// Batch sizes: at least one item, and a sane upper bound so a typo does not exhaust memory.
inline constexpr int kMaxBatch = 1 << 16;
inline void check_batch(int batch) {
  if (batch < 1 || batch > kMaxBatch) fail("invalid --batch ", batch, ": must be between 1 and ", kMaxBatch);
}

}  // namespace strand::pipelines
