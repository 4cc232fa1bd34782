// The design's promise: once a shape has run, a small all-reduce allocates nothing.
// Counts heap allocations made by the calling thread while the collective runs.
#include "rank_threads.h"

#include "core/env.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
thread_local bool tCounting = false;
std::atomic<long> gAllocations{0};
}  // namespace

// Replaces the global allocator for this test binary; it only counts, for threads
// that asked to be counted.
void* operator new(std::size_t n) {
  if (tCounting) gAllocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace braid {
namespace {

TEST(HotPath, WarmedUpSmallAllReduceAllocatesNothing) {
  for (const char* transports : {"shm", "tcp"}) {
    setenv("BRAID_TRANSPORTS", transports, 1);
    Env::reload();
    std::atomic<long> during{0};
    auto out = testing::runRanks(2, [&](Communicator& c) {
      float in[16] = {}, res[16] = {};
      for (int i = 0; i < 16; ++i) in[i] = static_cast<float>(c.rank() + i);
      for (int warm = 0; warm < 50; ++warm) c.allReduce(in, res, 16, DataType::Float32, ReduceOp::Sum);
      long before = gAllocations.load();
      tCounting = true;
      for (int k = 0; k < 100; ++k) c.allReduce(in, res, 16, DataType::Float32, ReduceOp::Sum);
      tCounting = false;
      during += gAllocations.load() - before;
      for (int i = 0; i < 16; ++i) ASSERT_EQ(res[i], static_cast<float>(1 + 2 * i));
    });
    unsetenv("BRAID_TRANSPORTS");
    Env::reload();
    for (auto& o : out) ASSERT_FALSE(o.error) << o.message();
    EXPECT_EQ(during.load(), 0) << "allocations in 200 warmed-up all-reduces over " << transports;
  }
}

}  // namespace
}  // namespace braid
