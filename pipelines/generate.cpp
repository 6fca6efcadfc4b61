#include "pipelines/generate.h"

#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/output_file.h"
#include "core/progress.h"
#include "core/text.h"
#include "genomics/sequence_source.h"
#include "genomics/text_writer.h"
#include "genomics/tokenizer.h"
#include "pipelines/backbone_pool.h"
#include "pipelines/compute_scope.h"
#include "pipelines/model_resolver.h"
#include "pipelines/sampler.h"
#include "pipelines/window_scorer.h"

namespace strand::pipelines {
namespace {

constexpr int kDigits = 8;  // significant digits of the values written (header values)
struct Prompt {
  std::string id;
  std::string seq;  // upper case; empty = none
};

// One batch: samples [first, first + count) of one prompt.
struct Batch {
  size_t prompt = 0;
  int64_t first = 0, count = 0;
  std::vector<std::string> bases;  // [count] generated
  std::vector<double> logp;        // [count] sum of log p over the scored generated bases
};

// The logits after the last prompt base of each sequence, feeding the prompt in pieces of at
// most `piece_rows` rows (so a long prompt costs one piece of memory).
void prefill(model::Backbone::Stream& stream, const std::vector<int32_t>& prompt, int64_t vocab, int64_t piece_rows,
             std::vector<float>& last_logits) {
  const int64_t seqs = stream.sequences(), len = static_cast<int64_t>(prompt.size());
  const int64_t piece = std::max<int64_t>(1, piece_rows / seqs);
  std::vector<int32_t> ids;
  std::vector<float> logits;
  for (int64_t p0 = 0; p0 < len; p0 += piece) {
    const int64_t n = std::min(piece, len - p0);
    ids.clear();
    for (int64_t s = 0; s < seqs; ++s) ids.insert(ids.end(), prompt.begin() + p0, prompt.begin() + p0 + n);
    logits.resize(static_cast<size_t>(seqs * n * vocab));
    stream.feed_logits(ids, n, kernels::MatF(logits.data(), seqs * n, vocab));
    if (p0 + n == len)
      for (int64_t s = 0; s < seqs; ++s)
        std::copy_n(logits.data() + (s * n + n - 1) * vocab, vocab, last_logits.data() + s * vocab);
  }
}

void generate_batch(model::Backbone& backbone, const Prompt& prompt, size_t prompt_index, const GenerateOptions& o,
                    uint64_t seed, Batch& b) {
  const int64_t seqs = b.count, vocab = backbone.vocab_size();
  std::vector<SampleRng> rngs;
  for (int64_t s = 0; s < seqs; ++s)
    rngs.emplace_back(seed, (static_cast<uint64_t>(prompt_index) << 32) | static_cast<uint64_t>(b.first + s));
  b.bases.assign(static_cast<size_t>(seqs), std::string());
  b.logp.assign(static_cast<size_t>(seqs), 0.0);
  for (auto& s : b.bases) s.reserve(static_cast<size_t>(o.length));

  model::Backbone::Stream stream(backbone, seqs);
  std::vector<float> logits(static_cast<size_t>(seqs * vocab));  // of each sequence's next base
  std::vector<int32_t> next(static_cast<size_t>(seqs));
  int64_t produced = 0;
  if (prompt.seq.empty()) {
    // Nothing to condition on: the first base is drawn uniformly (and, like the first base of
    // any sequence, not scored).
    for (int64_t s = 0; s < seqs; ++s) {
      const int base = static_cast<int>(rngs[static_cast<size_t>(s)].next() >> 62);
      next[static_cast<size_t>(s)] = genomics::kTokenA + base;
      b.bases[static_cast<size_t>(s)] += "ACGT"[base];
    }
    stream.feed_logits(next, 1, kernels::MatF(logits.data(), seqs, vocab));
    produced = 1;
  } else {
    prefill(stream, genomics::tokenize(prompt.seq), vocab, backbone.default_tile_rows(), logits);
  }
  for (; produced < o.length; ++produced) {
    for (int64_t s = 0; s < seqs; ++s) {
      const float* row = logits.data() + s * vocab;
      const int base =
          sample_base(std::span<const float, 4>(row + genomics::kTokenA, 4), o.sampling, rngs[static_cast<size_t>(s)]);
      const int32_t token = genomics::kTokenA + base;
      b.logp[static_cast<size_t>(s)] +=
          log_softmax_at(std::span<const float>(row, static_cast<size_t>(vocab)), static_cast<size_t>(token));
      next[static_cast<size_t>(s)] = token;
      b.bases[static_cast<size_t>(s)] += "ACGT"[base];
    }
    if (produced + 1 < o.length) stream.feed_logits(next, 1, kernels::MatF(logits.data(), seqs, vocab));
  }
}

std::vector<Prompt> read_prompts(const GenerateOptions& o) {
  std::vector<Prompt> prompts;
  if (!o.prompt_fasta.empty()) {
    genomics::SequenceSource source(o.prompt_fasta, {});
    genomics::SeqRecord rec;
    while (source.next(rec)) {
      std::string seq = rec.seq;
      for (char& c : seq) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      prompts.push_back({rec.name.empty() ? cat("prompt", prompts.size() + 1) : rec.name, std::move(seq)});
    }
    if (prompts.empty()) fail("--prompt-fasta ", o.prompt_fasta, ": no records");
  } else if (!o.prompt.empty()) {
    prompts.push_back({"prompt", o.prompt});
  } else {
    prompts.push_back({"noprompt", ""});
  }
  return prompts;
}

}  // namespace

GenerateSummary run_generate(const GenerateOptions& o) {
  o.validate();
  ComputeScope compute(o.compute, "generate", /*several_gpus=*/true);
  const model::ModelWeights weights = load_job_model(o.model);
  BackbonePool backbones(weights, compute);
  if (!backbones.front().streamable())
    fail("strand generate: model ", weights.folder,
         " is bidirectional; generation needs a left-to-right (causal) model such as MambaForCausalLM");
  GenerateSummary summary;
  summary.seed = o.seed ? *o.seed : (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  const std::vector<Prompt> prompts = read_prompts(o);
  const SamplingOptions& sp = o.sampling;
  log_info("generate", "model ", weights.folder, ", ", prompts.size(), " prompt(s) x ", o.num_samples, " samples x ",
           o.length, " bases, temperature ", sp.temperature, ", top-k ", sp.top_k, ", top-p ", sp.top_p, ", seed ",
           summary.seed, ", batch ", o.batch,
           backbones.size() > 1 ? cat(", ", backbones.size(), " GPUs") : std::string());

  AtomicOutput out(o.output.path);
  genomics::TextWriter text(out, o.output.type == OutputType::kBgzf, "FASTA output");
  Progress progress(
      "generate", "bases",
      static_cast<uint64_t>(prompts.size()) * static_cast<uint64_t>(o.num_samples) * static_cast<uint64_t>(o.length));
  size_t next_prompt = 0;
  int64_t next_sample = 0;
  const size_t tokens = std::max<size_t>(2, 2 * backbones.size());
  tbb::parallel_pipeline(
      tokens,
      tbb::make_filter<void, std::shared_ptr<Batch>>(tbb::filter_mode::serial_in_order,
                                                     [&](tbb::flow_control& fc) -> std::shared_ptr<Batch> {
                                                       if (next_prompt == prompts.size()) {
                                                         fc.stop();
                                                         return nullptr;
                                                       }
                                                       auto b = std::make_shared<Batch>();
                                                       b->prompt = next_prompt;
                                                       b->first = next_sample;
                                                       b->count =
                                                           std::min<int64_t>(o.batch, o.num_samples - next_sample);
                                                       next_sample += b->count;
                                                       if (next_sample == o.num_samples) ++next_prompt, next_sample = 0;
                                                       return b;
                                                     }) &
          tbb::make_filter<std::shared_ptr<Batch>, std::shared_ptr<Batch>>(
              tbb::filter_mode::parallel,
              [&](std::shared_ptr<Batch> b) {
                const BackbonePool::Lease backbone = backbones.acquire();
                generate_batch(*backbone, prompts[b->prompt], b->prompt, o, summary.seed, *b);
                progress.add(static_cast<uint64_t>(b->count * o.length));
                return b;
              }) &
          tbb::make_filter<std::shared_ptr<Batch>, void>(
              tbb::filter_mode::serial_in_order, [&](std::shared_ptr<Batch> b) {
                const Prompt& p = prompts[b->prompt];
                // With no prompt the first base is drawn uniformly and not scored.
                const int64_t scored = p.seq.empty() ? o.length - 1 : o.length;
                for (int64_t s = 0; s < b->count; ++s) {
                  const double total = b->logp[static_cast<size_t>(s)];
                  const int64_t sample = b->first + s + 1;
                  genomics::write_fasta_record(text, cat(
                      p.id, "_", sample, " prompt=", p.id, " prompt_length=", p.seq.size(), " sample=", sample,
                      " length=", o.length, " temperature=", format_significant(sp.temperature, kDigits),
                      " top_k=", sp.top_k, " top_p=", format_significant(sp.top_p, kDigits), " seed=", summary.seed,
                      " logp_total=", format_significant(total, kDigits), " logp_mean=",
                      scored > 0 ? format_significant(total / static_cast<double>(scored), kDigits) : std::string("."),
                      ""), b->bases[static_cast<size_t>(s)]);
                  const std::string& seq = b->bases[static_cast<size_t>(s)];
                  ++summary.sequences;
                  summary.bases += seq.size();
                }
              }));
  text.close();
  out.commit();
  progress.finish();
  return summary;
}

}  // namespace strand::pipelines
