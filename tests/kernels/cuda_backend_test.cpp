// The CUDA backend against the CPU backend (itself tested against the scalar reference), on
// random inputs (seeded, fresh per case) at awkward sizes: lengths 1, 7, 127, 2048, 2049 and
// 1,000,003 rows (the scan with D = 5, N = 16; elementwise), channel counts that are not
// multiples of 32 (1, 33, 70), strided views and column slices, both directions, with and
// without state, gate, bias and skip, and the state-only (y empty) scan. The CPU runs on host
// buffers, the GPU on device copies of the same buffers (padding included, so a kernel that
// writes past its columns is caught by the sentinel).
//
// Tolerances (||cuda - cpu|| / ||cpu|| per output, max |cuda - cpu| printed on failure):
//   linear: <= 1e-5 (cuBLAS fp32, TF32 off, sums in another order than the CPU kernel's); tf32x3
//     (fp32 emulated on TF32 tensor cores) <= 1e-5 too; tf32 <= 2e-3 and bf16 <= 1e-2 (and above
//     1e-5: the tensor-core path really ran).
//   conv1d_silu: <= 1e-6 (the same sums in the same order; the SiLU's exp and division
//     approximate on both);
//     its state_out: bitwise (copies of inputs).
//   selective_scan: y <= 1e-5, h_out <= 1e-5 (exp2 with pre-scaled A and the chunked carry
//     against the CPU's step-by-step fast forms; the fused dt_proj summed in another order).
//   add_rms_norm: y <= 1e-6; residual_out bitwise (one fp32 add).
//   embedding, elementwise, flip: bitwise.
// conv1d_silu_linear's one pass (tf32x3 x_proj with the conv in front): bitwise the two calls
// on the same backend.
// On the GPU itself: a record processed in two tiles with the state carried (through one
// device buffer as both state_in and state_out) equals one pass bitwise for the conv and
// within 1e-6 for the scan (chunks move with the tile start); a state-only scan gives the
// h_out of the full scan bitwise.
//
// Every test skips when no CUDA device is visible (and in builds without CUDA).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "kernels/backend.h"
#include "kernels/device.h"
#include "tests/kernels/kernels_test_support.h"

namespace strand::kernels {
namespace {

using test::Buffer;
using test::compare;
using test::ConvCase;
using test::describe;
using test::Difference;
using test::fill_normal;
using test::normal_vector;
using test::scan_params;
using test::ScanData;
using test::ScanViews;
using test::views;

constexpr double kLinearTolerance = 1e-5;
// Products of TF32 (10-bit mantissa) and bf16 (7-bit) roundings of normal operands, summed in
// fp32: ~2^-11 and ~2^-8 relative per product, less after summation.
constexpr double kTf32LinearTolerance = 2e-3;
constexpr double kBf16LinearTolerance = 1e-2;
constexpr double kConvTolerance = 1e-6;
constexpr double kScanTolerance = 1e-5;
constexpr double kScanTileTolerance = 1e-6;
constexpr double kNormTolerance = 1e-6;
const int64_t kLengths[] = {1, 7, 127, 2048, 2049};
constexpr int64_t kLongRows = 1000003;

// TF32 rounding (to nearest, ties away), as the tensor-core paths split an
// fp32 value (kernels/cuda/tf32.cuh), for finite values.
float tf32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits = (bits + 0x1000u) & 0xffffe000u;
  std::memcpy(&v, &bits, 4);
  return v;
}

Backend& cpu() {
  static const std::unique_ptr<Backend> backend = make_cpu_backend();
  return *backend;
}
// Created on first use, after the test has checked that a device exists. Deliberately never
// destroyed: a static destructor would release the stream and the cuBLAS handle while the CUDA
// runtime itself is being torn down at exit.
Backend& gpu() {
  static Backend* const backend = make_cuda_backend(0).release();
  return *backend;
}
// The same device with tensor-core GEMMs (device memory is shared by all backends of a device).
Backend& gpu_in(GemmPrecision precision) {
  if (precision == GemmPrecision::kFp32) return gpu();
  static Backend* const tf32 = make_cuda_backend(0, GemmPrecision::kTf32).release();
  static Backend* const tf32x3 = make_cuda_backend(0, GemmPrecision::kTf32x3).release();
  static Backend* const bf16 = make_cuda_backend(0, GemmPrecision::kBf16).release();
  return precision == GemmPrecision::kTf32 ? *tf32 : precision == GemmPrecision::kTf32x3 ? *tf32x3 : *bf16;
}

// ---- device copies ----------------------------------------------------------------------------

// A Buffer's whole storage (padding and its sentinels included) in device memory.
class DeviceMat {
 public:
  explicit DeviceMat(const Buffer& host)
      : buf_(gpu(), host.data.size()), rows_(host.rows), cols_(host.cols), ld_(host.ld) {
    gpu().upload(buf_.data(), host.data.data(), buf_.bytes());
  }
  MatF view() const { return MatF(buf_.data(), rows_, cols_, ld_); }
  ConstMatF cview() const { return ConstMatF(buf_.data(), rows_, cols_, ld_); }
  Buffer download() const {
    Buffer host(rows_, cols_, ld_);
    gpu().download(host.data.data(), buf_.data(), buf_.bytes());
    return host;
  }

 private:
  DeviceBuffer<float> buf_;
  int64_t rows_, cols_, ld_;
};

template <typename T>
DeviceBuffer<T> to_device(const std::vector<T>& host) {
  DeviceBuffer<T> dev(gpu(), host.size());
  gpu().upload(dev.data(), host.data(), dev.bytes());
  return dev;
}

template <typename T>
std::vector<T> to_host(const DeviceBuffer<T>& dev) {
  std::vector<T> host(dev.size());
  gpu().download(host.data(), dev.data(), dev.bytes());
  return host;
}

// ---- memory and construction ------------------------------------------------------------------

TEST(CudaBackend, DeviceMemoryRoundtrip) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  Backend& be = gpu();
  EXPECT_EQ(be.name(), "cuda:0");
  EXPECT_FALSE(be.host_memory());
  EXPECT_FALSE(be.concurrent_calls());
  EXPECT_EQ(be.default_tile_rows(0, 0), 65536);
  EXPECT_FALSE(be.takes_split_activations());  // fp32
  EXPECT_TRUE(gpu_in(GemmPrecision::kTf32x3).takes_split_activations());
  EXPECT_FALSE(gpu_in(GemmPrecision::kTf32).takes_split_activations());
  EXPECT_EQ(be.default_tile_rows(65536, 0), 65536);
  EXPECT_EQ(be.default_tile_rows(131072, 0), 131072);  // one tile
  EXPECT_EQ(be.default_tile_rows(393216, 0), 393216);
  EXPECT_EQ(be.default_tile_rows(393217, 0), 196609);  // the fewest tiles of at most 393,216, evened out
  EXPECT_EQ(be.default_tile_rows(1000000, 0), 333334);
  // With the model's bytes per row the tiles stay within the free memory: ~14 KB a row fits
  // 393,216 rows on a GPU of 40 GB (mostly free: the test machine's); a row as large as the
  // whole memory gets the smallest tiles.
  const uint64_t total_bytes = kernels::cuda_devices().front().total_memory_bytes;
  if (total_bytes > (uint64_t(40) << 30)) {
    EXPECT_EQ(be.default_tile_rows(1000000, 14 * 1024), 333334);
  }
  EXPECT_EQ(be.default_tile_rows(1000000, total_bytes), even_tile_rows(1000000, kMinTileRowsInMemory));
  EXPECT_EQ(be.default_tile_rows(0, total_bytes), 65536);  // batches keep their groups
  EXPECT_EQ(be.allocate(0), nullptr);
  be.deallocate(nullptr);

  std::mt19937 rng(1);
  const int64_t n = 100003;
  const std::vector<float> host = normal_vector(rng, n);
  DeviceBuffer<float> a(be, n), b(be, n);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % 256, 0u);
  be.upload(a.data(), host.data(), a.bytes());
  be.copy(b.data(), a.data(), a.bytes());
  be.fill_zero(a.data() + 10, 1000 * sizeof(float));
  be.synchronize();
  std::vector<float> back_a(n, -1.0f), back_b(n, -1.0f);
  be.download(back_a.data(), a.data(), a.bytes());
  be.download(back_b.data(), b.data(), b.bytes());
  EXPECT_EQ(back_b, host);
  for (int64_t i = 0; i < n; ++i) {
    const float want = i >= 10 && i < 1010 ? 0.0f : host[i];
    ASSERT_EQ(back_a[i], want) << "element " << i;
  }
  // Zero-byte transfers are no-ops, whatever the pointers.
  be.upload(nullptr, nullptr, 0);
  be.download(nullptr, nullptr, 0);
  be.copy(nullptr, nullptr, 0);
  be.fill_zero(nullptr, 0);
}

TEST(CudaBackend, CountsItsMemory) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  auto be = make_cuda_backend(0);
  EXPECT_EQ(be->memory_use().current_bytes, 0u);
  {
    DeviceBuffer<float> a(*be, 1 << 20), b(*be, 1 << 18);
    EXPECT_EQ(be->memory_use().current_bytes, 5u << 20);
    EXPECT_EQ(be->memory_use().peak_bytes, 5u << 20);
  }
  EXPECT_EQ(be->memory_use().current_bytes, 0u);
  EXPECT_EQ(be->memory_use().peak_bytes, 5u << 20);
  be->reset_peak();
  EXPECT_EQ(be->memory_use().peak_bytes, 0u);
  EXPECT_EQ(be->gemm_precision(), GemmPrecision::kFp32);
  EXPECT_EQ(make_cuda_backend(0, GemmPrecision::kBf16)->gemm_precision(), GemmPrecision::kBf16);
}

TEST(CudaBackend, BadOrdinalThrows) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  EXPECT_THROW(make_cuda_backend(99), strand::Error);
  EXPECT_THROW(make_cuda_backend(-1), strand::Error);
  // The failed constructions leave no error behind for the working backend.
  DeviceBuffer<float> a(gpu(), 4);
  gpu().fill_zero(a.data(), a.bytes());
  EXPECT_EQ(to_host(a), std::vector<float>(4, 0.0f));
}

// ---- linear -----------------------------------------------------------------------------------
using kernels::GemmPrecision;

void check_linear(std::mt19937& rng, int64_t m, int64_t k, int64_t n, bool strided, bool bias, bool accumulate,
                  GemmPrecision precision = GemmPrecision::kFp32) {
  SCOPED_TRACE(testing::Message() << "M " << m << " K " << k << " N " << n << " strided " << strided << " bias " << bias
                                  << " accumulate " << accumulate << " " << to_string(precision));
  // Strided: x and w with padded rows, y a column slice of a wider matrix.
  Buffer x(m, k, strided ? k + 5 : k), w(n, k, strided ? k + 3 : k), y0(m, strided ? n + 9 : n);
  fill_normal(rng, x);
  fill_normal(rng, w, 0.0f, 0.1f);
  fill_normal(rng, y0);
  const std::vector<float> b = normal_vector(rng, n);
  const int64_t c0 = strided ? 4 : 0;

  Buffer want = y0;
  cpu().linear({x.cview(), w.cview(), bias ? b.data() : nullptr, want.view().col_slice(c0, n), accumulate});

  const DeviceMat dx(x), dw(w), dy(y0);
  const DeviceBuffer<float> db = to_device(b);
  gpu_in(precision).linear({dx.cview(), dw.cview(), bias ? db.data() : nullptr, dy.view().col_slice(c0, n), accumulate});
  gpu_in(precision).synchronize();  // its own stream: dy.download() waits for gpu()'s only
  const Buffer got = dy.download();

  const Difference d = compare(got, want);
  const bool fp32_accurate = precision == GemmPrecision::kFp32 || precision == GemmPrecision::kTf32x3;
  const double tolerance = fp32_accurate                       ? kLinearTolerance
                           : precision == GemmPrecision::kTf32 ? kTf32LinearTolerance
                                                               : kBf16LinearTolerance;
  EXPECT_LE(d.relative, tolerance) << describe(d);
  // Reduced precision is really reduced (the tensor-core path ran) where it applies (N >= 64).
  if (!fp32_accurate && k >= 64 && n >= 64 && !accumulate) {
    EXPECT_GT(d.relative, kLinearTolerance);
  }
  // tf32x3 is fp32-accurate but not fp32's bits: the split products really ran (from 384 columns).
  if (precision == GemmPrecision::kTf32x3 && n >= 384 && k >= 16) {
    const DeviceMat dy_fp32(y0);
    gpu().linear({dx.cview(), dw.cview(), bias ? db.data() : nullptr, dy_fp32.view().col_slice(c0, n), accumulate});
    EXPECT_FALSE(compare(got, dy_fp32.download()).bitwise) << "tf32x3 gave fp32's bits";
  }
  // Products with fewer columns stay fp32 in every mode.
  if (n < 64) {
    EXPECT_LE(d.relative, kLinearTolerance);
  }
  EXPECT_TRUE(got.padding_intact());
}

// Backend::gemm_input_copy_bytes (the model counts it in its tile memory) is what a projection's
// copy of its input takes: on a fresh backend one linear call's scratch is that copy of x [M, K]
// plus the same of w [N, K], nothing more.
TEST(CudaLinear, InputCopyIsWhatTheScratchTakes) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(12);
  const int64_t m = 4096, k = 256, n = 512;
  Buffer x(m, k, k), w(n, k, k), y(m, n, n);
  fill_normal(rng, x);
  fill_normal(rng, w, 0.0f, 0.1f);
  const DeviceMat dx(x), dw(w), dy(y);
  for (const GemmPrecision precision : {GemmPrecision::kFp32, GemmPrecision::kTf32x3, GemmPrecision::kBf16}) {
    SCOPED_TRACE(to_string(precision));
    const auto be = make_cuda_backend(0, precision);
    const size_t before = be->memory_use().current_bytes;
    be->linear({dx.cview(), dw.cview(), nullptr, dy.view()});
    be->synchronize();
    EXPECT_EQ(be->memory_use().current_bytes - before, static_cast<size_t>(m + n) * be->gemm_input_copy_bytes(k));
  }
  EXPECT_EQ(gpu_in(GemmPrecision::kTf32x3).gemm_input_copy_bytes(k), static_cast<size_t>(12 * k));
}

TEST(CudaLinear, MatchesCpu) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(10);
  int i = 0;
  for (int64_t m : kLengths) {
    for (auto [k, n] : {std::pair<int64_t, int64_t>{16, 16}, {37, 70}, {256, 130}, {1, 33}}) {
      ++i;
      check_linear(rng, m, k, n, i % 2, i % 3 != 0, i % 4 == 1);
    }
  }
  // Every option combination on one shape.
  for (int f = 0; f < 8; ++f) check_linear(rng, 129, 70, 33, f & 1, f & 2, f & 4);
  check_linear(rng, 7, 2048, 256, true, true, false);
  check_linear(rng, 300, 1024, 64, false, true, true);
  // Few output columns (fp32 in every mode): x_proj's shape over many rows, K not a multiple of
  // 32, one column, 17 columns, and 65 (the narrowest product the reduced modes take).
  check_linear(rng, 70001, 512, 48, true, false, false);
  check_linear(rng, 257, 1000, 1, false, true, true);
  check_linear(rng, 131, 45, 17, true, true, true);
  check_linear(rng, 1, 512, 65, false, false, false);
  check_linear(rng, 129, 0, 5, false, true, false);   // K = 0: y = bias
  check_linear(rng, 129, 0, 5, true, true, true);     // K = 0: y += bias
  check_linear(rng, 129, 0, 5, false, false, false);  // K = 0: y = 0
  check_linear(rng, 0, 16, 5, false, true, false);    // M = 0: nothing
}

// tf32x3, tf32 and bf16 GEMMs: within their bounds of the fp32 CPU result, strided views
// included (tf32x3 and bf16 copy the operands to compact scratch); products with fewer than 64
// columns stay fp32.
TEST(CudaLinear, TensorCorePrecisionsWithinBounds) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(11);
  for (GemmPrecision precision : {GemmPrecision::kTf32x3, GemmPrecision::kTf32, GemmPrecision::kBf16}) {
    for (int f = 0; f < 8; ++f) check_linear(rng, 129, 70, 96, f & 1, f & 2, f & 4, precision);
    check_linear(rng, 129, 70, 33, true, true, false, precision);  // few columns: fp32
    check_linear(rng, 2049, 256, 1024, true, false, false, precision);
    check_linear(rng, 300, 70, 512, true, true, true, precision);  // tf32x3 splits from 384 columns
    check_linear(rng, 4096, 512, 48, false, false, false, precision);
    check_linear(rng, 7, 1, 5, true, true, false, precision);
    check_linear(rng, 129, 0, 5, false, true, false, precision);
  }
}

// tf32x3 with x split in registers (gemm_tf32x3.cu): products of at most 64 columns and at
// least 512 rows whose x has 16-byte rows, in every tensor-core mode. Every tile edge: rows that
// end inside a block, each column-count variant and columns inside a warp tile, K inside a
// 32-column stage and inside an 8-column step; strided x, w and y, bias, accumulate.
void check_tf32x3_in_registers(std::mt19937& rng, int64_t m, int64_t k, int64_t n, int64_t x_pad, bool bias,
                               bool accumulate, GemmPrecision precision = GemmPrecision::kTf32x3) {
  SCOPED_TRACE(testing::Message() << "M " << m << " K " << k << " N " << n << " x pad " << x_pad << " bias " << bias
                                  << " accumulate " << accumulate << " " << to_string(precision));
  Buffer x(m, k, k + x_pad), w(n, k, k + 3), y0(m, n + 5);
  fill_normal(rng, x);
  fill_normal(rng, w, 0.0f, 0.1f);
  fill_normal(rng, y0);
  const std::vector<float> b = normal_vector(rng, n);
  Buffer want = y0;
  cpu().linear({x.cview(), w.cview(), bias ? b.data() : nullptr, want.view().col_slice(2, n), accumulate});

  const DeviceMat dx(x), dw(w), dy(y0), dy_fp32(y0);
  const DeviceBuffer<float> db = to_device(b);
  const LinearParams p{dx.cview(), dw.cview(), bias ? db.data() : nullptr, dy.view().col_slice(2, n), accumulate};
  gpu_in(precision).linear(p);
  gpu_in(precision).synchronize();
  const Buffer got = dy.download();
  EXPECT_LE(compare(got, want).relative, kLinearTolerance) << describe(compare(got, want));
  EXPECT_TRUE(got.padding_intact());
  // The tensor-core kernel ran: not fp32's bits.
  gpu().linear({p.x, p.w, p.bias, dy_fp32.view().col_slice(2, n), accumulate});
  EXPECT_FALSE(compare(got, dy_fp32.download()).bitwise) << "tf32x3 gave fp32's bits";
}

TEST(CudaLinear, Tf32x3InRegistersMatchesCpu) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(12);
  check_tf32x3_in_registers(rng, 70001, 512, 48, 0, false, false);  // x_proj
  for (int64_t n : {1, 7, 16, 17, 32, 40, 48, 57, 64})
    check_tf32x3_in_registers(rng, 1000, 100, n, 4, n % 2 == 0, n % 3 == 0);
  for (int64_t k : {4, 8, 28, 36, 260}) check_tf32x3_in_registers(rng, 513, k, 50, 8, true, k % 8 == 4);
  check_tf32x3_in_registers(rng, 4099, 1024, 64, 0, true, true);
  for (GemmPrecision precision : {GemmPrecision::kTf32, GemmPrecision::kBf16})
    check_tf32x3_in_registers(rng, 3001, 512, 48, 0, false, false, precision);
}

// Non-finite inputs stay non-finite in both tf32x3 paths (split in registers: 48 columns; split
// copies: 512): a NaN (CUDA's canonical 0x7fffffff, whose bits a careless rounding carries into
// the sign, making it -0) makes its row NaN; an infinity gives inf or NaN (the big part times w's
// small part, which may be 0 or of either sign), never a finite value.
TEST(CudaLinear, Tf32x3KeepsNonFiniteInputs) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  for (int64_t n : {48, 512}) {
    SCOPED_TRACE(testing::Message() << "N " << n);
    Buffer x(600, 64), w(n, 64);
    for (int64_t i = 0; i < x.rows; ++i)
      for (int64_t c = 0; c < x.cols; ++c) x.at(i, c) = 0.01f * static_cast<float>((i + c) % 7);
    for (int64_t i = 0; i < w.rows; ++i)
      for (int64_t c = 0; c < w.cols; ++c) w.at(i, c) = 0.5f + 0.01f * static_cast<float>((i * c) % 5);
    uint32_t nan_bits = 0x7fffffffu;
    std::memcpy(&x.at(5, 3), &nan_bits, sizeof(float));
    x.at(9, 10) = std::numeric_limits<float>::infinity();
    const DeviceMat dx(x), dw(w), dy(Buffer(600, n));
    gpu_in(GemmPrecision::kTf32x3).linear({dx.cview(), dw.cview(), nullptr, dy.view(), false});
    gpu_in(GemmPrecision::kTf32x3).synchronize();
    const Buffer got = dy.download();
    for (int64_t c = 0; c < n; ++c) {
      EXPECT_TRUE(std::isnan(got.at(5, c))) << "column " << c;
      EXPECT_FALSE(std::isfinite(got.at(9, c))) << "column " << c;
      EXPECT_TRUE(std::isfinite(got.at(0, c))) << "column " << c;
    }
  }
}

// x_unchanged (in_proj's z half after its x half): tf32x3 reuses the previous call's split of x,
// with the same bits as splitting again; the flag is trusted (x rewritten in between still gives
// the old x's product: the reuse really happens), and a different x view splits afresh.
TEST(CudaLinear, UnchangedXReusesItsSplit) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(13);
  Backend& tf32x3 = gpu_in(GemmPrecision::kTf32x3);
  Buffer x(2049, 256), x_new(2049, 256), w1(512, 256), w2(512, 256);
  fill_normal(rng, x);
  fill_normal(rng, x_new);
  fill_normal(rng, w1, 0.0f, 0.1f);
  fill_normal(rng, w2, 0.0f, 0.1f);
  const DeviceMat dx(x), dx2(x_new), dw1(w1), dw2(w2), dy1(Buffer(2049, 512)), dy2(Buffer(2049, 512)),
      dfresh(Buffer(2049, 512));
  const auto product = [&](const DeviceMat& in, const DeviceMat& w, const DeviceMat& out, bool unchanged) {
    tf32x3.linear({in.cview(), w.cview(), nullptr, out.view(), false, unchanged});
    tf32x3.synchronize();
    return out.download();
  };
  const Buffer fresh = product(dx, dw2, dfresh, false);
  product(dx, dw1, dy1, false);
  EXPECT_TRUE(compare(product(dx, dw2, dy2, true), fresh).bitwise);
  // A different x before: split afresh.
  product(dx2, dw1, dy1, false);
  EXPECT_TRUE(compare(product(dx, dw2, dy2, true), fresh).bitwise);
  // A product that splits nothing before (x_proj's few columns): nothing to reuse.
  const DeviceMat dw_narrow(Buffer(48, 256)), dnarrow(Buffer(2049, 48));
  product(dx2, dw_narrow, dnarrow, false);
  EXPECT_TRUE(compare(product(dx, dw2, dy2, true), fresh).bitwise);
  // The flag is trusted: x rewritten after the split still gives the old x's product.
  product(dx, dw1, dy1, false);
  gpu().upload(dx.view().data, x_new.data.data(), x_new.data.size() * sizeof(float));
  EXPECT_TRUE(compare(product(dx, dw2, dy2, true), fresh).bitwise);
  EXPECT_FALSE(compare(product(dx, dw2, dy2, false), fresh).bitwise);
}

// Random x, w (scaled as weights) and y0 for a product; returns a random bias of w.rows.
std::vector<float> fill_linear_inputs(std::mt19937& rng, Buffer& x, Buffer& w, Buffer& y0) {
  fill_normal(rng, x);
  fill_normal(rng, w, 0.0f, 0.1f);
  fill_normal(rng, y0);
  return normal_vector(rng, w.rows);
}

// tf32x3 from an x that comes split (LinearParams::x_small, as the scan writes out_proj's input):
// within fp32's tolerance of the CPU product of the unsplit x, with x_small's columns right
// after x's (one GEMM of depth 2K) or elsewhere; bias, accumulate, y a column slice.
void check_split_x(std::mt19937& rng, int64_t m, int64_t k, int64_t n, bool contiguous, bool bias, bool accumulate) {
  SCOPED_TRACE(testing::Message() << "M " << m << " K " << k << " N " << n << " contiguous " << contiguous << " bias "
                                  << bias << " accumulate " << accumulate);
  Buffer x(m, k), w(n, k, k + 3), y0(m, n + 5), both(m, 2 * k + 4), small(m, k, k + 1);
  const std::vector<float> b = fill_linear_inputs(rng, x, w, y0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t c = 0; c < k; ++c) {
      const float v = x.at(i, c), big = tf32(v);
      both.at(i, c) = big;
      (contiguous ? both.at(i, k + c) : small.at(i, c)) = tf32(v - big);
    }
  }
  Buffer want = y0;
  cpu().linear({x.cview(), w.cview(), bias ? b.data() : nullptr, want.view().col_slice(2, n), accumulate});

  const DeviceMat dboth(both), dsmall(small), dw(w), dy(y0), dy_fp32(y0);
  const DeviceBuffer<float> db = to_device(b);
  const ConstMatF big = dboth.cview().col_slice(0, k);
  const ConstMatF rest = contiguous ? dboth.cview().col_slice(k, k) : dsmall.cview();
  gpu_in(GemmPrecision::kTf32x3)
      .linear({big, dw.cview(), bias ? db.data() : nullptr, dy.view().col_slice(2, n), accumulate, false, rest});
  gpu_in(GemmPrecision::kTf32x3).synchronize();
  const Buffer got = dy.download();
  EXPECT_LE(compare(got, want).relative, kLinearTolerance) << describe(compare(got, want));
  EXPECT_TRUE(got.padding_intact());
  // x alone in fp32 is further off: the remainders were used.
  gpu().linear({big, dw.cview(), bias ? db.data() : nullptr, dy_fp32.view().col_slice(2, n), accumulate});
  if (k >= 16) {
    EXPECT_GT(compare(dy_fp32.download(), want).relative, 10 * compare(got, want).relative);
  }
}

TEST(CudaLinear, SplitXMatchesCpu) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(14);
  for (int f = 0; f < 8; ++f) check_split_x(rng, 131, 512, 256, f & 1, f & 2, f & 4);
  check_split_x(rng, 2049, 512, 256, true, false, true);  // out_proj's shape, onto the residual
  check_split_x(rng, 7, 16, 5, false, true, false);
  check_split_x(rng, 1, 70, 33, true, false, false);
  check_split_x(rng, 300, 37, 70, true, true, true);
}

// x given as [x_big | x_small | x_big] rows (LinearParams::x_repeated, as the model's norm
// writes in_proj's input): the bits of the tf32x3 split-copy path on the unsplit x, whose copy has
// that layout; bias and accumulate; y a column slice.
TEST(CudaLinear, RepeatedSplitXGivesTheSplitCopysBits) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(15);
  Backend& tf32x3 = gpu_in(GemmPrecision::kTf32x3);
  for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{2049, 256, 512}, {131, 256, 1024}, {7, 33, 400}}) {
    for (int f = 0; f < 4; ++f) {
      const bool bias = f & 1, accumulate = f & 2;
      SCOPED_TRACE(testing::Message() << "M " << m << " K " << k << " N " << n << " bias " << bias << " accumulate "
                                      << accumulate);
      Buffer x(m, k), w(n, k), y0(m, n + 3), split(m, 3 * k);
      const std::vector<float> b = fill_linear_inputs(rng, x, w, y0);
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t c = 0; c < k; ++c) {
          const float v = x.at(i, c), big = tf32(v);
          split.at(i, c) = split.at(i, 2 * k + c) = big;
          split.at(i, k + c) = tf32(v - big);
        }
      }
      const DeviceMat dx(x), dw(w), dsplit(split), dy(y0), dy_copy(y0);
      const DeviceBuffer<float> db = to_device(b);
      const float* bias_ptr = bias ? db.data() : nullptr;
      tf32x3.linear({dx.cview(), dw.cview(), bias_ptr, dy_copy.view().col_slice(1, n), accumulate});
      tf32x3.linear({dsplit.cview().col_slice(0, k), dw.cview(), bias_ptr, dy.view().col_slice(1, n), accumulate,
                     false, dsplit.cview().col_slice(k, k), true});
      tf32x3.synchronize();
      const Buffer got = dy.download();
      EXPECT_TRUE(compare(got, dy_copy.download()).bitwise);
      EXPECT_TRUE(got.padding_intact());
    }
  }
}

// ---- conv1d_silu ------------------------------------------------------------------------------

void check_conv(std::mt19937& rng, const ConvCase& c) {
  SCOPED_TRACE(testing::Message() << "S " << c.seqs << " L " << c.len << " C " << c.channels << " K " << c.kernel
                                  << " reverse " << c.reverse << " bias " << c.bias << " state " << c.state_in
                                  << c.state_out);
  const int64_t rows = c.seqs * c.len, k1 = c.kernel - 1;
  Buffer xz(rows, 2 * c.channels + 1);  // x is a column slice, as of in_proj's output
  fill_normal(rng, xz);
  const std::vector<float> w = normal_vector(rng, c.channels * c.kernel, 0.0f, 0.5f);
  const std::vector<float> b = normal_vector(rng, c.channels);
  const std::vector<float> s_in = normal_vector(rng, c.seqs * c.channels * k1);
  const Buffer y0(rows, c.channels, c.channels + 3);

  Buffer want = y0;
  std::vector<float> s_want(s_in.size(), -1.0f);
  cpu().conv1d_silu({xz.cview().col_slice(1, c.channels), w.data(), c.bias ? b.data() : nullptr, want.view(), c.len,
                     c.kernel, c.reverse, c.state_in ? s_in.data() : nullptr, c.state_out ? s_want.data() : nullptr});

  const DeviceMat dxz(xz), dy(y0);
  const DeviceBuffer<float> dw = to_device(w), db = to_device(b), ds_in = to_device(s_in);
  DeviceBuffer<float> ds_out = to_device(std::vector<float>(s_in.size(), -1.0f));
  gpu().conv1d_silu({dxz.cview().col_slice(1, c.channels), dw.data(), c.bias ? db.data() : nullptr, dy.view(), c.len,
                     c.kernel, c.reverse, c.state_in ? ds_in.data() : nullptr, c.state_out ? ds_out.data() : nullptr});
  const Buffer got = dy.download();

  const Difference d = compare(got, want);
  EXPECT_LE(d.relative, kConvTolerance) << describe(d);
  EXPECT_TRUE(got.padding_intact());
  EXPECT_TRUE(compare(to_host(ds_out), s_want).bitwise) << "state_out";
}

TEST(CudaConv, MatchesCpu) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(20);
  int i = 0;
  for (int64_t len : kLengths) {
    for (int64_t channels : {1, 33, 70}) {
      for (int kernel : {1, 2, 4}) {
        ++i;
        check_conv(rng, {1 + i % 3, len, channels, kernel, i % 2 == 0, i % 3 != 0, i % 4 < 2, i % 5 < 3});
      }
    }
  }
  // Every option combination, with sequences shorter than K - 1 (the new state mixes the old
  // state and x) and longer.
  for (int f = 0; f < 16; ++f) {
    for (int64_t len : {1, 2, 5}) check_conv(rng, {3, len, 37, 4, bool(f & 1), bool(f & 2), bool(f & 4), bool(f & 8)});
  }
  check_conv(rng, {2, 129, 33, 7, true, true, true, true});  // a longer kernel
  check_conv(rng, {2, 129, 33, 9, true, true, true, true});  // past the register-window kernels
  check_conv(rng, {3, 40, 33, 9, false, false, true, false});
  check_conv(rng, {1, kLongRows, 5, 4, false, true, true, true});
  check_conv(rng, {1, kLongRows, 5, 4, true, true, true, true});
}

// A record processed in two tiles with the state carried equals one pass, bit for bit, on the
// GPU; state_in and state_out are the same device buffer.
TEST(CudaConv, TilesCarryStateExactly) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(21);
  const int64_t len = 2049, channels = 70;
  const int kernel = 4;
  Buffer x(len, channels, channels + 2);
  fill_normal(rng, x);
  const std::vector<float> w = normal_vector(rng, channels * kernel), b = normal_vector(rng, channels);
  const std::vector<float> s0 = normal_vector(rng, channels * (kernel - 1));
  const DeviceMat dx(x);
  const DeviceBuffer<float> dw = to_device(w), db = to_device(b), ds0 = to_device(s0);
  for (bool reverse : {false, true}) {
    for (int64_t tile : {1, 2, 129, 1000, 2048}) {
      const Buffer y0(len, channels);
      const DeviceMat whole(y0), tiled(y0);
      DeviceBuffer<float> s_whole(gpu(), s0.size());
      gpu().conv1d_silu({dx.cview(), dw.data(), db.data(), whole.view(), len, kernel, reverse, ds0.data(),
                         s_whole.data()});
      DeviceBuffer<float> state = to_device(s0);
      // Forward: [0, tile) then [tile, len); reverse: [tile, len) then [0, tile).
      std::vector<std::pair<int64_t, int64_t>> tiles = {{0, tile}, {tile, len - tile}};
      if (reverse) std::swap(tiles[0], tiles[1]);
      for (auto [r0, rows] : tiles) {
        gpu().conv1d_silu({dx.cview().row_slice(r0, rows), dw.data(), db.data(), tiled.view().row_slice(r0, rows), rows,
                           kernel, reverse, state.data(), state.data()});
      }
      EXPECT_TRUE(compare(tiled.download(), whole.download()).bitwise) << "tile " << tile << " reverse " << reverse;
      EXPECT_TRUE(compare(to_host(state), to_host(s_whole)).bitwise) << "tile " << tile << " reverse " << reverse;
    }
  }
}

// ---- conv1d_silu_linear (the mixer's conv and x_proj) -----------------------------------------

struct ConvLinearCase {
  int64_t seqs, len, channels, n;
  bool reverse, bias, state;
  GemmPrecision precision = GemmPrecision::kTf32x3;
};

// The one-pass kernel gives the bits of conv1d_silu then linear on the same backend: the conv's
// output, the product and the carried state; sequence starts inside a block and at rows that
// are not block multiples, taps from the state or zeros, and the padding untouched.
void check_conv_linear(std::mt19937& rng, const ConvLinearCase& c) {
  SCOPED_TRACE(testing::Message() << "S " << c.seqs << " L " << c.len << " C " << c.channels << " N " << c.n
                                  << " reverse " << c.reverse << " bias " << c.bias << " state " << c.state << " "
                                  << to_string(c.precision));
  const int64_t rows = c.seqs * c.len, k1 = 3;
  Buffer xz(rows, 2 * c.channels + 4);  // x is in_proj's x half
  fill_normal(rng, xz);
  Buffer w(c.n, c.channels);
  fill_normal(rng, w, 0.0f, 0.1f);
  const std::vector<float> cw = normal_vector(rng, c.channels * 4, 0.0f, 0.5f), cb = normal_vector(rng, c.channels);
  const std::vector<float> s_in = normal_vector(rng, c.seqs * c.channels * k1);
  // The conv's output with padded rows that the separate tf32x3 kernel takes (16-byte rows).
  const DeviceMat dxz(xz), dw(w), fused_xc(Buffer(rows, c.channels, c.channels + 4)),
      fused_y(Buffer(rows, c.n, c.n + 1)), two_xc(Buffer(rows, c.channels, c.channels + 4)),
      two_y(Buffer(rows, c.n, c.n + 1));
  const DeviceBuffer<float> dcw = to_device(cw), dcb = to_device(cb), ds_in = to_device(s_in);
  DeviceBuffer<float> fused_state = to_device(s_in), two_state = to_device(s_in);
  Backend& backend = gpu_in(c.precision);
  const auto conv = [&](const DeviceMat& xc, DeviceBuffer<float>& state) {
    ConvParams p{dxz.cview().col_slice(0, c.channels), dcw.data(), c.bias ? dcb.data() : nullptr, xc.view(), c.len};
    p.reverse = c.reverse;
    p.state_in = c.state ? state.data() : nullptr;
    p.state_out = state.data();  // the same buffer, as the model carries it
    return p;
  };
  const ConvParams fused_conv = conv(fused_xc, fused_state), two_conv = conv(two_xc, two_state);
  const LinearParams fused_lin{fused_xc.cview(), dw.cview(), nullptr, fused_y.view(), false};
  EXPECT_TRUE(backend.fuses_conv_linear(fused_conv, fused_lin));
  backend.conv1d_silu_linear(fused_conv, fused_lin);
  backend.conv1d_silu(two_conv);
  backend.linear({two_xc.cview(), dw.cview(), nullptr, two_y.view(), false});
  backend.synchronize();
  const Buffer xc = fused_xc.download(), y = fused_y.download();
  EXPECT_TRUE(compare(xc, two_xc.download()).bitwise) << "conv output";
  EXPECT_TRUE(compare(y, two_y.download()).bitwise) << "product";
  EXPECT_TRUE(compare(to_host(fused_state), to_host(two_state)).bitwise) << "state_out";
  EXPECT_TRUE(xc.padding_intact());
  EXPECT_TRUE(y.padding_intact());
}

TEST(CudaConvLinear, OnePassGivesTheTwoCallsBits) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(22);
  for (int f = 0; f < 8; ++f) check_conv_linear(rng, {1, 70001, 512, 48, bool(f & 1), bool(f & 2), bool(f & 4)});
  // Sequences shorter than a block, longer, and of 1 or 2 rows (every tap of some rows from the
  // state); channel counts inside one 32-column stage and not a multiple of 8; every column
  // variant.
  const int64_t columns[] = {1, 16, 17, 40, 57, 64};
  int i = 0;
  for (int64_t len : {1, 2, 5, 127, 129, 1000}) {
    for (int64_t channels : {4, 36, 100, 512}) {
      ++i;
      const int64_t seqs = (600 + len - 1) / len + i % 3;
      check_conv_linear(rng, {seqs, len, channels, columns[i % 6], i % 2 == 0, i % 3 != 0, i % 4 < 2});
    }
  }
  for (GemmPrecision precision : {GemmPrecision::kTf32, GemmPrecision::kBf16})
    check_conv_linear(rng, {3, 1001, 512, 48, true, true, true, precision});
}

// Where the one pass does not apply (fp32 mode; fewer rows than the tensor-core kernel takes),
// the pair runs as its two calls.
TEST(CudaConvLinear, FallsBackToTheTwoCalls) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  const DeviceMat x(Buffer(600, 64)), xc(Buffer(600, 64)), w(Buffer(48, 64)), y(Buffer(600, 48));
  const DeviceBuffer<float> cw = to_device(std::vector<float>(64 * 4, 0.25f));
  const ConvParams conv{x.cview(), cw.data(), nullptr, xc.view(), 600};
  const LinearParams lin{xc.cview(), w.cview(), nullptr, y.view(), false};
  EXPECT_FALSE(gpu().fuses_conv_linear(conv, lin));
  EXPECT_TRUE(gpu_in(GemmPrecision::kTf32x3).fuses_conv_linear(conv, lin));
  const DeviceMat few(Buffer(100, 64)), few_xc(Buffer(100, 64)), few_y(Buffer(100, 48));
  EXPECT_FALSE(gpu_in(GemmPrecision::kTf32x3)
                   .fuses_conv_linear({few.cview(), cw.data(), nullptr, few_xc.view(), 100},
                                      {few_xc.cview(), w.cview(), nullptr, few_y.view(), false}));
}

// ---- selective_scan ---------------------------------------------------------------------------

// The same inputs in device memory.
struct DeviceScanData {
  DeviceMat xz, delta, dbc, a, dt_w;
  DeviceBuffer<float> dt_bias, dskip, h_in;
  explicit DeviceScanData(const ScanData& d)
      : xz(d.xz),
        delta(d.delta),
        dbc(d.dbc),
        a(d.a),
        dt_w(d.dt_w),
        dt_bias(to_device(d.dt_bias)),
        dskip(to_device(d.dskip)),
        h_in(to_device(d.h_in)) {}
};

ScanViews views(const DeviceScanData& d) {
  return {d.xz.cview(), d.delta.cview(), d.dbc.cview(), d.a.cview(), d.dt_bias.data(), d.dskip.data(), d.dt_w.cview()};
}

// The split output (ScanParams::y_small, tf32x3): y the TF32 rounding of each result of the
// unsplit call `q` (on `dev`, which gave `plain`) and y_small the rounded remainder, bitwise;
// with accumulate the sum read from y_add (y then only written); y_small over z itself where
// there is a gate, as the model passes it.
void check_split_output(const ScanData& data, const DeviceScanData& dev, const ScanParams& q, const Buffer& y0,
                        const Buffer& plain, const std::vector<float>& h_plain) {
  const int64_t dim = data.dim;
  const DeviceScanData fresh(data);  // y_small may overwrite its z
  // u and z are column slices of xz: the same slices of the fresh copy.
  const auto moved = [&](ConstMatF m) {
    return m.empty() ? m : ConstMatF(fresh.xz.cview().data + (m.data - dev.xz.cview().data), m.rows, m.cols, m.ld);
  };
  ScanParams s = q;
  s.u = moved(q.u);
  s.z = moved(q.z);
  const DeviceMat y_add(y0), y_big(Buffer(y0.rows, y0.cols, y0.ld)), y_small_own(Buffer(y0.rows, dim, dim));
  s.y = y_big.view().col_slice(0, dim);
  if (q.accumulate) s.y_add = y_add.cview().col_slice(0, dim);
  s.y_small = s.z.empty() ? y_small_own.view() : MatF(const_cast<float*>(s.z.data), s.z.rows, s.z.cols, s.z.ld);
  DeviceBuffer<float> dh = to_device(std::vector<float>(data.h_in.size(), -1.0f));
  s.h_out = dh.data();
  gpu_in(GemmPrecision::kTf32x3).selective_scan(s);
  gpu_in(GemmPrecision::kTf32x3).synchronize();
  const Buffer big = y_big.download();
  const Buffer small_all = s.z.empty() ? y_small_own.download() : fresh.xz.download();
  const int64_t small_col = s.z.empty() ? 0 : s.z.data - fresh.xz.cview().data;
  int64_t wrong = 0;
  for (int64_t i = 0; i < data.seqs * data.len; ++i) {
    for (int64_t c = 0; c < dim; ++c) {
      const float v = plain.at(i, c), b = tf32(v), r = tf32(v - b);
      const float got_big = big.at(i, c), got_small = small_all.data[i * small_all.ld + small_col + c];
      wrong += std::memcmp(&b, &got_big, 4) != 0 || std::memcmp(&r, &got_small, 4) != 0;
    }
  }
  EXPECT_EQ(wrong, 0) << "split outputs that are not the TF32 split of the unsplit call's y";
  EXPECT_TRUE(compare(to_host(dh), h_plain).bitwise) << "h_out of the split call";
  EXPECT_TRUE(y_add.download().padding_intact());
  if (q.accumulate) {
    EXPECT_TRUE(compare(y_add.download(), y0).bitwise) << "y_add was written";
  }
}

// flags: 1 reverse, 2 gate, 4 bias, 8 skip, 16 h_in, 32 accumulate onto a random y, 64 aligned
// views (ScanData; y too): the 16-byte staging, 128 with gate and accumulate: z gates the sum
// (ScanParams::gate_sum); rank > 0: the fused dt_proj (delta = dt_in ·
// dt_w^T) instead of an explicit delta. Returns whether the call kept chunk states (and so
// checked that reading them gives the same bits).
bool check_scan(std::mt19937& rng, int64_t seqs, int64_t len, int64_t dim, int64_t nstate, int flags,
                float delta_mean = 0.0f, int64_t rank = 0) {
  const bool reverse = flags & 1, gate = flags & 2, bias = flags & 4, skip = flags & 8, state = flags & 16;
  const bool accumulate = flags & 32, aligned = flags & 64, fused = rank > 0;
  const bool gate_sum = (flags & 128) && gate && accumulate;
  SCOPED_TRACE(testing::Message() << "S " << seqs << " L " << len << " D " << dim << " N " << nstate << " R " << rank
                                  << " reverse " << reverse << " gate " << gate << " bias " << bias << " skip " << skip
                                  << " state " << state << " accumulate " << accumulate << " aligned " << aligned
                                  << " gate_sum " << gate_sum);
  const ScanData data(rng, seqs, len, dim, nstate, delta_mean, rank, aligned);
  Buffer y0(seqs * len, dim + 1, aligned ? ScanData::round4(dim) + 4 : dim + 1);  // y is a column slice
  if (accumulate) fill_normal(rng, y0);

  Buffer want = y0;
  std::vector<float> h_want(data.h_in.size(), -1.0f);
  ScanParams p = scan_params(data, views(data), want.view().col_slice(0, dim), reverse, gate, bias, skip, fused);
  p.accumulate = accumulate;
  p.gate_sum = gate_sum;
  p.h_in = state ? data.h_in.data() : nullptr;
  p.h_out = h_want.data();
  cpu().selective_scan(p);

  const DeviceScanData dev(data);
  const DeviceMat dy(y0);
  DeviceBuffer<float> dh = to_device(std::vector<float>(data.h_in.size(), -1.0f));
  ScanParams q = scan_params(data, views(dev), dy.view().col_slice(0, dim), reverse, gate, bias, skip, fused);
  q.accumulate = accumulate;
  q.gate_sum = gate_sum;
  q.h_in = state ? dev.h_in.data() : nullptr;
  q.h_out = dh.data();
  gpu().selective_scan(q);
  const Buffer got = dy.download();
  const std::vector<float> h_got = to_host(dh);

  const Difference dy_diff = compare(got, want), dh_diff = compare(h_got, h_want);
  EXPECT_LE(dy_diff.relative, kScanTolerance) << "y: " << describe(dy_diff);
  EXPECT_LE(dh_diff.relative, kScanTolerance) << "h_out: " << describe(dh_diff);
  EXPECT_TRUE(got.padding_intact());

  check_split_output(data, dev, q, y0, got, h_got);

  // dt kept between the passes in memory the caller lends (a column slice of a wider matrix, as
  // the model lends the split norm's rows): the same y and h_out, bitwise.
  {
    const DeviceMat dy_lent(y0);
    DeviceBuffer<float> dh_lent = to_device(std::vector<float>(data.h_in.size(), -1.0f));
    const Buffer lent0(seqs * len, 3 * dim + 4, aligned ? ScanData::round4(3 * dim + 4) : 3 * dim + 4);
    const DeviceMat lent(lent0);
    ScanParams l = q;
    l.y = dy_lent.view().col_slice(0, dim);
    l.h_out = dh_lent.data();
    l.dt_scratch = lent.view().col_slice(aligned ? 4 : 1, dim);
    gpu().selective_scan(l);
    EXPECT_TRUE(compare(dy_lent.download(), got).bitwise) << "dt in lent memory changed y";
    EXPECT_TRUE(compare(to_host(dh_lent), h_got).bitwise) << "dt in lent memory changed h_out";
    // A chunked call keeps its dt there (dt > 0: softplus), and only there.
    const Buffer lent_after = lent.download();
    const int64_t c0 = aligned ? 4 : 1;
    EXPECT_TRUE(lent_after.padding_intact());
    int64_t outside = 0, inside = 0;
    for (int64_t i = 0; i < lent_after.rows; ++i) {
      for (int64_t c = 0; c < lent_after.cols; ++c) {
        const bool in = c >= c0 && c < c0 + dim;
        (in ? inside : outside) += lent_after.at(i, c) != 0.0f;
      }
    }
    EXPECT_EQ(outside, 0) << "the scan wrote outside the lent columns";
    if (gpu().scan_chunk_state_floats(q) > 0) {
      EXPECT_EQ(inside, lent_after.rows * dim) << "dt not kept in the lent memory";
    }
  }

  // State only (y empty): the same h_out, bitwise, and y untouched.
  const Buffer untouched(seqs * len, dim);
  const DeviceMat du(untouched);
  DeviceBuffer<float> dh2 = to_device(std::vector<float>(data.h_in.size(), -1.0f));
  ScanParams r = scan_params(data, views(dev), du.view(), reverse, gate, bias, skip, fused);
  r.y = MatF();
  r.h_in = state ? dev.h_in.data() : nullptr;
  r.h_out = dh2.data();
  gpu().selective_scan(r);
  EXPECT_TRUE(compare(to_host(dh2), h_got).bitwise) << "state-only h_out differs from the full scan's";
  EXPECT_TRUE(compare(du.download(), untouched).bitwise);

  // Chunk states kept by a state-only call, then read by the call with y (the model's
  // checkpoint sweep, then its final sweep): the same y and h_out, bitwise.
  const size_t kept = gpu().scan_chunk_state_floats(r);
  if (kept == 0) return false;
  EXPECT_EQ(kept, gpu().scan_chunk_state_floats(q)) << "a call with y would chunk differently";
  DeviceBuffer<float> chunks(gpu(), kept);
  DeviceBuffer<float> dh3 = to_device(std::vector<float>(data.h_in.size(), -1.0f));
  r.h_out = dh3.data();
  r.chunk_states_out = chunks.data();
  r.chunk_state_floats = kept;
  gpu().selective_scan(r);
  EXPECT_TRUE(compare(to_host(dh3), h_got).bitwise) << "storing chunk states changed h_out";
  // As the model reads them: h_in and h_out one buffer (h_in holding the storing call's values).
  const DeviceMat dy_kept(y0);
  DeviceBuffer<float> dh_kept = to_device(state ? data.h_in : std::vector<float>(data.h_in.size(), -1.0f));
  ScanParams k = q;
  k.y = dy_kept.view().col_slice(0, dim);
  k.h_in = state ? dh_kept.data() : nullptr;
  k.h_out = dh_kept.data();
  k.chunk_states_in = chunks.data();
  k.chunk_state_floats = kept;
  gpu().selective_scan(k);
  EXPECT_TRUE(compare(dy_kept.download(), got).bitwise) << "y from kept chunk states differs";
  EXPECT_TRUE(compare(to_host(dh_kept), h_got).bitwise) << "h_out from kept chunk states differs";
  return true;
}

TEST(CudaScan, MatchesCpu) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(30);
  int flags = 0;
  for (int64_t len : kLengths) {
    for (int64_t dim : {1, 33, 70}) {
      for (int64_t nstate : {16, 7, 1}) {
        check_scan(rng, 1 + flags % 2, len, dim, nstate, flags % 32);
        ++flags;
      }
    }
  }
  for (int f = 0; f < 32; ++f) check_scan(rng, 2, 129, 37, 16, f);  // every option combination
  for (int64_t nstate : {2, 3, 5, 8, 9, 17, 31, 32}) check_scan(rng, 3, 65, 21, nstate, 0b11111 - (nstate % 2));
  check_scan(rng, 1, 300, 20, 16, 0b11111, 21.0f);  // dt above the softplus threshold
  check_scan(rng, 1, kLongRows, 5, 16, 0b01110);
  check_scan(rng, 1, kLongRows, 5, 16, 0b11111);
}

// The fused dt_proj and accumulate, as the model calls the scan: R 16 (and odd ranks), every
// option, both long and short records, the 131k model's channel count.
TEST(CudaScan, FusedDtProjAndAccumulateMatchCpu) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(32);
  for (int f = 0; f < 64; ++f) check_scan(rng, 2, 129, 37, 16, f, 0.0f, 16);
  for (int64_t rank : {1, 3, 33}) check_scan(rng, 3, 300, 70, 16, 0b111111 - (rank % 2), 0.0f, rank);
  int i = 0;
  for (int64_t len : kLengths) {
    check_scan(rng, 1 + i % 2, len, 130, 16, 0b101110 | (i % 2), 0.0f, 16);
    ++i;
  }
  check_scan(rng, 1, 65536, 512, 16, 0b111111, 0.0f, 16);
  check_scan(rng, 1, 300, 20, 16, 0b111111, 21.0f, 16);  // dt above the softplus threshold
  check_scan(rng, 1, kLongRows, 5, 16, 0b111110, 0.0f, 16);
}

// z gating the sum of y and the scan's output (ScanParams::gate_sum, two directions sharing z),
// as the model's right-to-left mixer calls it: every option with gate and accumulate, chunked
// and direct, aligned or not, split or not (check_split_output), kept chunk states.
TEST(CudaScan, GatedSumMatchesCpu) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(36);
  for (int f = 0; f < 128; ++f)
    if ((f & 0b100010) == 0b100010) check_scan(rng, 2, 129, 37, 16, 128 | f, 0.0f, 16);
  check_scan(rng, 1, 65536, 512, 16, 128 | 0b1111111, 0.0f, 16);
  EXPECT_TRUE(check_scan(rng, 1, 20000, 130, 16, 128 | 0b1111111, 0.0f, 16));
  check_scan(rng, 1, kLongRows, 5, 16, 128 | 0b0111110);
}

// The 16-byte staging (aligned views, as the model's): channel counts that end inside a float4
// (70) and beyond a block (130, 512), d_state that is not a power of 2 (12: zero-filled float4s
// of B and C), rows whose float4s do not divide the block (R 4, N 8: 3 per row), delta given or
// fused, every option, chunked and direct.
TEST(CudaScan, AlignedStagingMatchesCpu) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(34);
  for (int f = 0; f < 64; f += 3) check_scan(rng, 2, 129, 70, 12, 64 | f, 0.0f, 16);
  for (int f = 0; f < 64; f += 5) check_scan(rng, 2, 300, 130, 16, 64 | f);
  check_scan(rng, 1, 2049, 70, 8, 64 | 0b111111, 0.0f, 4);
  check_scan(rng, 2, 20000, 512, 16, 64 | 0b111111, 0.0f, 16);
  check_scan(rng, 1, 65536, 130, 12, 64 | 0b101110, 0.0f, 8);
  check_scan(rng, 1, 65536, 70, 16, 64 | 0b011111);
}

// Kept chunk states (ScanParams::chunk_states_*) give the bits of a scan that finds them itself:
// long records in every option, delta given, fused with dt_w in registers (R 16) or staged (R
// 33), aligned or not, h_in and h_out one buffer.
TEST(CudaScan, KeptChunkStatesGiveTheSameBits) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(35);
  for (int f = 0; f < 128; f += 7) EXPECT_TRUE(check_scan(rng, 1, 20000, 130, 16, f, 0.0f, 16)) << f;
  EXPECT_TRUE(check_scan(rng, 2, 20000, 70, 12, 0b111111));
  EXPECT_TRUE(check_scan(rng, 1, 30001, 37, 16, 0b1011111, 0.0f, 33));
  EXPECT_TRUE(check_scan(rng, 1, 65536, 512, 16, 0b1111111, 0.0f, 16));
  EXPECT_FALSE(check_scan(rng, 1, 7, 5, 16, 0b111111, 0.0f, 16));  // one chunk: nothing kept
}

// Tiles with the state carried (h_in == h_out, one device buffer) equal one pass to rounding:
// the scan's chunks start where the call's rows start, so a tile boundary moves the points
// where chunk states are combined (prod exp(dt A) * h + local instead of step by step).
TEST(CudaScan, TilesCarryState) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(31);
  const int64_t len = 2049, dim = 45, nstate = 16;
  const ScanData data(rng, 1, len, dim, nstate);
  const DeviceScanData dev(data);
  for (bool reverse : {false, true}) {
    for (int64_t tile : {1, 128, 333, 2048}) {
      const Buffer y0(len, dim);
      const DeviceMat whole(y0), tiled(y0);
      DeviceBuffer<float> h_whole(gpu(), data.h_in.size());
      ScanParams p = scan_params(data, views(dev), whole.view(), reverse, true, true, true);
      p.h_in = dev.h_in.data();
      p.h_out = h_whole.data();
      gpu().selective_scan(p);
      DeviceBuffer<float> h = to_device(data.h_in);
      std::vector<std::pair<int64_t, int64_t>> tiles = {{0, tile}, {tile, len - tile}};
      if (reverse) std::swap(tiles[0], tiles[1]);
      for (auto [r0, rows] : tiles) {
        ScanParams t = scan_params(data, views(dev), tiled.view(), reverse, true, true, true);
        for (ConstMatF* m : {&t.u, &t.delta, &t.B, &t.C, &t.z}) *m = m->row_slice(r0, rows);
        t.y = t.y.row_slice(r0, rows);
        t.seq_len = rows;
        t.h_in = t.h_out = h.data();
        gpu().selective_scan(t);
      }
      const Difference dy = compare(tiled.download(), whole.download());
      const Difference dh = compare(to_host(h), to_host(h_whole));
      EXPECT_LE(dy.relative, kScanTileTolerance) << "tile " << tile << " reverse " << reverse << ": " << describe(dy);
      EXPECT_LE(dh.relative, kScanTileTolerance) << "tile " << tile << " reverse " << reverse << ": " << describe(dh);
    }
  }
}

// ---- add_rms_norm -----------------------------------------------------------------------------

void check_norm(std::mt19937& rng, int64_t rows, int64_t width, int variant) {
  const bool has_x = variant % 3 != 1, has_res = variant % 3 != 0, res_out = variant % 2, in_place = variant % 4 == 3;
  SCOPED_TRACE(testing::Message() << "R " << rows << " W " << width << " x " << has_x << " residual_in " << has_res
                                  << " residual_out " << res_out << " in place " << in_place);
  // x and residual are column slices (one channel half of a PS model's stream); in place: y is
  // x and residual_out is residual_in.
  Buffer x0(rows, 2 * width + 1), res0(rows, 2 * width + 1);
  fill_normal(rng, x0);
  fill_normal(rng, res0, 0.0f, 3.0f);
  const std::vector<float> weight = normal_vector(rng, width, 1.0f, 0.2f);
  const Buffer y0(rows, width, width + 1);
  const bool y_is_x = in_place && has_x;
  auto params = [&](MatF x, MatF res, MatF y, const float* w) {
    const MatF xs = x.col_slice(width, width), rs = res.col_slice(1, width);
    return AddRmsNormParams{has_x ? ConstMatF(xs) : ConstMatF(), has_res ? ConstMatF(rs) : ConstMatF(), w, 1e-5f,
                            res_out ? rs : MatF(), y_is_x ? xs : y};
  };

  Buffer x_want = x0, r_want = res0, y_want = y0;
  cpu().add_rms_norm(params(x_want.view(), r_want.view(), y_want.view(), weight.data()));

  const DeviceMat dx(x0), dr(res0), dy(y0);
  const DeviceBuffer<float> dw = to_device(weight);
  gpu().add_rms_norm(params(dx.view(), dr.view(), dy.view(), dw.data()));
  const Buffer x_got = dx.download(), r_got = dr.download(), y_got = dy.download();

  const Difference d = y_is_x ? compare(x_got, x_want) : compare(y_got, y_want);
  EXPECT_LE(d.relative, kNormTolerance) << describe(d);
  EXPECT_TRUE(compare(r_got, r_want).bitwise) << "residual_out";
  EXPECT_TRUE(y_got.padding_intact());
  if (!y_is_x) {
    EXPECT_TRUE(compare(x_got, x0).bitwise) << "x was written";
  }
}

// The split output (AddRmsNormParams::y_small, y_repeated: in_proj's input in tf32x3 mode): each
// value's TF32 rounding, its rounded remainder and the rounding again, of the unsplit call's y,
// bitwise; residual_out as the unsplit call's.
TEST(CudaNorm, SplitOutputIsTheSplitOfY) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(41);
  for (auto [rows, width] : {std::pair<int64_t, int64_t>{2049, 256}, {7, 33}, {1, 1}}) {
    SCOPED_TRACE(testing::Message() << "R " << rows << " W " << width);
    Buffer x(rows, width), res(rows, width);
    fill_normal(rng, x);
    fill_normal(rng, res);
    const std::vector<float> weight = normal_vector(rng, width);
    const DeviceMat dx(x), dres(res), dplain(Buffer(rows, width)), dsplit(Buffer(rows, 3 * width + 2));
    const DeviceMat dres_plain(Buffer(rows, width)), dres_split(Buffer(rows, width));
    const DeviceBuffer<float> dweight = to_device(weight);
    AddRmsNormParams p;
    p.x = dx.cview();
    p.residual_in = dres.cview();
    p.weight = dweight.data();
    p.eps = 1e-5f;
    p.residual_out = dres_plain.view();
    p.y = dplain.view();
    gpu().add_rms_norm(p);
    p.residual_out = dres_split.view();
    p.y = dsplit.view().col_slice(0, width);
    p.y_small = dsplit.view().col_slice(width, width);
    p.y_repeated = true;
    gpu().add_rms_norm(p);
    const Buffer plain = dplain.download(), split = dsplit.download();
    int64_t wrong = 0;
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t c = 0; c < width; ++c) {
        const float v = plain.at(i, c), big = tf32(v), small = tf32(v - big);
        const float got[3] = {split.at(i, c), split.at(i, width + c), split.at(i, 2 * width + c)};
        const float want[3] = {big, small, big};
        wrong += std::memcmp(got, want, sizeof(got)) != 0;
      }
    }
    EXPECT_EQ(wrong, 0);
    EXPECT_TRUE(split.padding_intact());
    EXPECT_TRUE(compare(dres_split.download(), dres_plain.download()).bitwise);
  }
}

TEST(CudaNorm, MatchesCpu) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(40);
  int variant = 0;
  for (int64_t rows : kLengths) {
    for (int64_t width : {1, 7, 33, 70, 256, 513}) check_norm(rng, rows, width, variant++);
  }
  for (int v = 0; v < 12; ++v) check_norm(rng, 130, 200, v);
}

// ---- embedding, elementwise, flip -------------------------------------------------------------

// Runs op on the CPU and on the GPU into y buffers with padding; bitwise equal, padding intact.
template <typename Op>
void expect_bitwise(int64_t rows, int64_t width, const Op& op) {
  const Buffer y0(rows, width, width + 3);
  Buffer want = y0;
  op(cpu(), want.view(), false);
  const DeviceMat dy(y0);
  op(gpu(), dy.view(), true);
  const Buffer got = dy.download();
  EXPECT_TRUE(compare(got, want).bitwise);
  EXPECT_TRUE(got.padding_intact());
}

void check_row_ops(std::mt19937& rng, int64_t rows, int64_t width) {
  SCOPED_TRACE(testing::Message() << "R " << rows << " W " << width);
  Buffer table(16, width, width + 2), a(rows, width, width + 1), b(rows, 2 * width);
  fill_normal(rng, table);
  fill_normal(rng, a);
  fill_normal(rng, b);
  std::vector<int32_t> ids(rows);
  for (int32_t& id : ids) id = int32_t(rng() % 16);
  const DeviceMat d_table(table), da(a), db(b);
  const DeviceBuffer<int32_t> d_ids = to_device(ids);
  // b is a column slice (ld > cols, offset 1 column).
  const ConstMatF b_host = b.cview().col_slice(1, width), b_dev = db.cview().col_slice(1, width);

  expect_bitwise(rows, width, [&](Backend& be, MatF y, bool on_gpu) {
    be.embedding({on_gpu ? d_ids.data() : ids.data(), on_gpu ? d_table.cview() : table.cview(), y});
  });
  for (auto op : {ElementwiseOp::kAdd, ElementwiseOp::kMul, ElementwiseOp::kAverage}) {
    SCOPED_TRACE(testing::Message() << "op " << int(op));
    expect_bitwise(rows, width, [&](Backend& be, MatF y, bool on_gpu) {
      be.elementwise({op, on_gpu ? da.cview() : a.cview(), on_gpu ? b_dev : b_host, y});
    });
    // In place: y is a, then y is b.
    for (bool into_a : {true, false}) {
      Buffer want_a = a, want_b = b;
      const MatF wa = want_a.view(), wb = want_b.view().col_slice(1, width);
      cpu().elementwise({op, wa, wb, into_a ? wa : wb});
      const DeviceMat ga(a), gb(b);
      const MatF va = ga.view(), vb = gb.view().col_slice(1, width);
      gpu().elementwise({op, va, vb, into_a ? va : vb});
      EXPECT_TRUE(compare(ga.download(), want_a).bitwise) << "in place into " << (into_a ? "a" : "b");
      EXPECT_TRUE(compare(gb.download(), want_b).bitwise) << "in place into " << (into_a ? "a" : "b");
    }
  }
  for (int f = 0; f < 4; ++f) {
    SCOPED_TRACE(testing::Message() << "flip rows " << (f & 1) << " cols " << (f & 2));
    expect_bitwise(rows, width, [&](Backend& be, MatF y, bool on_gpu) {
      be.flip({on_gpu ? b_dev : b_host, y, bool(f & 1), bool(f & 2)});
    });
  }
}

TEST(CudaRowOps, MatchCpuBitwise) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(50);
  for (int64_t rows : kLengths) {
    for (int64_t width : {1, 33, 70}) check_row_ops(rng, rows, width);
  }
}

TEST(CudaRowOps, LongElementwise) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  std::mt19937 rng(51);
  const int64_t width = 3;
  Buffer a(kLongRows, width, width + 1), b(kLongRows, width);
  fill_normal(rng, a);
  fill_normal(rng, b);
  const DeviceMat da(a), db(b);
  for (auto op : {ElementwiseOp::kAdd, ElementwiseOp::kMul, ElementwiseOp::kAverage}) {
    SCOPED_TRACE(testing::Message() << "op " << int(op));
    expect_bitwise(kLongRows, width, [&](Backend& be, MatF y, bool on_gpu) {
      be.elementwise({op, on_gpu ? da.cview() : a.cview(), on_gpu ? db.cview() : b.cview(), y});
    });
  }
  expect_bitwise(kLongRows, width, [&](Backend& be, MatF y, bool on_gpu) {
    be.flip({on_gpu ? da.cview() : a.cview(), y, true, true});
  });
}

// ---- recorded calls (CUDA graphs) -------------------------------------------------------------

namespace recorded {

// A fresh backend per test (its own recorder, scratch and counts), tf32x3 so that the product
// below runs through the workspace's scratch (split copies of x and w).
std::unique_ptr<Backend> fresh_backend() {
  return make_cuda_backend(0, GemmPrecision::kTf32x3);
}

struct Product {
  Backend& backend;
  int64_t rows, k = 256, n = 512;  // n >= the split threshold: x is split into scratch
  DeviceBuffer<float> x, w, y;
  std::mt19937 rng{7};
  Product(Backend& b, int64_t m) : backend(b), rows(m), x(b, size_t(m * k)), w(b, size_t(n * k)), y(b, size_t(m * n)) {
    const std::vector<float> hw = normal_vector(rng, n * k);
    backend.upload(w.data(), hw.data(), w.bytes());
  }
  void set_input() {
    const std::vector<float> hx = normal_vector(rng, rows * k);
    backend.upload(x.data(), hx.data(), x.bytes());
  }
  void issue() {
    backend.linear({ConstMatF(x.data(), rows, k), ConstMatF(w.data(), n, k), nullptr, MatF(y.data(), rows, n), false});
  }
  std::vector<float> result() {
    std::vector<float> out(size_t(rows * n));
    backend.download(out.data(), y.data(), y.size() * sizeof(float));
    return out;
  }
};

}  // namespace recorded

// The second call of a signature is recorded, later ones replayed; each call computes from the
// inputs as they are then, bit for bit as a direct call; another owner's larger call that
// reallocates the scratch makes the first owner's next call run directly (its graph held the
// old scratch), then record again; a new signature or a forgotten owner starts over.
TEST(CudaRecording, ReplaysFollowInputsAndScratch) {
  if (cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  const auto backend = recorded::fresh_backend();
  recorded::Product a(*backend, 300);
  const int owner_a = 0, owner_b = 0;
  const int64_t signature[] = {1, 300};
  const auto expect_direct_bits = [&](const char* when) {
    const std::vector<float> got = a.result();
    a.issue();  // directly, same inputs
    EXPECT_EQ(got, a.result()) << when;
  };
  for (int call = 0; call < 4; ++call) {
    a.set_input();
    backend->run_recorded(&owner_a, signature, [&] { a.issue(); });
    expect_direct_bits("call of the first round");
  }
  Backend::RecordingStats s = backend->recording_stats();
  EXPECT_EQ(s.direct, 1);
  EXPECT_EQ(s.recorded, 1);
  EXPECT_EQ(s.replayed, 2);

  recorded::Product b(*backend, 20000);  // more rows: the split copies need more scratch
  b.set_input();
  const int64_t signature_b[] = {2};
  backend->run_recorded(&owner_b, signature_b, [&] { b.issue(); });
  for (int call = 0; call < 3; ++call) {
    a.set_input();
    backend->run_recorded(&owner_a, signature, [&] { a.issue(); });
    expect_direct_bits("call after the scratch grew");
  }
  s = backend->recording_stats();
  EXPECT_EQ(s.direct, 1 + 1 + 1);  // + b's, + a's first after the reallocation
  EXPECT_EQ(s.recorded, 2);
  EXPECT_EQ(s.replayed, 3);

  const int64_t other[] = {1, 301};
  backend->run_recorded(&owner_a, other, [&] { a.issue(); });
  backend->forget_recorded(&owner_a);
  backend->run_recorded(&owner_a, other, [&] { a.issue(); });
  s = backend->recording_stats();
  EXPECT_EQ(s.direct, 5);
  EXPECT_EQ(s.recorded, 2);
}

// A call sequence that cannot be captured (here: an upload, which waits for the device) runs
// directly every time, with the right result.
TEST(CudaRecording, UncapturableCallsRunDirectly) {
  if (cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  const auto backend = recorded::fresh_backend();
  recorded::Product a(*backend, 64);
  std::mt19937 rng(3);
  const int owner = 0;
  const int64_t signature[] = {9};
  for (int call = 0; call < 3; ++call) {
    const std::vector<float> hx = normal_vector(rng, a.rows * a.k);
    backend->run_recorded(&owner, signature, [&] {
      backend->upload(a.x.data(), hx.data(), a.x.bytes());
      a.issue();
    });
    const std::vector<float> got = a.result();
    a.issue();
    EXPECT_EQ(got, a.result()) << "call " << call;
  }
  const Backend::RecordingStats s = backend->recording_stats();
  EXPECT_EQ(s.direct, 3);
  EXPECT_EQ(s.recorded, 0);
  EXPECT_EQ(s.replayed, 0);
}

}  // namespace
}  // namespace strand::kernels
