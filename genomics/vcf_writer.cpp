// Implemented by the genomics I/O work; see vcf_writer.h.
