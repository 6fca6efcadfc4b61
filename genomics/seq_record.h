// One named sequence as strand's readers return it: a FASTA/FASTQ record, a region of an
// indexed FASTA, or a read from SAM/BAM/CRAM. The bases are kept as in the file (case
// preserved: soft-masking carries meaning); tokenization upper-cases.
#pragma once

#include <cstdint>
#include <string>

namespace strand::genomics {

struct SeqRecord {
  std::string name;     // first word of the header line / read name / region "chr:beg-end"
  std::string comment;  // rest of the header line (FASTA/FASTQ), empty otherwise
  std::string seq;      // bases in read orientation
  std::string qual;     // phred+33 qualities (FASTQ/BAM), empty when absent
  // For a region of a larger sequence: the contig and 0-based start of seq[0]; for a
  // whole record contig == name and beg0 == 0.
  std::string contig;
  int64_t beg0 = 0;
  uint16_t sam_flag = 0;  // SAM FLAG for reads; 0 for FASTA/FASTQ
};

}  // namespace strand::genomics
