#include "transport/ibverbs/mr_cache.h"

#include <braid/error.h>

#include <unistd.h>

namespace braid::verbs {

struct MrCache::Entry {
  Registration reg;
  MemoryKind kind = MemoryKind::Host;
  int dmabufFd = -1;
  std::uint64_t dmabufOffset = 0;
  int users = 0;
  bool valid = true;  // false once invalidated: no new leases; deregistered when unused
  std::list<std::shared_ptr<Entry>>::iterator idlePos;
  bool isIdle = false;

  bool covers(const MemoryRegion& r) const {
    auto a = reinterpret_cast<std::uintptr_t>(r.addr);
    if (r.kind != kind || a < reg.base || a + r.bytes > reg.base + reg.bytes) return false;
    // The same address range through another dma-buf (or offset) is other memory.
    return kind == MemoryKind::Host || (r.dmabufFd == dmabufFd && r.dmabufOffset - (a - reg.base) == dmabufOffset);
  }
};

MrCache::Lease& MrCache::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    reset();
    cache_ = o.cache_;
    entry_ = std::move(o.entry_);
    o.cache_ = nullptr;
  }
  return *this;
}

const Registration& MrCache::Lease::registration() const { return entry_->reg; }

void MrCache::Lease::reset() {
  if (cache_ && entry_) cache_->release(entry_);
  entry_.reset();
  cache_ = nullptr;
}

MrCache::MrCache(Registrar& registrar, std::size_t maxIdle) : registrar_(registrar), maxIdle_(maxIdle) {}

MrCache::~MrCache() {
  // Leases must end before the cache; whatever is left is deregistered here.
  for (auto& [start, e] : byStart_) registrar_.deregister(e->reg);
}

MrCache::Lease MrCache::acquire(const MemoryRegion& region) {
  if (region.bytes == 0) throw InvalidArgument("ibverbs: cannot register an empty memory region");
  auto a = reinterpret_cast<std::uintptr_t>(region.addr);
  // Entries may overlap, so every entry starting at or below the address is a candidate.
  for (auto it = byStart_.upper_bound(a); it != byStart_.begin();) {
    --it;
    std::shared_ptr<Entry>& e = it->second;
    if (!e->covers(region)) continue;
    ++hits_;
    if (e->isIdle) idle_.erase(e->idlePos), e->isIdle = false;
    ++e->users;
    return Lease(this, e);
  }
  ++misses_;
  MemoryRegion rounded = region;
  if (region.kind == MemoryKind::Host) {
    // Whole pages: neighbours in the same pages then hit the same entry.
    const std::uintptr_t page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    std::uintptr_t start = a & ~(page - 1), end = (a + region.bytes + page - 1) & ~(page - 1);
    rounded.addr = reinterpret_cast<const void*>(start);
    rounded.bytes = end - start;
  }
  auto e = std::make_shared<Entry>();
  e->reg = registrar_.registerRegion(rounded);
  e->kind = rounded.kind;
  e->dmabufFd = rounded.dmabufFd;
  e->dmabufOffset = rounded.dmabufOffset;
  e->users = 1;
  byStart_.emplace(e->reg.base, e);
  return Lease(this, e);
}

void MrCache::release(const std::shared_ptr<Entry>& e) {
  if (--e->users > 0) return;
  if (!e->valid) {
    registrar_.deregister(e->reg);
    return;
  }
  idle_.push_back(e);
  e->idlePos = std::prev(idle_.end());
  e->isIdle = true;
  trimIdle();
}

void MrCache::drop(std::multimap<std::uintptr_t, std::shared_ptr<Entry>>::iterator it) {
  std::shared_ptr<Entry> e = it->second;
  byStart_.erase(it);
  e->valid = false;
  if (e->isIdle) idle_.erase(e->idlePos), e->isIdle = false;
  if (e->users == 0) registrar_.deregister(e->reg);
}

void MrCache::trimIdle() {
  while (idle_.size() > maxIdle_) {
    std::shared_ptr<Entry> oldest = idle_.front();
    auto range = byStart_.equal_range(oldest->reg.base);
    auto it = range.first;
    while (it != range.second && it->second != oldest) ++it;
    if (it != range.second) {
      drop(it);
    } else {  // not indexed (cannot happen): still never keep it registered
      idle_.pop_front();
      oldest->isIdle = false;
      registrar_.deregister(oldest->reg);
    }
  }
}

void MrCache::invalidate(const void* addr, std::size_t bytes) {
  auto a = reinterpret_cast<std::uintptr_t>(addr);
  for (auto it = byStart_.begin(); it != byStart_.end() && it->first < a + bytes;) {
    auto next = std::next(it);
    if (it->second->reg.base + it->second->reg.bytes > a) drop(it);
    it = next;
  }
}

}  // namespace braid::verbs
