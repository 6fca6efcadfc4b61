// Implemented by the genomics I/O work; see fastx_reader.h.
