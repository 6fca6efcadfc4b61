// `strand annotate`: genes of a genome from a model and its annotation head. Per contig, in a
// TBB pipeline (read → annotate in parallel, one GPU per contig in flight → collect in input
// order): the model's exact full-length features, the head's per-base class probabilities,
// per-base coding log-odds, ORFs on both strands (genomics/orf_finder.h) and the gene calls
// (gene_caller.h). Then GFF3 (gene + CDS with ID/Parent, score, start_type, partial=true and
// start_range/end_range where a contig edge or gap cuts a gene, provenance pragmas), optional
// protein / gene FASTA (headers: ID, contig:beg-end(strand), start_type, partial=<left><right>
// as Prodigal writes it, score), and one bigWig or bedGraph track per head class.
#pragma once

#include <cstdint>

#include "pipelines/annotate_options.h"

namespace strand::pipelines {

struct AnnotateSummary {
  int64_t contigs = 0, bases = 0, genes = 0, partial_genes = 0;
};

AnnotateSummary run_annotate(const AnnotateOptions& options);

}  // namespace strand::pipelines
