#include "kernels/device.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace strand::kernels {
namespace {

TEST(DeviceSpec, ParsesCpuAndCudaLists) {
  EXPECT_EQ(parse_device_spec("cpu").kind, DeviceSpec::Kind::kCpu);
  const auto one = parse_device_spec("cuda");
  EXPECT_EQ(one.kind, DeviceSpec::Kind::kCuda);
  EXPECT_EQ(one.cuda_ordinals, std::vector<int>{0});
  EXPECT_EQ(parse_device_spec("cuda:1").cuda_ordinals, std::vector<int>{1});
  EXPECT_EQ(parse_device_spec("cuda:0,cuda:2").cuda_ordinals, (std::vector<int>{0, 2}));
  EXPECT_EQ(parse_device_spec("cuda:0,3").cuda_ordinals, (std::vector<int>{0, 3}));
  EXPECT_EQ(parse_device_spec("cuda:0,cuda:2").to_string(), "cuda:0,cuda:2");
}

TEST(DeviceSpec, RejectsBadSpecs) {
  for (const char* bad : {"", "gpu", "cuda:", "cuda:-1", "cuda:x", "cuda:0,cuda:0", "cpu,cuda", "tpu:0"})
    EXPECT_THROW(parse_device_spec(bad), Error) << bad;
}

TEST(DeviceQuery, AnswersWithoutThrowing) {
  std::string why;
  const auto devices = cuda_devices(&why);
  if (devices.empty()) {
    EXPECT_FALSE(why.empty());
  }
  if (!cuda_compiled()) {
    EXPECT_THROW(check_device_available(parse_device_spec("cuda:0")), Error);
  }
  EXPECT_NO_THROW(check_device_available(parse_device_spec("cpu")));
  // An ordinal past the visible devices is always an error.
  EXPECT_THROW(check_device_available(parse_device_spec("cuda:1000")), Error);
}

}  // namespace
}  // namespace strand::kernels
