// Options of `strand annotate`: genes of a genome as GFF3 (plus proteins/genes FASTA and
// per-base tracks of the head's classes).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "genomics/region.h"
#include "pipelines/default_models.h"
#include "pipelines/shared_options.h"

namespace strand::pipelines {

// NCBI genetic codes (https://www.ncbi.nlm.nih.gov/Taxonomy/Utils/wprintgc.cgi); 7, 8 and
// 17-20 are retired.
inline constexpr int kGeneticCodes[] = {1,  2,  3,  4,  5,  6,  9,  10, 11, 12, 13, 14, 15, 16,
                                        21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33};

struct AnnotateOptions {
  std::string input = "-";  // genome FASTA (plain or bgzip), "-" = stdin
  std::string model = std::string(kDefaultAnnotateModel);
  std::string head;           // --head: a head file; empty = the model's own head
  OutputOptions output;       // GFF3, -O v|z
  std::string tracks_prefix;  // --tracks: PREFIX.<class>.bw|.bedGraph; empty = none
  TrackFormat track_format = TrackFormat::kBigWig;
  std::string proteins;   // -a: protein translations (FASTA); empty = none
  std::string genes;      // -d: gene nucleotide sequences (FASTA); empty = none
  int genetic_code = 11;  // -g: translation table for -a and start/stop codons
  TilingOptions tiling;
  std::vector<genomics::Region> regions;
  ComputeOptions compute;
  bool write_provenance = true;  // provenance pragmas; false with --no-version
  std::string command_line;

  void validate() const {
    if (input.empty()) fail("no input genome given");
    if (model.empty()) fail("invalid -m/--model: empty");
    output.validate(OutputKind::kText);
    if (tracks_prefix == "-") fail("--tracks takes a file name prefix, not '-'");
    check_distinct_outputs({{"-o/--output", output.path}, {"-a/--proteins", proteins}, {"-d/--genes", genes}});
    if (std::find(std::begin(kGeneticCodes), std::end(kGeneticCodes), genetic_code) == std::end(kGeneticCodes))
      fail("invalid -g/--genetic-code ", genetic_code, ": not an NCBI translation table (1-6, 9-16, 21-33)");
    tiling.validate();
    compute.validate();
    check_regions_need_index(regions, {input});
  }
};

}  // namespace strand::pipelines
