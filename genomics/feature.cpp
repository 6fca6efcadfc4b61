// Implemented by the genomics I/O work; see feature.h.
