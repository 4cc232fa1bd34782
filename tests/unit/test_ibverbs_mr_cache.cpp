// The registration cache over a fake Registrar that records what is registered: hits
// for covered ranges, no stale registration after invalidate() (free and reuse of an
// address range), deferred deregistration of entries still leased, idle eviction, and
// dma-buf regions kept apart from host memory at the same address.
#include "transport/ibverbs/mr_cache.h"

#include <braid/error.h>

#include <gtest/gtest.h>

#include <unistd.h>

#include <set>
#include <vector>

namespace braid::verbs {
namespace {

class FakeRegistrar final : public Registrar {
 public:
  Registration registerRegion(const MemoryRegion& r) override {
    Registration reg;
    reg.base = reinterpret_cast<std::uintptr_t>(r.addr);
    reg.bytes = r.bytes;
    reg.lkey = reg.rkey = ++nextKey;
    live.insert(reg.lkey);
    ++registered;
    return reg;
  }
  void deregister(const Registration& reg) override {
    if (live.erase(reg.lkey) != 1) ADD_FAILURE() << "key " << reg.lkey << " deregistered twice or never registered";
  }
  std::set<std::uint32_t> live;
  std::uint32_t nextKey = 0;
  int registered = 0;
};

const std::uintptr_t kPage = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
const void* at(std::uintptr_t a) { return reinterpret_cast<const void*>(a); }

TEST(IbMrCache, CoveredRangesHitAndPagesAreRoundedOut) {
  FakeRegistrar fake;
  MrCache cache(fake, 8);
  const std::uintptr_t base = 100 * kPage;
  auto a = cache.acquire({at(base + 10), 100});
  EXPECT_EQ(a.registration().base, base) << "registered from the page start";
  EXPECT_EQ(a.registration().bytes, kPage);
  auto b = cache.acquire({at(base + 200), 300});  // same page
  EXPECT_EQ(b.registration().lkey, a.registration().lkey);
  EXPECT_EQ(cache.hits(), 1u);
  auto c = cache.acquire({at(base + kPage - 8), 16});  // crosses into the next page: not covered
  EXPECT_NE(c.registration().lkey, a.registration().lkey);
  EXPECT_EQ(fake.registered, 2);
}

TEST(IbMrCache, InvalidatedRangeIsRegisteredAfreshOnReuse) {
  FakeRegistrar fake;
  MrCache cache(fake, 8);
  const std::uintptr_t base = 200 * kPage;
  std::uint32_t oldKey;
  {
    auto lease = cache.acquire({at(base), 2 * kPage});
    oldKey = lease.registration().lkey;
  }
  EXPECT_EQ(fake.live.count(oldKey), 1u) << "an idle entry stays registered for the next call";
  // The buffer is freed and the allocator hands the same addresses out again.
  cache.invalidate(at(base + kPage), 1);
  EXPECT_EQ(fake.live.count(oldKey), 0u) << "an overlapping invalidation deregisters at once";
  auto lease = cache.acquire({at(base), 2 * kPage});
  EXPECT_NE(lease.registration().lkey, oldKey) << "a stale registration was handed out";
  EXPECT_EQ(cache.entries(), 1u);
}

TEST(IbMrCache, InvalidationOfALeasedEntryWaitsForItsRelease) {
  FakeRegistrar fake;
  MrCache cache(fake, 8);
  const std::uintptr_t base = 300 * kPage;
  auto held = cache.acquire({at(base), kPage});
  const std::uint32_t key = held.registration().lkey;
  cache.invalidate(at(base), kPage);
  EXPECT_EQ(fake.live.count(key), 1u) << "the NIC may still use it: not deregistered under a lease";
  auto fresh = cache.acquire({at(base), kPage});
  EXPECT_NE(fresh.registration().lkey, key) << "no new lease on an invalidated entry";
  held.reset();
  EXPECT_EQ(fake.live.count(key), 0u) << "deregistered when its last lease ended";
}

TEST(IbMrCache, InvalidationLeavesNonOverlappingEntries) {
  FakeRegistrar fake;
  MrCache cache(fake, 8);
  const std::uintptr_t base = 400 * kPage;
  { auto a = cache.acquire({at(base), kPage}); }
  { auto b = cache.acquire({at(base + 2 * kPage), kPage}); }
  cache.invalidate(at(base + kPage), kPage);  // exactly the gap between them
  EXPECT_EQ(cache.entries(), 2u);
  cache.invalidate(at(base), kPage + 1);
  EXPECT_EQ(cache.entries(), 1u);
}

TEST(IbMrCache, IdleEntriesBeyondTheLimitAreEvictedOldestFirst) {
  FakeRegistrar fake;
  MrCache cache(fake, 2);
  const std::uintptr_t base = 500 * kPage;
  for (int i = 0; i < 4; ++i) auto lease = cache.acquire({at(base + 2 * i * kPage), kPage});
  EXPECT_EQ(cache.entries(), 2u);
  EXPECT_EQ(fake.live.size(), 2u);
  auto newest = cache.acquire({at(base + 6 * kPage), kPage});
  EXPECT_EQ(cache.hits(), 1u) << "the most recent entries survive";
  auto oldest = cache.acquire({at(base), kPage});
  EXPECT_EQ(cache.misses(), 5u) << "the oldest was evicted";
}

TEST(IbMrCache, DmaBufRegionsAreNotHostMemory) {
  FakeRegistrar fake;
  MrCache cache(fake, 8);
  const std::uintptr_t base = 600 * kPage;
  auto host = cache.acquire({at(base), kPage});
  auto gpu = cache.acquire({at(base), kPage, MemoryKind::DmaBuf, 17, 0});
  EXPECT_NE(gpu.registration().lkey, host.registration().lkey);
  auto otherBuf = cache.acquire({at(base), kPage, MemoryKind::DmaBuf, 18, 0});
  EXPECT_NE(otherBuf.registration().lkey, gpu.registration().lkey) << "another dma-buf at the same address";
  auto inside = cache.acquire({at(base + 64), 64, MemoryKind::DmaBuf, 17, 64});
  EXPECT_EQ(inside.registration().lkey, gpu.registration().lkey) << "a sub-range of the same dma-buf hits";
  EXPECT_THROW(cache.acquire({at(base), 0}), InvalidArgument);
}

TEST(IbMrCache, DestructionDeregistersEverything) {
  FakeRegistrar fake;
  {
    MrCache cache(fake, 8);
    for (int i = 0; i < 3; ++i) auto lease = cache.acquire({at((700 + 2 * i) * kPage), kPage});
  }
  EXPECT_TRUE(fake.live.empty());
}

}  // namespace
}  // namespace braid::verbs
