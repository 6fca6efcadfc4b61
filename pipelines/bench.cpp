#include "pipelines/bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>


#include "core/log.h"
#include "core/output_file.h"
#include "genomics/hts_handles.h"
#include "kernels/backend.h"
#include "model/backbone.h"
#include "pipelines/compute_scope.h"
#include "pipelines/model_resolver.h"

namespace strand::pipelines {
namespace {

// Bases of the untimed warm-up run before the first length.
constexpr int64_t kWarmUpBases = 16384;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Peak resident memory of this process since the last reset, in bytes. Linux resets the
// high-water mark when "5" is written to /proc/self/clear_refs; where that fails the figure is
// the peak since start (still an upper bound).
void reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  if (clear) clear << "5";
}
uint64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
}

// Measured GEMM rate of the backend (in its --precision) on the shape of the model's in_proj (the largest
// GEMM of the forward pass), in FLOP/s: the ceiling the efficiency is relative to.
double measure_gemm_rate(kernels::Backend& backend, int64_t in_features, int64_t out_features) {
  const int64_t rows = 8192;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  std::vector<float> x(static_cast<size_t>(rows * in_features)), w(static_cast<size_t>(out_features * in_features));
  for (float& v : x) v = dist(rng);
  for (float& v : w) v = dist(rng);
  // In the backend's memory (on the host for the CPU).
  kernels::DeviceBuffer<float> x_dev(backend, x.size()), w_dev(backend, w.size());
  kernels::DeviceBuffer<float> y_dev(backend, static_cast<size_t>(rows * out_features));
  backend.upload(x_dev.data(), x.data(), x.size() * sizeof(float));
  backend.upload(w_dev.data(), w.data(), w.size() * sizeof(float));
  const kernels::LinearParams p{x_dev.mat(rows, in_features), w_dev.mat(out_features, in_features), nullptr,
                                y_dev.mat(rows, out_features), false};
  backend.linear(p);  // warm-up
  backend.synchronize();
  const double flops = 2.0 * static_cast<double>(rows * in_features * out_features);
  int reps = 0;
  const auto t0 = Clock::now();
  do {
    backend.linear(p);
    ++reps;
    if (reps % 16 == 0) backend.synchronize();
  } while (seconds_since(t0) < 1.0 || reps < 3 || reps % 16 != 0);
  backend.synchronize();
  return flops * reps / seconds_since(t0);
}

std::vector<int32_t> random_dna(int64_t len, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> base(7, 10);  // A, C, G, T token ids
  std::vector<int32_t> ids(static_cast<size_t>(len));
  for (int32_t& id : ids) id = base(rng);
  return ids;
}

}  // namespace

void run_bench(const BenchOptions& options) {
  options.validate();
  if (options.batch != 1) fail("strand bench: --batch ", options.batch, " is not supported yet (one record per pass)");
  ComputeScope compute(options.compute, "bench");
  const int threads = compute.threads();

  const model::ModelWeights weights = load_job_model(options.model);
  const model::ModelConfig& config = weights.config;
  kernels::Backend& backend = compute.backend();
  // --hidden device: on the host, where R is the output, the same as host.
  const bool hidden_on_device = options.hidden_on_device && !backend.host_memory();
  model::Backbone backbone(weights, backend);
  // 0: the backend's default, which may depend on the length.
  const int64_t tile_rows = options.tile_rows;
  const model::ForwardOptions forward{.tile_rows = tile_rows};
  std::string tiles = cat("tiles of ", tile_rows, " rows");
  if (tile_rows == 0) {
    tiles = "tiles of";
    for (size_t i = 0; i < options.lengths.size(); ++i)
      tiles += cat(i ? ", " : " ", std::min(backbone.default_tile_rows(options.lengths[i]), options.lengths[i]),
                   " rows at ", options.lengths[i]);
  }
  log_info("bench", "model ", options.model, ": ", config.n_layer, " layers, d_model ", config.d_model,
           config.rcps ? " (PS)" : "", ", ", threads, " threads, backend ", backend.name());

  const double gemm_rate = measure_gemm_rate(backend, config.mixer.d_model, 2 * config.mixer.d_inner());
  const model::FlopCount flops = model::flops_per_base(config);
  // Per length below (the checkpoint sweep skips the first tile); here for the longest.
  const model::FlopCount executed =
      backbone.executed_flops_per_base(*std::max_element(options.lengths.begin(), options.lengths.end()), tile_rows);
  // Also on stderr, so that an interrupted run (whose TSV is discarded) still shows them.
  const std::string_view precision = kernels::to_string(backend.gemm_precision());
  log_info("bench", "measured ", precision, " GEMM rate ", gemm_rate / 1e9, " GFLOP/s; model ", flops.total() / 1e6,
           " MFLOP per base (GEMM ", flops.gemm / 1e6, " M), executed ", executed.total() / 1e6, " M (GEMM ",
           executed.gemm / 1e6, " M)");

  AtomicOutput out(options.output.path);
  genomics::BgzfPtr fp = genomics::open_bgzf(out.path(), options.output.type == OutputType::kBgzf ? "w" : "wu",
                                             "bench output");
  std::string text;
  text += cat("# strand bench: ", options.model, " (", weights.checksum, "), exact full-length forward pass, backend ",
              backend.name(), ", GEMMs in ", precision, ", ", threads, " threads, ", tiles,
              " (a shorter record: one tile), final hidden states ",
              hidden_on_device ? "left in the backend's memory" : "copied into host memory", "\n");
  text += cat("# measured ", precision, " GEMM rate (", 8192, "x", config.mixer.d_model, " by ", 2 * config.mixer.d_inner(),
              "): ", gemm_rate / 1e9, " GFLOP/s\n");
  text += "# peak_rss_mib: peak resident memory during the length's runs; added_bytes_per_base: that peak minus the\n"
          "# resident memory before them (model loaded), per base: what the exact forward pass costs per base;\n"
          "# peak_device_mib: the most device memory strand held (its buffers and scratch, not the CUDA context),\n"
          "# 0 on the CPU\n";
  text += cat("# model FLOPs per base: ", flops.total() / 1e6, " M (GEMM ", flops.gemm / 1e6, " M, other ",
              flops.other / 1e6, " M), as the reference computes them; gflop_per_s and efficiency_vs_gemm count these\n");
  text += cat("# executed FLOPs per base: ", executed.total() / 1e6, " M (GEMM ", executed.gemm / 1e6,
              " M) at the longest length: what strand runs (shared tied projections, plus the checkpoint sweep over "
              "all tiles but the first); executed_efficiency counts these, per length\n");
  text +=
      "length\tseconds\tnt_per_s\tus_per_kb\tpeak_rss_mib\tadded_bytes_per_base\tpeak_device_mib\tgflop_per_s\t"
      "efficiency_vs_gemm\texecuted_efficiency\n";
  // Rows are written as they are measured: a long run shows its progress and keeps what it has.
  const auto flush_text = [&] {
    if (bgzf_write(fp.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      fail("cannot write '", options.output.path, "'");
    genomics::flush_checked(fp.get(), options.output.path);
    text.clear();
  };
  flush_text();

  const int64_t width = backbone.hidden_width();
  bool warmed_up = false;
  for (int64_t len : options.lengths) {
    const std::vector<int32_t> ids = random_dna(len, static_cast<uint64_t>(len));
    reset_peak_rss();
    backend.reset_peak();
    const uint64_t rss_before = peak_rss_bytes();
    // The host copy of the hidden states (none when they stay on the device; the warm-up's
    // rows then go to a short buffer).
    std::vector<float> hidden(static_cast<size_t>((hidden_on_device ? std::min(len, kWarmUpBases) : len) * width));
    const kernels::MatF hmat(hidden.data(), static_cast<int64_t>(hidden.size()) / width, width);
    if (!warmed_up) {
      // Threads started, model and code paged in: a short record does it (a full-length
      // warm-up would double the time of a 1 Mb run for nothing).
      const int64_t warm_len = std::min<int64_t>(len, kWarmUpBases);
      backbone.run(std::span<const int32_t>(ids.data(), static_cast<size_t>(warm_len)), hmat.row_slice(0, warm_len),
                   forward);
      warmed_up = true;
    }
    std::vector<double> times;
    for (int rep = 0; rep < options.repeats; ++rep) {
      const auto t0 = Clock::now();
      if (hidden_on_device)
        backbone.run_in_place(
            ids, [&](kernels::ConstMatF) { backend.synchronize(); }, forward);
      else
        backbone.run(ids, hmat, forward);
      times.push_back(seconds_since(t0));
    }
    std::sort(times.begin(), times.end());
    const double t = times[times.size() / 2];
    const double nt_per_s = static_cast<double>(len) / t;
    const uint64_t peak = peak_rss_bytes();
    const double device_mib = static_cast<double>(backend.memory_use().peak_bytes) / (1 << 20);
    const double gflops = nt_per_s * flops.total() / 1e9;
    const double executed_efficiency = nt_per_s * backbone.executed_flops_per_base(len, tile_rows).total() / gemm_rate;
    char row[256];
    std::snprintf(row, sizeof row, "%lld\t%.4f\t%.0f\t%.1f\t%.1f\t%.0f\t%.1f\t%.2f\t%.3f\t%.3f\n",
                  static_cast<long long>(len), t, nt_per_s, 1e9 / nt_per_s, static_cast<double>(peak) / (1 << 20),
                  static_cast<double>(peak - std::min(peak, rss_before)) / static_cast<double>(len), device_mib, gflops,
                  gflops * 1e9 / gemm_rate, executed_efficiency);
    text += row;
    flush_text();
    log_info("bench", len, " bases: ", t, " s, ", static_cast<int64_t>(nt_per_s), " nt/s, efficiency ",
             gflops * 1e9 / gemm_rate, " (executed ", executed_efficiency, "), peak ",
             static_cast<double>(peak) / (1 << 20), " MiB (", static_cast<double>(rss_before) / (1 << 20),
             " MiB before)", device_mib > 0 ? cat(", device peak ", device_mib, " MiB") : std::string());
  }
  genomics::close_checked(fp, options.output.path);
  out.commit();
}

}  // namespace strand::pipelines
