#pragma once
// Flow control of one queue pair ("lane") of an ibverbs connection, as plain counters so
// it can be tested without a device.
//
// Each direction of a lane has a ring of `slots` equal slots in the receiver's memory,
// and the sender a staging ring of the same shape that it copies messages into. The
// sender writes chunk n of the lane into slot n % slots of the peer's ring (RDMA write
// with immediate). It may do so only while
//   - fewer than `slots` chunks are unacknowledged by the receiver (credits: the
//     receiver returns one per slot it has emptied), so no slot is overwritten before
//     the receiver has read it, and
//   - fewer than `slots` of its own writes are incomplete, so no staging slot is
//     refilled while the NIC may still be reading it.
// Counters are 64-bit and never wrap in practice; slots are indexed modulo `slots`.
#include <braid/error.h>

#include <cstdint>
#include <string>

namespace braid::verbs {

class SendWindow {
 public:
  explicit SendWindow(std::uint32_t slots) : slots_(slots) {}
  bool canPost() const { return posted_ - credited_ < slots_ && posted_ - completed_ < slots_; }
  std::uint32_t nextSlot() const { return static_cast<std::uint32_t>(posted_ % slots_); }
  void posted() { ++posted_; }
  // One write completed locally (completions of one queue pair arrive in order).
  void completed() {
    if (completed_ == posted_) throw Error(ErrorKind::Internal, "ibverbs: a write completed that was never posted");
    ++completed_;
  }
  // The receiver emptied `n` more slots. More than were sent is a protocol violation.
  void credited(std::uint64_t n) {
    if (credited_ + n > posted_)
      throw RemoteError("ibverbs: the peer returned " + std::to_string(n) + " credits but only " +
                        std::to_string(posted_ - credited_) + " chunks were outstanding");
    credited_ += n;
  }
  std::uint64_t inFlight() const { return posted_ - completed_; }
  // For a timeout report: where the chunks of this direction stand.
  std::string describe() const {
    return std::to_string(posted_) + " chunks written, " + std::to_string(completed_) + " completed, " +
           std::to_string(credited_) + " credited";
  }
  std::uint64_t unacknowledged() const { return posted_ - credited_; }
  std::uint32_t slots() const { return slots_; }

 private:
  std::uint32_t slots_;
  std::uint64_t posted_ = 0, completed_ = 0, credited_ = 0;
};

class RecvWindow {
 public:
  explicit RecvWindow(std::uint32_t slots) : slots_(slots) {}
  // A chunk landed; returns its slot. The sender keeps to its credits, so more than
  // `slots` unread chunks means the peer broke the protocol.
  std::uint32_t arrived() {
    if (arrived_ - consumed_ >= slots_)
      throw RemoteError("ibverbs: the peer wrote more chunks than it had credits for (" + std::to_string(slots_) +
                        " slots)");
    return static_cast<std::uint32_t>(arrived_++ % slots_);
  }
  bool hasChunk() const { return consumed_ < arrived_; }
  std::uint32_t frontSlot() const { return static_cast<std::uint32_t>(consumed_ % slots_); }
  // The front chunk is read whole: its slot may be written again once credited.
  void consumed() {
    if (!hasChunk()) throw Error(ErrorKind::Internal, "ibverbs: consumed a chunk that has not arrived");
    ++consumed_;
    ++uncredited_;
  }
  std::uint64_t uncredited() const { return uncredited_; }
  // Takes the credits to return to the sender now.
  std::uint64_t takeCredits() {
    std::uint64_t n = uncredited_;
    uncredited_ = 0;
    return n;
  }
  std::uint32_t slots() const { return slots_; }
  std::string describe() const {
    return std::to_string(arrived_) + " chunks arrived, " + std::to_string(consumed_) + " read, " +
           std::to_string(uncredited_) + " credits not yet returned";
  }

 private:
  std::uint32_t slots_;
  std::uint64_t arrived_ = 0, consumed_ = 0, uncredited_ = 0;
};

}  // namespace braid::verbs
