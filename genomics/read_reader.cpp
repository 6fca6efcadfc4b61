// Implemented by the genomics I/O work; see read_reader.h.
