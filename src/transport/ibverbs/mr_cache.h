#pragma once
// Memory registration for the ibverbs transport.
//
// Registering memory pins pages and costs tens of microseconds to milliseconds, so a
// zero-copy path must not register per call: MrCache keeps registrations by address
// range. Today the data path copies through the connection's own registered rings
// (registered once per connection, through the same Registrar), so the cache is not on
// the data path yet; it is ready, with its invalidation rules tested, for a zero-copy
// path that writes straight from (and into) user buffers.
//
// Staleness: a registration pins the pages that were mapped when it was made. If the
// user frees a buffer and a later allocation reuses the address range, a cached entry
// would point the NIC at the old pages. The cache therefore never guesses: whoever
// learns that a range went away (a free/munmap hook, a GPU memory release callback, the
// communicator's deregister call) calls invalidate(), which drops every entry that
// overlaps it; entries still in use are deregistered when their last lease ends.
//
// Registrar is the seam to the hardware: host memory through ibv_reg_mr, and device
// memory (a GPU buffer exported as a dma-buf) through ibv_reg_dmabuf_mr.
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>

namespace braid::verbs {

enum class MemoryKind { Host, DmaBuf };

struct MemoryRegion {
  const void* addr = nullptr;  // the virtual address the NIC will be given
  std::size_t bytes = 0;
  MemoryKind kind = MemoryKind::Host;
  int dmabufFd = -1;              // DmaBuf: the exported buffer
  std::uint64_t dmabufOffset = 0;  // DmaBuf: where `addr` lies in it
};

struct Registration {
  std::uintptr_t base = 0;  // the range registered (may be larger than asked: whole pages)
  std::size_t bytes = 0;
  std::uint32_t lkey = 0, rkey = 0;
  void* handle = nullptr;  // the registrar's own (an ibv_mr*)
};

class Registrar {
 public:
  virtual ~Registrar() = default;
  // Throws braid::Error when the memory cannot be registered.
  virtual Registration registerRegion(const MemoryRegion& region) = 0;
  virtual void deregister(const Registration& reg) = 0;
};

class MrCache {
 public:
  struct Entry;
  // Keeps the entry registered while held; move-only.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept : cache_(o.cache_), entry_(std::move(o.entry_)) { o.cache_ = nullptr; }
    Lease& operator=(Lease&& o) noexcept;
    ~Lease() { reset(); }
    const Registration& registration() const;
    explicit operator bool() const { return entry_ != nullptr; }
    void reset();

   private:
    friend class MrCache;
    Lease(MrCache* cache, std::shared_ptr<Entry> entry) : cache_(cache), entry_(std::move(entry)) {}
    MrCache* cache_ = nullptr;
    std::shared_ptr<Entry> entry_;
  };

  // Keeps at most `maxIdle` registrations that nobody holds; older idle ones go first.
  MrCache(Registrar& registrar, std::size_t maxIdle);
  ~MrCache();
  MrCache(const MrCache&) = delete;
  MrCache& operator=(const MrCache&) = delete;

  // A registration covering the region: a cached one when an entry of the same kind
  // (and dma-buf) covers it, else a new one of the region rounded out to whole pages.
  Lease acquire(const MemoryRegion& region);
  // The range [addr, addr+bytes) is gone or about to be reused: forget every entry
  // overlapping it.
  void invalidate(const void* addr, std::size_t bytes);

  std::size_t entries() const { return byStart_.size(); }
  std::uint64_t hits() const { return hits_; }
  std::uint64_t misses() const { return misses_; }

 private:
  void release(const std::shared_ptr<Entry>& e);
  void drop(std::multimap<std::uintptr_t, std::shared_ptr<Entry>>::iterator it);
  void trimIdle();

  Registrar& registrar_;
  std::size_t maxIdle_;
  std::multimap<std::uintptr_t, std::shared_ptr<Entry>> byStart_;  // valid entries by start address
  std::list<std::shared_ptr<Entry>> idle_;                    // unheld valid entries, oldest first
  std::uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace braid::verbs
