#include "pipelines/embed.h"

#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/output_file.h"
#include "core/progress.h"
#include "core/version.h"
#include "genomics/sequence_source.h"
#include "genomics/tokenizer.h"
#include "kernels/backend.h"
#include "model/backbone.h"
#include "model/safetensors.h"
#include "model/weights.h"
#include "pipelines/backbone_pool.h"
#include "pipelines/compute_scope.h"
#include "pipelines/model_resolver.h"
#include "pipelines/record_hidden.h"
#include "pipelines/record_pipeline.h"

namespace strand::pipelines {
namespace {

using kernels::ConstMatF;
using kernels::MatF;

// One record on its way through the pipeline.
struct Item {
  genomics::SeqRecord rec;
  std::vector<float> values;  // [rows, width] row-major
  int64_t rows = 0, width = 0;
};

// --rc average: strand-symmetric features. PS: the two strand halves of the equivariant
// representation averaged ((h1 + reverse_channels(h2)) / 2, [L, d]); otherwise the mean of the
// forward pass and the reverse complement's, mirrored back ([L, d]).
std::vector<float> rc_average(model::Backbone& backbone, const std::vector<int32_t>& ids, std::vector<float> h,
                              const EmbedOptions& o, const model::ForwardOptions& fwd, int64_t& width) {
  const int64_t len = static_cast<int64_t>(ids.size());
  if (backbone.config().rcps) {
    const int64_t d = backbone.hidden_width() / 2;
    std::vector<float> out(static_cast<size_t>(len * d));
    for (int64_t i = 0; i < len; ++i)
      for (int64_t c = 0; c < d; ++c)
        out[static_cast<size_t>(i * d + c)] =
            0.5f * (h[static_cast<size_t>(i * 2 * d + c)] + h[static_cast<size_t>(i * 2 * d + 2 * d - 1 - c)]);
    width = d;
    return out;
  }
  const std::vector<int32_t> rc_ids = genomics::reverse_complement_tokens(ids);
  const std::vector<float> h_rc = record_hidden_states(backbone, rc_ids, o.tiling, fwd);
  for (int64_t i = 0; i < len; ++i)
    for (int64_t c = 0; c < width; ++c)
      h[static_cast<size_t>(i * width + c)] =
          0.5f * (h[static_cast<size_t>(i * width + c)] + h_rc[static_cast<size_t>((len - 1 - i) * width + c)]);
  return h;
}

// The .npy format (version 1.0) for one float32 [rows, cols] matrix.
void write_npy(const std::string& path, const std::vector<float>& values, int64_t rows, int64_t cols) {
  std::string header = cat("{'descr': '<f4', 'fortran_order': False, 'shape': (", rows, ", ", cols, "), }");
  const size_t unpadded = 10 + header.size() + 1;  // magic+version+length, header, '\n'
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  const bool to_stdout = path == "-";
  std::FILE* f = to_stdout ? stdout : std::fopen(path.c_str(), "wb");
  if (f == nullptr) fail(path, ": cannot create: ", std::strerror(errno));
  const unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<unsigned char>(header.size() & 0xff),
                                      static_cast<unsigned char>(header.size() >> 8)};
  bool ok = std::fwrite(preamble, 1, 10, f) == 10 && std::fwrite(header.data(), 1, header.size(), f) == header.size();
  if (ok && !values.empty()) ok = std::fwrite(values.data(), sizeof(float), values.size(), f) == values.size();
  ok = std::fflush(f) == 0 && ok;
  if (!to_stdout) ok = std::fclose(f) == 0 && ok;
  if (!ok) fail(path, ": write error: ", std::strerror(errno));
}

const char* pool_name(Pooling p) { return p == Pooling::kMean ? "mean" : "none"; }
const char* rc_name(RcMode r) { return r == RcMode::kAverage ? "average" : "none"; }

}  // namespace

void run_embed(const EmbedOptions& o) {
  o.validate();
  ComputeScope compute(o.compute, "embed", /*several_gpus=*/true);
  const int threads = compute.threads();

  const std::string folder = resolve_model_folder(o.model);
  const model::ModelWeights weights = model::load_model(folder);
  if (o.layer && *o.layer > weights.config.n_layer)
    fail("--layer ", *o.layer, ": the model has ", weights.config.n_layer, " blocks (0 = token embeddings)");
  BackbonePool backbones(weights, compute);
  model::ForwardOptions fwd;
  fwd.layer = o.layer ? *o.layer : -1;
  const std::string mode = o.tiling.mode_text("records");
  log_info("embed", "model ", folder, " (", weights.config.n_layer, " layers, hidden width ",
           backbones.front().hidden_width(), "), ", mode, ", pool ", pool_name(o.pool), ", rc ", rc_name(o.rc), ", ",
           threads, " threads", backbones.size() > 1 ? cat(", ", backbones.size(), " GPUs") : std::string());

  AtomicOutput out(o.output.path);
  std::unique_ptr<model::SafetensorsWriter> writer;
  if (o.format == EmbeddingFormat::kSafetensors) writer = std::make_unique<model::SafetensorsWriter>(out.path());
  std::vector<float> pooled;  // [records, width] for --pool mean
  std::vector<std::string> pooled_names;
  int64_t pooled_width = -1;
  std::map<std::string, int> seen_names;
  uint64_t records = 0, skipped_empty = 0;
  Progress progress("embed", "bases");

  genomics::SequenceSourceOptions source_options;
  source_options.regions = o.regions;
  source_options.reference = o.fasta_ref;
  genomics::SequenceSources source(o.inputs, source_options);

  // read (serial, in order) → embed (parallel) → write (serial, in order); tokens bound the
  // records in flight, so memory is a few records' activations whatever the input size.
  const size_t tokens = pipeline_tokens(threads, backbones.size());
  tbb::parallel_pipeline(
      tokens,
      read_records<Item>(source) &
          tbb::make_filter<std::shared_ptr<Item>, std::shared_ptr<Item>>(
              tbb::filter_mode::parallel,
              [&](std::shared_ptr<Item> item) {
                const std::vector<int32_t> ids = genomics::tokenize(item->rec.seq);
                if (ids.empty()) return item;  // written as skipped
                const BackbonePool::Lease leased = backbones.acquire();  // one GPU per record in flight
                int64_t width = leased->hidden_width();
                std::vector<float> h = with_context(record_context(item->rec), [&] {
                  std::vector<float> states = record_hidden_states(*leased, ids, o.tiling, fwd);
                  if (o.rc == RcMode::kAverage) states = rc_average(*leased, ids, std::move(states), o, fwd, width);
                  return states;
                });
                item->width = width;
                if (o.pool == Pooling::kMean) {
                  std::vector<double> sum(static_cast<size_t>(width), 0.0);
                  for (size_t i = 0; i < ids.size(); ++i)
                    for (int64_t c = 0; c < width; ++c) sum[static_cast<size_t>(c)] += h[i * static_cast<size_t>(width) + static_cast<size_t>(c)];
                  item->values.resize(static_cast<size_t>(width));
                  for (int64_t c = 0; c < width; ++c)
                    item->values[static_cast<size_t>(c)] = static_cast<float>(sum[static_cast<size_t>(c)] / static_cast<double>(ids.size()));
                  item->rows = 1;
                } else {
                  item->values = std::move(h);
                  item->rows = static_cast<int64_t>(ids.size());
                }
                return item;
              }) &
          tbb::make_filter<std::shared_ptr<Item>, void>(
              tbb::filter_mode::serial_in_order, [&](std::shared_ptr<Item> item) {
                progress.add(item->rec.seq.size());
                if (item->rows == 0) {
                  if (skipped_empty++ == 0) log_warning("embed", "record '", item->rec.name, "' is empty: skipped (and any others)");
                  return;
                }
                // Tensor names are record names; repeats get "#2", "#3", ... (said once).
                std::string name = item->rec.name.empty() ? cat("record_", records + 1) : item->rec.name;
                const int count = ++seen_names[name];
                if (count > 1) {
                  if (count == 2) log_warning("embed", "record name '", name, "' repeats: later ones are named '", name, "#2', ...");
                  name = cat(name, "#", count);
                }
                ++records;
                if (o.pool == Pooling::kMean) {
                  pooled_width = item->width;
                  pooled.insert(pooled.end(), item->values.begin(), item->values.end());
                  pooled_names.push_back(std::move(name));
                } else {
                  writer->add(std::move(name), {item->rows, item->width}, item->values);
                }
              }));
  progress.finish();
  if (records == 0) fail("no sequences to embed in ", o.inputs.size() == 1 ? o.inputs[0] : std::string("the inputs"));

  if (o.pool == Pooling::kMean && o.format == EmbeddingFormat::kNpy) {
    write_npy(out.path(), pooled, static_cast<int64_t>(pooled_names.size()), pooled_width);
  } else {
    if (o.pool == Pooling::kMean) {
      writer->add("embeddings", {static_cast<int64_t>(pooled_names.size()), pooled_width}, pooled);
      writer->set_metadata("names", nlohmann::json(pooled_names).dump());
    }
    writer->set_metadata("format", "strand embeddings");
    writer->set_metadata("strand_version", cat(STRAND_VERSION, " (", git_revision(), ")"));
    writer->set_metadata("model", folder);
    writer->set_metadata("model_sha256", weights.checksum);
    writer->set_metadata("pool", pool_name(o.pool));
    writer->set_metadata("rc", rc_name(o.rc));
    writer->set_metadata("layer", o.layer ? std::to_string(*o.layer) : "final");
    writer->set_metadata("mode", mode);
    writer->finish();
  }
  out.commit();
  log_info("embed", records, " records embedded", skipped_empty ? cat(", ", skipped_empty, " empty skipped") : "",
           " -> ", o.output.path);
}

}  // namespace strand::pipelines
