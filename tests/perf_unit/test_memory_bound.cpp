// The perf tools' memory bound (perf/common/memory_bound.h) from made-up rank records:
// which memory is the busiest, and the bound's arithmetic.
#include "common/memory_bound.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

// A rank whose copies moved `rate` bytes per second for `seconds` from `startNs`.
perf::RankInfo rank(int r, const char* host, const char* memory, int device, double rate, std::int64_t startNs = 0,
                    double seconds = 1) {
  perf::RankInfo info{};
  info.rank = r;
  info.device = device;
  std::strncpy(info.host, host, sizeof info.host - 1);
  std::strncpy(info.memory, memory, sizeof info.memory - 1);
  info.copyBytes = rate * seconds;
  info.copyStartNs = startNs;
  info.copyEndNs = startNs + static_cast<std::int64_t>(seconds * 1e9);
  return info;
}

constexpr double kGB = 1e9;

TEST(MemoryBound, FourRanksOnOneGpuShareItsRate) {
  // All-reduce: every rank reads and writes the size (traffic 2n), busFactor 2(n-1)/n.
  std::vector<perf::RankInfo> ranks;
  for (int r = 0; r < 4; ++r) ranks.push_back(rank(r, "h1", "NVIDIA H100", 0, 750 * kGB));
  const auto b = perf::memoryBound(ranks, 2.0 * 4, 2.0 * 3 / 4);
  EXPECT_EQ(b.sharing, 4);
  EXPECT_DOUBLE_EQ(b.rate, 3000 * kGB);
  // algbw <= 3000 * 4 / (8 * 4) = 375 GB/s, busbw = 1.5 * 375.
  EXPECT_DOUBLE_EQ(b.busBw, 562.5);
  EXPECT_EQ(b.where, "cuda:0 (NVIDIA H100) of h1");
}

TEST(MemoryBound, TheBusiestMemoryBindsAndHostsCountApart) {
  // Three ranks on h1's GPU 0, one on GPU 1, two host-memory ranks on h2.
  std::vector<perf::RankInfo> ranks{rank(0, "h1", "GPU", 0, 100 * kGB), rank(1, "h1", "GPU", 0, 100 * kGB),
                                    rank(2, "h1", "GPU", 0, 100 * kGB), rank(3, "h1", "GPU", 1, 10 * kGB),
                                    rank(4, "h2", "host", 0, 5 * kGB),  rank(5, "h2", "host", 1, 5 * kGB)};
  const auto b = perf::memoryBound(ranks, 6 + 1.0, 5.0 / 6);
  EXPECT_EQ(b.sharing, 3);
  EXPECT_DOUBLE_EQ(b.rate, 300 * kGB);
  EXPECT_DOUBLE_EQ(b.busBw, 5.0 / 6 * 300 * 6 / (7.0 * 3));
  EXPECT_EQ(b.where, "cuda:0 (GPU) of h1");
}

TEST(MemoryBound, AmongEquallyBusyMemoriesTheSlowestBinds) {
  std::vector<perf::RankInfo> ranks{rank(0, "fast", "host", 0, 20 * kGB), rank(1, "slow", "host", 0, 8 * kGB)};
  const auto b = perf::memoryBound(ranks, 2.0 * 2, 1.0);
  EXPECT_EQ(b.where, "the host memory of slow");
  EXPECT_DOUBLE_EQ(b.busBw, 8 * 2 / 4.0);
}

TEST(MemoryBound, RanksThatCopiedOneAfterAnotherDoNotAddUp) {
  // Two ranks on one GPU, each alone at 3000 GB/s for 1 s, the second starting when the
  // first ended: together 6000 GB in 2 s, not 6000 GB/s.
  std::vector<perf::RankInfo> ranks{rank(0, "h1", "GPU", 0, 3000 * kGB, 0, 1.0),
                                    rank(1, "h1", "GPU", 0, 3000 * kGB, 1'000'000'000, 1.0)};
  const auto b = perf::memoryBound(ranks, 2.0 * 2, 1.0);
  EXPECT_DOUBLE_EQ(b.rate, 3000 * kGB);
  // Half overlapped: 6000 GB in 1.5 s.
  ranks[1].copyStartNs = 500'000'000;
  ranks[1].copyEndNs = 1'500'000'000;
  EXPECT_DOUBLE_EQ(perf::memoryBound(ranks, 2.0 * 2, 1.0).rate, 4000 * kGB);
}

TEST(MemoryBound, NoMeasuredRateGivesNoBound) {
  std::vector<perf::RankInfo> ranks{rank(0, "h", "host", 0, 0), rank(1, "h", "host", 1, 0)};
  EXPECT_EQ(perf::memoryBound(ranks, 4, 1).busBw, 0);
  EXPECT_EQ(perf::memoryBound({}, 4, 1).busBw, 0);
}

TEST(MemoryBound, TheFooterTextNamesTheBoundTheMemoryAndTheFraction) {
  perf::MemoryBound b;
  b.busBw = 200;
  b.rate = 1600 * kGB;
  b.sharing = 4;
  b.where = "cuda:0 (NVIDIA H100) of h1";
  EXPECT_EQ(perf::describeBound(b, 50),
            "busbw <= 200.00 GB/s: cuda:0 (NVIDIA H100) of h1 holds the buffers of 4 ranks, and copies there moved "
            "1600.0 GB/s (read + write) in this run; the average busbw is 25.0 % of the bound");
}

}  // namespace
