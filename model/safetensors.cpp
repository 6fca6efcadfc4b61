// Safetensors reading (memory-mapped, header validated in full before any tensor is touched)
// and writing (F32). The validation mirrors the reference Rust implementation's: header
// length bounded, every entry typed, offsets inside the data section and non-overlapping,
// byte size consistent with dtype and shape, with overflow-checked arithmetic throughout.
#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/text.h"

namespace strand::model {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; strand reads it in place on little-endian hosts only");

namespace {

using Json = nlohmann::ordered_json;

struct DTypeName {
  StDType dtype;
  const char* name;
  size_t size;
};
constexpr DTypeName kDTypes[] = {
    {StDType::kF64, "F64", 8},   {StDType::kF32, "F32", 4},        {StDType::kF16, "F16", 2},
    {StDType::kBF16, "BF16", 2}, {StDType::kI64, "I64", 8},        {StDType::kI32, "I32", 4},
    {StDType::kI16, "I16", 2},   {StDType::kI8, "I8", 1},          {StDType::kU8, "U8", 1},
    {StDType::kBool, "BOOL", 1}, {StDType::kF8E4M3, "F8_E4M3", 1}, {StDType::kF8E5M2, "F8_E5M2", 1},
};

// Where a header-level problem is: "model.safetensors: tensor 'x': ".
std::string where(std::string_view source, std::string_view tensor) {
  return cat(source, ": tensor ", quote_for_message(tensor, 200), ": ");
}

// A JSON value in an error message, shortened.
std::string show(const Json& value) {
  // JSON text is already escaped; long values are cut.
  std::string text = value.dump(-1, ' ', true, Json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

uint64_t get_u64(const Json& value, std::string_view source, std::string_view tensor, std::string_view field) {
  if (!value.is_number_integer())
    fail(where(source, tensor), "'", field, "' entries must be non-negative integers, found ", show(value));
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  const int64_t v = value.get<int64_t>();
  if (v < 0) fail(where(source, tensor), "'", field, "' entries must be non-negative integers, found ", v);
  return static_cast<uint64_t>(v);
}

StTensorInfo parse_entry(const std::string& name, const Json& entry, uint64_t data_bytes, std::string_view source) {
  if (!entry.is_object())
    fail(where(source, name), "expected an object {dtype, shape, data_offsets}, found ", show(entry));
  StTensorInfo t;
  t.name = name;
  const auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end()) fail(where(source, name), "no 'dtype'");
  if (!dtype_it->is_string()) fail(where(source, name), "'dtype' must be a string, found ", show(*dtype_it));
  const std::string& dtype = dtype_it->get_ref<const std::string&>();
  const auto known =
      std::find_if(std::begin(kDTypes), std::end(kDTypes), [&](const DTypeName& d) { return dtype == d.name; });
  if (known == std::end(kDTypes)) fail(where(source, name), "unknown dtype ", quote_for_message(dtype));
  t.dtype = known->dtype;

  const auto shape_it = entry.find("shape");
  if (shape_it == entry.end()) fail(where(source, name), "no 'shape'");
  if (!shape_it->is_array()) fail(where(source, name), "'shape' must be an array, found ", show(*shape_it));
  // numel in 64 bits with overflow checks: a hostile shape must not wrap around to a small size.
  uint64_t numel = 1;
  bool overflow = false;
  for (const Json& dim : *shape_it) {
    const uint64_t d = get_u64(dim, source, name, "shape");
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) overflow = true;
    t.shape.push_back(static_cast<int64_t>(d));
    if (d != 0 && numel > std::numeric_limits<uint64_t>::max() / d) overflow = true;
    numel *= d;
  }
  if (std::find(t.shape.begin(), t.shape.end(), 0) != t.shape.end()) {
    numel = 0;
    overflow = false;  // a zero dimension makes every other size harmless
  }
  if (overflow || numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / known->size)
    fail(where(source, name), "shape ", show(*shape_it), " has too many elements");

  const auto off_it = entry.find("data_offsets");
  if (off_it == entry.end()) fail(where(source, name), "no 'data_offsets'");
  if (!off_it->is_array() || off_it->size() != 2)
    fail(where(source, name), "'data_offsets' must be [begin, end], found ", show(*off_it));
  t.begin = get_u64((*off_it)[0], source, name, "data_offsets");
  t.end = get_u64((*off_it)[1], source, name, "data_offsets");
  if (t.begin > t.end) fail(where(source, name), "data_offsets [", t.begin, ", ", t.end, "] end before they begin");
  if (t.end > data_bytes)
    fail(where(source, name), "data_offsets [", t.begin, ", ", t.end, "] reach past the end of the data section (",
         data_bytes, " bytes): the file is truncated or corrupt");
  const uint64_t expected = numel * known->size;
  if (t.end - t.begin != expected)
    fail(where(source, name), "holds ", t.end - t.begin, " bytes, but dtype ", known->name, " and shape ",
         show(*shape_it), " need ", expected);
  return t;
}

// Duplicate keys are legal JSON that nlohmann resolves silently (last wins); in a header they
// mean corruption or an ambiguous file, so the parse callback records the first one.
struct DuplicateKeyCheck {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;

  bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start: open_objects.emplace_back(); break;
      case Json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string() &&
            !open_objects.back().insert(parsed.get<std::string>()).second && duplicate.empty())
          duplicate = parsed.get<std::string>();
        break;
      default: break;
    }
    return true;
  }
};

}  // namespace

const char* to_string(StDType dtype) {
  for (const auto& d : kDTypes)
    if (d.dtype == dtype) return d.name;
  return "?";
}

size_t dtype_size(StDType dtype) {
  for (const auto& d : kDTypes)
    if (d.dtype == dtype) return d.size;
  STRAND_ASSERT(false, "unknown safetensors dtype ", static_cast<int>(dtype));
}

bool is_float(StDType dtype) {
  return dtype == StDType::kF64 || dtype == StDType::kF32 || dtype == StDType::kF16 || dtype == StDType::kBF16;
}

float f16_to_f32(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  const uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exactly representable in fp32.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN (payload kept)
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));           // rebias 15 -> 127
}

float bf16_to_f32(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

int64_t StTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // validated against overflow when the header was parsed
  return n;
}

std::vector<StTensorInfo> parse_safetensors_header(std::string_view json, uint64_t data_bytes, std::string_view source,
                                                   std::map<std::string, std::string>* metadata) {
  if (json.size() > kMaxHeaderBytes)
    fail(source, ": safetensors header of ", json.size(), " bytes is larger than the limit of ", kMaxHeaderBytes);
  Json header;
  DuplicateKeyCheck duplicates;
  try {
    header = Json::parse(json.begin(), json.end(), std::ref(duplicates));
  } catch (const Json::exception& e) {
    fail(source, ": safetensors header is not valid JSON: ", e.what());
  }
  if (!duplicates.duplicate.empty())
    fail(source, ": safetensors header has the key ", quote_for_message(duplicates.duplicate, 200), " twice");
  if (!header.is_object()) fail(source, ": safetensors header must be a JSON object, found ", show(header));

  std::vector<StTensorInfo> tensors;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(source, ": '__metadata__' must be an object of strings, found ", show(entry));
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string())
          fail(source, ": '__metadata__' value of ", quote_for_message(key), " must be a string, found ", show(value));
        if (metadata) (*metadata)[key] = value.get<std::string>();
      }
      continue;
    }
    tensors.push_back(parse_entry(name, entry, data_bytes, source));
  }
  // Overlaps: in begin order, each tensor must start at or after the previous one's end.
  std::sort(tensors.begin(), tensors.end(), [](const StTensorInfo& a, const StTensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < tensors.size(); ++i)
    if (tensors[i].begin < tensors[i - 1].end)
      fail(source, ": tensors ", quote_for_message(tensors[i - 1].name, 200), " [", tensors[i - 1].begin, ", ",
           tensors[i - 1].end, ") and ", quote_for_message(tensors[i].name, 200), " [", tensors[i].begin, ", ",
           tensors[i].end, ") overlap");
  return tensors;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail(path, ": cannot stat: ", std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": not a regular file");
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    fail(path, ": file of ", size, " bytes is too short to be safetensors (no 8-byte header length)");
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);  // the mapping keeps the file open
  if (map == MAP_FAILED) fail(path, ": cannot memory-map: ", std::strerror(map_errno));
  map_ = map;
  map_bytes_ = size;

  try {
    const auto* bytes = static_cast<const uint8_t*>(map_);
    uint64_t header_bytes = 0;
    for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | bytes[i];
    if (header_bytes > kMaxHeaderBytes)
      fail(path, ": safetensors header length ", header_bytes, " is larger than the limit of ", kMaxHeaderBytes,
           " bytes (corrupt, or not a safetensors file)");
    if (header_bytes > size - 8)
      fail(path, ": safetensors header length ", header_bytes, " runs past the end of the file (", size,
           " bytes): truncated, or not a safetensors file");
    const std::string_view header(reinterpret_cast<const char*>(bytes + 8), header_bytes);
    data_ = static_cast<const std::byte*>(map_) + 8 + header_bytes;
    tensors_ = parse_safetensors_header(header, size - 8 - header_bytes, path, &metadata_);
    for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
  } catch (...) {
    ::munmap(map_, map_bytes_);
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(map_, map_bytes_);
}

const StTensorInfo* SafetensorsFile::find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const std::byte> SafetensorsFile::bytes(const StTensorInfo& t) const {
  return {data_ + t.begin, static_cast<size_t>(t.end - t.begin)};
}

void SafetensorsFile::read_f32(const StTensorInfo& t, std::span<float> out) const {
  STRAND_ASSERT(static_cast<int64_t>(out.size()) == t.numel(), "read_f32 of '", t.name, "': ", out.size(),
                " floats for ", t.numel(), " elements");
  const std::byte* src = data_ + t.begin;
  const size_t n = out.size();
  if (n == 0) return;  // an empty span may have no pointer at all
  // memcpy per element: the data section need not be aligned (the header length is arbitrary).
  switch (t.dtype) {
    case StDType::kF32: std::memcpy(out.data(), src, n * 4); return;
    case StDType::kF16:
    case StDType::kBF16: {
      const bool half = t.dtype == StDType::kF16;
      for (size_t i = 0; i < n; ++i) {
        uint16_t bits;
        std::memcpy(&bits, src + 2 * i, 2);
        out[i] = half ? f16_to_f32(bits) : bf16_to_f32(bits);
      }
      return;
    }
    case StDType::kF64:
      for (size_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, src + 8 * i, 8);
        out[i] = static_cast<float>(v);
      }
      return;
    default:
      fail(path_, ": tensor '", t.name, "' has dtype ", to_string(t.dtype),
           ", expected a floating-point type (F32, F16, BF16 or F64)");
  }
}

std::vector<int64_t> SafetensorsFile::read_i64(const StTensorInfo& t) const {
  const std::byte* src = data_ + t.begin;
  const auto n = static_cast<size_t>(t.numel());
  std::vector<int64_t> out(n);
  auto widen = [&]<typename T>(T) {
    for (size_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, src + sizeof(T) * i, sizeof(T));
      out[i] = static_cast<int64_t>(v);
    }
  };
  switch (t.dtype) {
    case StDType::kI64: widen(int64_t{}); break;
    case StDType::kI32: widen(int32_t{}); break;
    case StDType::kI16: widen(int16_t{}); break;
    case StDType::kI8: widen(int8_t{}); break;
    case StDType::kU8: widen(uint8_t{}); break;
    default: fail(path_, ": tensor '", t.name, "' has dtype ", to_string(t.dtype), ", expected an integer type");
  }
  return out;
}

SafetensorsWriter::SafetensorsWriter(std::string path) : path_(std::move(path)) {
  if (path_ == "-") {
    spill_ = std::tmpfile();
  } else {
    // Beside the output (same file system, and the output's directory is known writable);
    // unlinked at once so that nothing is left behind whatever happens.
    const std::string spill = path_ + ".spill";
    spill_ = std::fopen(spill.c_str(), "w+b");
    if (spill_ != nullptr) std::remove(spill.c_str());
  }
  if (spill_ == nullptr) fail(path_, ": cannot create a scratch file for the output: ", std::strerror(errno));
}

SafetensorsWriter::~SafetensorsWriter() {
  if (spill_ != nullptr) std::fclose(spill_);
}

void SafetensorsWriter::add(std::string name, std::vector<int64_t> shape, std::span<const float> values) {
  STRAND_ASSERT(spill_ != nullptr, "SafetensorsWriter::add() after finish()");
  if (name.empty()) fail("safetensors output: a tensor name is empty");
  if (name == "__metadata__") fail("safetensors output: '__metadata__' cannot name a tensor");
  if (names_.count(name) != 0) fail("safetensors output: two tensors named ", quote_for_message(name, 200));
  int64_t numel = 1;
  for (int64_t d : shape) {
    STRAND_ASSERT(d >= 0, "tensor '", name, "': negative dimension ", d);
    numel *= d;
  }
  STRAND_ASSERT(numel == static_cast<int64_t>(values.size()), "tensor '", name, "': shape holds ", numel,
                " elements, given ", values.size());
  if (!values.empty() && std::fwrite(values.data(), sizeof(float), values.size(), spill_) != values.size())
    fail(path_, ": cannot write tensor '", name, "' to the scratch file: ", std::strerror(errno));
  names_.insert(name);
  tensors_.push_back({std::move(name), std::move(shape), values.size() * sizeof(float)});
}

void SafetensorsWriter::set_metadata(std::string key, std::string value) {
  metadata_[std::move(key)] = std::move(value);
}

void SafetensorsWriter::finish() {
  STRAND_ASSERT(spill_ != nullptr, "SafetensorsWriter::finish() twice");
  Json header = Json::object();
  if (!metadata_.empty()) {
    Json meta = Json::object();
    for (const auto& [k, v] : metadata_) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes}}};
    offset += t.bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const Json::exception& e) {  // names that are not UTF-8 (record names are user data)
    fail(path_, ": cannot write the safetensors header: ", e.what());
  }
  // The format recommends padding the header with spaces so that the data starts 8-aligned.
  text.append((8 - text.size() % 8) % 8, ' ');

  const bool to_stdout = path_ == "-";
  std::unique_ptr<FILE, int (*)(FILE*)> f(to_stdout ? stdout : std::fopen(path_.c_str(), "wb"),
                                          to_stdout ? [](FILE*) { return 0; } : &std::fclose);
  if (!f) fail(path_, ": cannot create: ", std::strerror(errno));
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));
  bool ok = std::fwrite(length, 1, 8, f.get()) == 8 && std::fwrite(text.data(), 1, text.size(), f.get()) == text.size();
  ok = ok && std::fflush(spill_) == 0 && std::fseek(spill_, 0, SEEK_SET) == 0;
  std::vector<char> buf(1 << 20);
  uint64_t copied = 0;
  while (ok) {
    const size_t n = std::fread(buf.data(), 1, buf.size(), spill_);
    if (n == 0) break;
    ok = std::fwrite(buf.data(), 1, n, f.get()) == n;
    copied += n;
  }
  ok = ok && copied == offset;
  if (ok) ok = std::fflush(f.get()) == 0;
  if (!to_stdout) {
    FILE* raw = f.release();
    ok = (std::fclose(raw) == 0) && ok;
  }
  std::fclose(spill_);
  spill_ = nullptr;
  if (!ok) fail(path_, ": write error: ", std::strerror(errno));
}

}  // namespace strand::model
