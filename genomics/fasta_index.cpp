// Implemented by the genomics I/O work; see fasta_index.h.
