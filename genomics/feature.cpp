// Feature helpers; see feature.h.
#include "genomics/feature.h"

#include <algorithm>

#include "core/error.h"

namespace strand::genomics {

int64_t Feature::beg0() const {
  STRAND_ASSERT(!parts.empty(), "feature '", id, "' has no parts");
  int64_t beg = parts.front().beg0;
  for (const FeaturePart& p : parts) beg = std::min(beg, p.beg0);
  return beg;
}

int64_t Feature::end0() const {
  STRAND_ASSERT(!parts.empty(), "feature '", id, "' has no parts");
  int64_t end = parts.front().end0;
  for (const FeaturePart& p : parts) end = std::max(end, p.end0);
  return end;
}

const std::string* Feature::attribute(std::string_view key) const {
  for (const auto& [k, v] : attributes)
    if (k == key) return &v;
  return nullptr;
}

}  // namespace strand::genomics
