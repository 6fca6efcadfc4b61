// Implemented by the genomics I/O work; see region.h.
