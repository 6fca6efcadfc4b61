// Pieces shared by the per-record TBB pipelines (embed, loglik, annotate): the serial reading
// stage, how many items may be in flight, and how errors name the record.
#pragma once

#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <memory>
#include <string>

#include "core/error.h"
#include "genomics/sequence_source.h"

namespace strand::pipelines {

// Items in flight: enough for every thread and two per GPU, and memory of that many records.
inline size_t pipeline_tokens(int threads, size_t devices) {
  return std::max<size_t>({2, 2 * static_cast<size_t>(threads), 2 * devices});
}

// The first stage: the next record of `source` into a new Item (which has a SeqRecord `rec`),
// serially and in input order.
template <typename Item>
auto read_records(genomics::SequenceSources& source) {
  return tbb::make_filter<void, std::shared_ptr<Item>>(tbb::filter_mode::serial_in_order,
                                                       [&source](tbb::flow_control& fc) -> std::shared_ptr<Item> {
                                                         auto item = std::make_shared<Item>();
                                                         if (source.next(item->rec)) return item;
                                                         fc.stop();
                                                         return nullptr;
                                                       });
}

// How an error names the record a pipeline was working on: "record 'NAME' (N bases)".
inline std::string record_context(const genomics::SeqRecord& rec) {
  return cat("record '", rec.name, "' (", rec.seq.size(), " bases)");
}

}  // namespace strand::pipelines
