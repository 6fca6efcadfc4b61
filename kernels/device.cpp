#include "kernels/device.h"

#include "core/error.h"
#include "core/text.h"

namespace strand::kernels {

std::string DeviceSpec::to_string() const {
  if (kind == Kind::kCpu) return "cpu";
  std::string s;
  for (size_t i = 0; i < cuda_ordinals.size(); ++i) s += cat(i ? "," : "", "cuda:", cuda_ordinals[i]);
  return s;
}

DeviceSpec parse_device_spec(std::string_view text) {
  DeviceSpec spec;
  if (text == "cpu") return spec;
  spec.kind = DeviceSpec::Kind::kCuda;
  for (std::string_view part : split(text, ',')) {
    part = trim(part);
    if (part.rfind("cuda", 0) == 0) part.remove_prefix(4);
    else if (spec.cuda_ordinals.empty()) fail("invalid --device ", quote_for_message(text), ": expected cpu or cuda[:N][,cuda:M...]");
    if (part.empty()) {
      spec.cuda_ordinals.push_back(0);
      continue;
    }
    if (part.front() == ':') part.remove_prefix(1);
    const int64_t ordinal = parse_int64(part, "CUDA device ordinal in --device");
    if (ordinal < 0 || ordinal > 1023) fail("invalid CUDA device ordinal ", ordinal, " in --device '", text, "'");
    for (int seen : spec.cuda_ordinals)
      if (seen == ordinal) fail("CUDA device ", ordinal, " named twice in --device '", text, "'");
    spec.cuda_ordinals.push_back(static_cast<int>(ordinal));
  }
  return spec;
}

void check_device_available(const DeviceSpec& spec) {
  if (spec.kind == DeviceSpec::Kind::kCpu) return;
  if (!cuda_compiled()) fail("--device ", spec.to_string(), ": this strand was built without CUDA (rebuild with -DSTRAND_CUDA=ON)");
  std::string why;
  const auto devices = cuda_devices(&why);
  for (int ordinal : spec.cuda_ordinals)
    if (ordinal >= static_cast<int>(devices.size()))
      fail("--device ", spec.to_string(), ": CUDA device ", ordinal, " not present (",
           devices.empty() ? why : cat(devices.size(), " visible"), ")");
}

}  // namespace strand::kernels
