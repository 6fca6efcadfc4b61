// bigWig input through libBigWig: the per-base values of a contig interval, as BigWigWriter
// wrote them (or any bigWig: intervals, spans or steps alike). `strand annotate --from-tracks`
// reads a previous run's class tracks with it instead of running the model again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strand::genomics {

class BigWigReader {
 public:
  // Throws strand::Error naming the file when it cannot be opened or is not a bigWig.
  explicit BigWigReader(std::string path);
  ~BigWigReader();
  BigWigReader(const BigWigReader&) = delete;
  BigWigReader& operator=(const BigWigReader&) = delete;

  const std::string& path() const { return path_; }
  // The contig's length in the file's header, or nullopt when the file does not list it.
  std::optional<int64_t> contig_length(std::string_view contig) const;
  // Values of bases [beg0, end0) of `contig`, one per base; bases without a value are NaN.
  // Throws for a contig the file does not list or an interval past its end. Not thread-safe
  // (libBigWig reads through one file handle): one reader per thread.
  std::vector<float> values(std::string_view contig, int64_t beg0, int64_t end0);

 private:
  std::string path_;
  void* bw_ = nullptr;  // bigWigFile_t (an anonymous struct in <bigWig.h>, see bigwig_writer.h)
};

}  // namespace strand::genomics
