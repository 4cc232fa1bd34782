#pragma once
// The shared-memory layout of the shm transport.
//
// Every receiving rank owns one POSIX shm segment. It starts with a page holding a
// SegmentHeader (the rank's Doorbell included), followed by one ring per sender slot:
//
//   [ header page ][ ring 0: control page | data (capacity) ][ ring 1: ... ] ...
//
// A sender's slot is its index among the ranks that share the receiver's host, so
// every rank can compute it from the all-gathered PeerInfo without talking. Rings of
// senders that never connect are never touched and cost no memory (tmpfs is sparse).
//
// Each ring is single-producer single-consumer: `head` counts bytes written (only the
// sender stores it), `tail` counts bytes consumed (only the receiver stores it). Both
// only grow, so head - tail is the fill level without any wrap ambiguity.
#include <braid/error.h>

#include "transport/doorbell.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace braid::shm {

inline constexpr std::size_t kPage = 4096;
// Messages are framed in 16-byte units: the 16-byte MessageHeader never straddles the
// wrap, and payload pieces start at 16-byte offsets, so they hold whole elements.
inline constexpr std::size_t kUnit = 16;

inline constexpr std::uint64_t roundUp(std::uint64_t n, std::uint64_t to) { return (n + to - 1) / to * to; }

struct SegmentHeader {
  static constexpr std::uint64_t kMagic = 0x3148534449415242ull;  // "BRAIDSH1" in memory order
  static constexpr std::uint32_t kVersion = 2;  // 2: RingControl::notice
  std::uint64_t magic = 0;
  std::uint32_t version = 0;
  std::uint32_t slots = 0;       // ranks on this host; the owner's own slot is unused
  std::uint64_t capacity = 0;    // data bytes of every ring, a multiple of kPage
  std::uint64_t totalBytes = 0;  // size of the whole segment, checked against fstat
  std::int32_t ownerPid = 0;
  // Its own cache line: peers ring it constantly, the fields above are read-only.
  alignas(64) Doorbell doorbell;
};
static_assert(sizeof(SegmentHeader) <= kPage);

struct RingControl {
  // 128 bytes apart: adjacent-line prefetchers fetch 64-byte lines in pairs, and the
  // two indices are written by different processes.
  alignas(128) std::atomic<std::uint64_t> head{0};
  alignas(128) std::atomic<std::uint64_t> tail{0};
  // Set by the receiver for the slots of the peers it expects, before the first setup
  // barrier: a sender that finds it clear knows the ranks disagree on transports.
  alignas(128) std::atomic<std::uint32_t> armed{0};
  // Written once by the sender when it gives up on a run (FailureNotice::pack(), 0 =
  // none): out of band, so it reaches the receiver whatever the ring holds.
  alignas(128) std::atomic<std::uint64_t> notice{0};
};
static_assert(sizeof(RingControl) <= kPage);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "ring indices are shared between processes");

inline std::uint64_t ringStride(std::uint64_t capacity) { return kPage + capacity; }
inline std::uint64_t ringOffset(int slot, std::uint64_t capacity) {
  return kPage + static_cast<std::uint64_t>(slot) * ringStride(capacity);
}
inline std::uint64_t segmentBytes(int slots, std::uint64_t capacity) { return ringOffset(slots, capacity); }

// BRAID_SHM_BUFFER rounded up to whole pages, so that every ring starts page-aligned.
std::uint64_t ringCapacity(std::size_t requested);

// "/braid-<tag>-<rank>", with characters shm_open rejects in the tag replaced.
std::string segmentName(const std::string& commTag, int rank);

// A view of one ring in some mapping.
struct Ring {
  RingControl* ctl = nullptr;
  unsigned char* data = nullptr;
  std::uint64_t capacity = 0;
};

// An mmap'ed range, unmapped when destroyed.
class Mapping {
 public:
  Mapping() = default;
  Mapping(void* base, std::size_t bytes) : base_(base), bytes_(bytes) {}
  ~Mapping();
  Mapping(Mapping&& o) noexcept : base_(o.base_), bytes_(o.bytes_) { o.base_ = nullptr; }
  Mapping& operator=(Mapping&& o) noexcept;
  unsigned char* data() const { return static_cast<unsigned char*>(base_); }
  std::size_t size() const { return bytes_; }

 private:
  void* base_ = nullptr;
  std::size_t bytes_ = 0;
};

// This rank's own segment, where its peers write. Owned through shared_ptr by the
// transport and by every shm connection, because this rank's Doorbell lives in it.
class Segment {
 public:
  // Creates, sizes and maps the segment; reserves memory for the rings of `usedSlots`
  // so that a full /dev/shm is a clear error now rather than SIGBUS later. `who`
  // names the rank in error messages.
  static std::shared_ptr<Segment> create(const std::string& name, int slots, std::uint64_t capacity,
                                         const std::vector<int>& usedSlots, const ErrorContext& who);
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // Removes the name; mappings stay valid. Idempotent.
  void unlink();
  const std::string& name() const { return name_; }
  SegmentHeader* header() const { return reinterpret_cast<SegmentHeader*>(map_.data()); }
  Doorbell* doorbell() const { return &header()->doorbell; }
  Ring ring(int slot) const;

 private:
  Segment(std::string name, Mapping map) : name_(std::move(name)), map_(std::move(map)) {}
  std::string name_;
  Mapping map_;
  bool linked_ = true;
};

// A sender's view of a peer's segment: the header page (for the peer's Doorbell) and
// the sender's own ring, nothing else.
class PeerSegment {
 public:
  // Opens segment `name` of rank `who.peer` and maps ring `slot`; throws naming both.
  static std::unique_ptr<PeerSegment> open(const std::string& name, int slot, const ErrorContext& who);
  Doorbell* doorbell() const { return &reinterpret_cast<SegmentHeader*>(header_.data())->doorbell; }
  Ring ring() const { return ring_; }

 private:
  Mapping header_, ringMap_;
  Ring ring_;
};

}  // namespace braid::shm
