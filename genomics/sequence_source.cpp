// Implemented by the genomics I/O work; see sequence_source.h.
