// Options of `strand bench`: forward-pass throughput of a model on this machine over a range
// of sequence lengths (random DNA), as TSV.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipelines/default_models.h"
#include "pipelines/shared_options.h"

namespace strand::pipelines {

inline constexpr int64_t kMaxBenchLength = int64_t{1} << 32;

inline constexpr int64_t kMinBenchTileRows = 256;

struct BenchOptions {
  std::string model = std::string(kDefaultBenchModel);
  std::vector<int64_t> lengths = {10'000, 100'000, 1'000'000};  // bases per sequence
  int repeats = 3;                                              // timed runs per length (after one untimed warm-up)
  int batch = 1;                                                // sequences per forward pass
  // Rows per tile of the exact pass (memory against speed); 0 = the backend's default. Below
  // kMinBenchTileRows the per-tile checkpoints (~39 KB per tile and half for random-ps-131k)
  // outweigh what the smaller workspace saves.
  int64_t tile_rows = 0;
  // Where the timed pass leaves the final hidden states: false, copied into host memory (what
  // every strand command needs, and the default); true, in the backend's memory, as the
  // reference's benchmark leaves last_hidden_state on the GPU (`--hidden device`).
  bool hidden_on_device = false;
  OutputOptions output;                                         // TSV, -O v|z
  ComputeOptions compute;

  void validate() const {
    if (model.empty()) fail("invalid -m/--model: empty");
    if (lengths.empty()) fail("invalid --lengths: no length given");
    for (int64_t length : lengths)
      if (length < 1 || length > kMaxBenchLength)
        fail("invalid --lengths: ", length, " is not between 1 and ", kMaxBenchLength);
    if (repeats < 1) fail("invalid --repeats ", repeats, ": must be >= 1");
    check_batch(batch);
    if (tile_rows != 0 && (tile_rows < kMinBenchTileRows || tile_rows > kMaxBenchLength))
      fail("invalid --tile-rows ", tile_rows, ": must be 0 (the backend's default) or between ", kMinBenchTileRows,
           " and ", kMaxBenchLength);
    output.validate(OutputKind::kText);
    compute.validate();
  }
};

}  // namespace strand::pipelines
