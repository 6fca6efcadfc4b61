// Implemented by the genomics I/O work; see gff3_writer.h.
