// Implemented by the genomics I/O work; see genbank_reader.h.
