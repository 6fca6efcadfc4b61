// `strand train-head`: fit an annotation head (annotation_head.h) on a frozen backbone from
// annotated genomes. Labels per base (head_labels.h); part of the genome held out (whole
// contigs, or the end of every contig) and never trained on; every contig embedded exactly,
// a seeded random sample of its bases kept; the head trained (head_training.h), its held-out
// per-class precision and recall reported on stderr and stored in the file with the backbone's
// checksum.
#pragma once

#include "pipelines/head_training.h"
#include "pipelines/train_head_options.h"

namespace strand::pipelines {

HeadMetrics run_train_head(const TrainHeadOptions& options);

}  // namespace strand::pipelines
