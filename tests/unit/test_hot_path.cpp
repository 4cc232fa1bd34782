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

// Every form of operator new below comes through these two, so the count sees array,
// nothrow and over-aligned allocations too, and every block of this binary is malloc'd
// (or posix_memalign'd) and released with free. Replacing only some of the forms would
// leave the others to the sanitizer runtime's own allocator, and a block from one freed
// by the other is an alloc-dealloc mismatch under AddressSanitizer.
void* counted(std::size_t n) noexcept {
  if (tCounting) gAllocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* countedAligned(std::size_t n, std::align_val_t align) noexcept {
  if (tCounting) gAllocations.fetch_add(1, std::memory_order_relaxed);
  void* p = nullptr;
  // posix_memalign, unlike aligned_alloc, takes a size that is not a multiple of the
  // alignment; over-aligned alignments are powers of two above sizeof(void*).
  return posix_memalign(&p, static_cast<std::size_t>(align), n ? n : 1) == 0 ? p : nullptr;
}
void* orThrow(void* p) {
  if (!p) throw std::bad_alloc();
  return p;
}
// Out of line on purpose: inlined into a new-expression's cleanup, a bare free() makes
// GCC warn that memory from operator new is freed with free (-Wmismatched-new-delete),
// though both sides are ours and match.
[[gnu::noinline]] void release(void* p) noexcept { std::free(p); }
}  // namespace

// Replaces the global allocator for this test binary; it only counts, for threads
// that asked to be counted.
void* operator new(std::size_t n) { return orThrow(counted(n)); }
void* operator new[](std::size_t n) { return orThrow(counted(n)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted(n); }
void* operator new(std::size_t n, std::align_val_t a) { return orThrow(countedAligned(n, a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return orThrow(countedAligned(n, a)); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept { return countedAligned(n, a); }
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept { return countedAligned(n, a); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { release(p); }

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
