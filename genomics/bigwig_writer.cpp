// Implemented by the genomics I/O work; see bigwig_writer.h.
