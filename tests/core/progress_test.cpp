#include "core/progress.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace strand {
namespace {

TEST(HumanCount, Units) {
  EXPECT_EQ(human_count(999), "999");
  EXPECT_EQ(human_count(45100), "45.1k");
  EXPECT_EQ(human_count(1.23e6), "1.23M");
  EXPECT_EQ(human_count(2.5e9), "2.50G");
}

TEST(HumanDuration, Format) {
  EXPECT_EQ(human_duration(5), "0:05");
  EXPECT_EQ(human_duration(125), "2:05");
  EXPECT_EQ(human_duration(3723), "1:02:03");
  EXPECT_EQ(human_duration(-1), "?");
}

TEST(Progress, CountsFromManyThreads) {
  Progress p("test", "bases", 0, 0.0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) p.add(3);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(p.done(), 120000u);
  testing::internal::CaptureStderr();
  p.finish();
  p.finish();  // prints once
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("[M::test] 120.0k bases in"), std::string::npos) << err;
  EXPECT_EQ(err.find("[M::test]", 1), std::string::npos) << err;
}

}  // namespace
}  // namespace strand
