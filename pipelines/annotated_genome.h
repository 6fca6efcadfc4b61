// Genomes with their annotation, as train-head reads them: GenBank files (sequence and
// features in one), or FASTA files each paired with a GFF3 file. Every contig with its
// features; a GFF3 naming a contig absent from its FASTA, or a feature past a contig's end,
// is an error naming both files.
#pragma once

#include <string>
#include <vector>

#include "genomics/feature.h"

namespace strand::pipelines {

struct AnnotatedContig {
  std::string name;
  std::string source;  // the file it came from
  std::string seq;
  std::vector<genomics::Feature> features;
};

std::vector<AnnotatedContig> read_annotated_genomes(const std::vector<std::string>& genbank,
                                                    const std::vector<std::string>& fasta,
                                                    const std::vector<std::string>& gff);

}  // namespace strand::pipelines
