// Implemented by the genomics I/O work; see bed_writer.h.
