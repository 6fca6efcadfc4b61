// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the raw tensor bytes. Read through a read-only memory map; the header is validated in
// full before any tensor is used: offsets inside the file, no overlaps, size = dtype size x
// element count, known dtypes, sane JSON. Written by SafetensorsWriter (embeddings, heads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/output_file.h"
#include "kernels/tensor.h"

namespace strand::model {

// Every dtype the format defines: strand computes with F32/F16/BF16 tensors and names the
// others in errors ("tensor 'x' has dtype I64, expected a floating-point type").
enum class StDType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool, kF8E4M3, kF8E5M2 };
const char* to_string(StDType dtype);
size_t dtype_size(StDType dtype);
bool is_float(StDType dtype);  // F64/F32/F16/BF16: what read_f32 converts

// Exact widening of one IEEE half (F16: subnormals, infinities and NaN payloads kept) and one
// bfloat16 (the top 16 bits of an fp32) to fp32.
float f16_to_f32(uint16_t bits);
float bf16_to_f32(uint16_t bits);

struct StTensorInfo {
  std::string name;
  StDType dtype = StDType::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data section
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Maps the file and validates the header. Throws strand::Error naming the file (and the
  // tensor) on anything malformed: short file, header length past the end, bad JSON, missing
  // fields, unknown dtype, offsets out of range or overlapping, size mismatch.
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<StTensorInfo>& tensors() const { return tensors_; }
  const StTensorInfo* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::span<const std::byte> bytes(const StTensorInfo& t) const;
  // The whole file as mapped (for its checksum) and its size in bytes.
  std::span<const std::byte> file_bytes() const { return {static_cast<const std::byte*>(map_), map_bytes_}; }
  uint64_t file_size() const { return map_bytes_; }
  // The tensor converted to fp32 (F32 copied; F16/BF16 widened exactly; F64 narrowed).
  // `out` must hold numel() floats. Throws for non-float dtypes, naming the tensor.
  void read_f32(const StTensorInfo& t, std::span<float> out) const;
  // An integer tensor (I64/I32/I16/I8/U8) widened to int64 (the Caduceus complement_map
  // buffers). Throws for other dtypes, naming the tensor.
  std::vector<int64_t> read_i64(const StTensorInfo& t) const;

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  const std::byte* data_ = nullptr;  // start of the data section
  std::vector<StTensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Parses and validates a header (the JSON text) against a data section of `data_bytes`
// bytes: the part of SafetensorsFile the fuzzer drives. `source` names the file in errors.
// Returns the tensors in file order (by begin offset); the header must be at most
// kMaxHeaderBytes (100 MB, as in the reference implementation).
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;
std::vector<StTensorInfo> parse_safetensors_header(std::string_view json, uint64_t data_bytes,
                                                   std::string_view source,
                                                   std::map<std::string, std::string>* metadata);

// Writes F32 tensors to a safetensors file in the order added (names unique). Values are
// spilled to an unlinked scratch file beside the output as they come, so outputs larger than
// memory (one [L, d] tensor per read of a BAM) stream through; finish() writes the header, then
// copies the data once.
class SafetensorsWriter {
 public:
  // `path`: where finish() writes (an AtomicOutput::path(); "-" = stdout).
  explicit SafetensorsWriter(std::string path);
  ~SafetensorsWriter();
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  void add(std::string name, std::vector<int64_t> shape, std::span<const float> values);
  void set_metadata(std::string key, std::string value);
  bool has(const std::string& name) const { return names_.count(name) != 0; }
  size_t size() const { return tensors_.size(); }
  void finish();

 private:
  struct Entry {
    std::string name;
    std::vector<int64_t> shape;
    uint64_t bytes = 0;
  };
  std::string path_;
  std::FILE* spill_ = nullptr;
  std::vector<Entry> tensors_;
  std::set<std::string> names_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace strand::model
