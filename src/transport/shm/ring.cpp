#include "transport/shm/ring.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace braid::shm {
namespace {

std::string rankText(const ErrorContext& who) { return "rank " + std::to_string(who.rank); }

std::string peerText(const ErrorContext& who) {
  std::string s = "rank " + std::to_string(who.peer);
  if (!who.host.empty()) s += " (host " + who.host + ")";
  return s;
}

std::string errnoText(int err) { return std::strerror(err); }

}  // namespace

std::uint64_t ringCapacity(std::size_t requested) { return roundUp(requested < kPage ? kPage : requested, kPage); }

std::string segmentName(const std::string& commTag, int rank) {
  std::string name = "/braid-";
  for (char c : commTag) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.';
    name += ok ? c : '_';
  }
  return name + "-" + std::to_string(rank);
}

Mapping::~Mapping() {
  if (base_) munmap(base_, bytes_);
}

Mapping& Mapping::operator=(Mapping&& o) noexcept {
  if (this != &o) {
    if (base_) munmap(base_, bytes_);
    base_ = o.base_;
    bytes_ = o.bytes_;
    o.base_ = nullptr;
  }
  return *this;
}

std::shared_ptr<Segment> Segment::create(const std::string& name, int slots, std::uint64_t capacity,
                                         const std::vector<int>& usedSlots, const ErrorContext& who) {
  const std::string where = rankText(who) + ": shm segment " + name;
  int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) {
    int err = errno;
    std::string hint;
    if (err == EEXIST)
      hint = " (another communicator on this host has the same id, or a killed job left /dev/shm" + name +
             " behind: remove it)";
    throw SystemError(where + " cannot be created: " + errnoText(err) + hint, who);
  }
  // Until the mapping exists, every failure must also remove the name, or it leaks.
  auto fail = [&](const std::string& what, int err) {
    close(fd);
    shm_unlink(name.c_str());
    std::string hint = (err == ENOSPC || err == ENOMEM)
                           ? " (/dev/shm is too small: enlarge it, e.g. docker --shm-size, or lower BRAID_SHM_BUFFER)"
                           : "";
    throw SystemError(where + ": " + what + ": " + errnoText(err) + hint, who);
  };
  const std::uint64_t total = segmentBytes(slots, capacity);
  if (ftruncate(fd, static_cast<off_t>(total)) != 0)
    fail("cannot size it to " + std::to_string(total) + " bytes", errno);
  // tmpfs hands out pages on first touch and raises SIGBUS when it has none left.
  // Reserving the pages that will be touched turns that into an error here.
  if (int err = posix_fallocate(fd, 0, kPage); err != 0) fail("cannot reserve its header", err);
  for (int slot : usedSlots)
    if (int err = posix_fallocate(fd, static_cast<off_t>(ringOffset(slot, capacity)),
                                  static_cast<off_t>(ringStride(capacity)));
        err != 0)
      fail("cannot reserve " + std::to_string(ringStride(capacity)) + " bytes for a ring", err);
  // MAP_POPULATE maps every page now: otherwise each process takes a page fault per
  // 4K of ring on its first pass, which made the first few hundred 32K all-reduces of
  // an 8-rank job several times slower than the rest.
  void* base = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (base == MAP_FAILED) fail("cannot map it", errno);
  close(fd);

  std::shared_ptr<Segment> seg(new Segment(name, Mapping(base, total)));
  auto* header = new (base) SegmentHeader();
  header->magic = SegmentHeader::kMagic;
  header->version = SegmentHeader::kVersion;
  header->slots = static_cast<std::uint32_t>(slots);
  header->capacity = capacity;
  header->totalBytes = total;
  header->ownerPid = static_cast<std::int32_t>(getpid());
  for (int slot : usedSlots) {
    auto* ctl = new (seg->map_.data() + ringOffset(slot, capacity)) RingControl();
    ctl->armed.store(1, std::memory_order_release);
  }
  return seg;
}

Segment::~Segment() { unlink(); }

void Segment::unlink() {
  if (!linked_) return;
  linked_ = false;
  shm_unlink(name_.c_str());
}

Ring Segment::ring(int slot) const {
  const std::uint64_t capacity = header()->capacity;
  unsigned char* base = map_.data() + ringOffset(slot, capacity);
  return Ring{reinterpret_cast<RingControl*>(base), base + kPage, capacity};
}

std::unique_ptr<PeerSegment> PeerSegment::open(const std::string& name, int slot, const ErrorContext& who) {
  const std::string where = rankText(who) + " cannot use shm segment " + name + " of " + peerText(who);
  int fd = shm_open(name.c_str(), O_RDWR, 0);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT)
      throw RemoteError(where + ": it does not exist, so that rank does not reach rank " + std::to_string(who.rank) +
                            " over shm (BRAID_TRANSPORTS and BRAID_HOST_ID must agree on all ranks)",
                        who);
    throw SystemError(where + ": " + errnoText(err), who);
  }
  // The descriptor is only needed to map; close it on every path.
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};

  struct stat st {};
  if (fstat(fd, &st) != 0) throw SystemError(where + ": fstat: " + errnoText(errno), who);
  if (static_cast<std::uint64_t>(st.st_size) < kPage) throw RemoteError(where + ": it is truncated", who);
  void* hbase = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (hbase == MAP_FAILED) throw SystemError(where + ": cannot map its header: " + errnoText(errno), who);
  auto seg = std::unique_ptr<PeerSegment>(new PeerSegment());
  seg->header_ = Mapping(hbase, kPage);

  const auto* h = reinterpret_cast<const SegmentHeader*>(hbase);
  if (h->magic != SegmentHeader::kMagic || h->version != SegmentHeader::kVersion)
    throw RemoteError(where + ": bad header (magic/version mismatch: different Braid builds?)", who);
  if (h->totalBytes != static_cast<std::uint64_t>(st.st_size) || h->capacity % kPage != 0 || h->capacity == 0 ||
      h->totalBytes != segmentBytes(static_cast<int>(h->slots), h->capacity))
    throw RemoteError(where + ": its header does not match its size", who);
  if (slot < 0 || static_cast<std::uint32_t>(slot) >= h->slots)
    throw RemoteError(where + ": it has " + std::to_string(h->slots) + " slots, this rank needs slot " +
                          std::to_string(slot) + " (the ranks disagree on who shares the host)",
                      who);

  const std::uint64_t capacity = h->capacity;
  void* rbase = mmap(nullptr, ringStride(capacity), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                     static_cast<off_t>(ringOffset(slot, capacity)));
  if (rbase == MAP_FAILED) throw SystemError(where + ": cannot map its ring: " + errnoText(errno), who);
  seg->ringMap_ = Mapping(rbase, ringStride(capacity));
  auto* ctl = reinterpret_cast<RingControl*>(rbase);
  seg->ring_ = Ring{ctl, static_cast<unsigned char*>(rbase) + kPage, capacity};
  if (ctl->armed.load(std::memory_order_acquire) == 0)
    throw RemoteError(where + ": that rank does not expect messages from rank " + std::to_string(who.rank) +
                          " over shm (BRAID_TRANSPORTS and BRAID_HOST_ID must agree on all ranks)",
                      who);
  return seg;
}

}  // namespace braid::shm
