#pragma once
// How messages are laid out in the chunks an ibverbs connection writes into its peer's
// ring, as pure code over memory so it can be tested without a device.
//
// A connection's messages in one direction form a stream: for each message a 16-byte
// MessageHeader, then its payload. The stream is cut into chunks of at most one slot.
// Every header starts at a 16-byte aligned offset of its chunk, and a chunk ends early
// rather than split a header, so:
//   - a payload starts 16-byte aligned, and where it continues in the next chunk it
//     does so at offset 0 after a full slot (slots are multiples of 16 bytes), so every
//     piece handed to a combining receive holds whole, aligned elements of 1..16 bytes;
//   - the reader finds the next header at the aligned offset, or, when that is at or
//     past the chunk's end, at the start of the next chunk.
// Writer and reader compute the same layout from the chunk lengths alone.
#include "transport/connection.h"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace braid::verbs {

inline constexpr std::size_t kHeaderBytes = sizeof(MessageHeader);
inline constexpr std::size_t kAlign = 16;
inline std::size_t alignUp(std::size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }

// The sending half: queued messages, copied out chunk by chunk. A message counts as
// finished once its last byte is copied (the caller's buffer is then free again).
class StreamWriter {
 public:
  void push(const void* data, std::size_t bytes, std::uint32_t signature);
  // Drops the queued messages not started yet and queues the notice in their place.
  void pushNotice(const FailureNotice& notice);
  // Copies the next stream bytes into a fresh chunk of `cap` bytes (a multiple of 16,
  // at least 32); returns the chunk's length, 0 if nothing is queued.
  std::size_t fill(unsigned char* chunk, std::size_t cap);
  bool pending() const { return !queue_.empty(); }
  std::uint64_t finished() const { return finished_; }
  std::uint64_t queued() const { return finished_ + queue_.size(); }

 private:
  struct Out {
    const unsigned char* data;
    std::uint64_t bytes;
    MessageHeader header;
    std::uint64_t copied;  // payload bytes copied so far
    bool headerCopied;
  };
  OpQueue<Out> queue_;
  std::uint64_t finished_ = 0;
};

// Who is on the other end, for the errors a reader throws.
struct StreamPeer {
  int self = -1, peer = -1;
  std::string host;
};

// The receiving half: posted receives, fed chunk by chunk in stream order.
class StreamReader {
 public:
  void post(const RecvTarget& target, std::uint32_t signature);
  // Reads chunk bytes from `offset` on; returns the offset reached (== len when the
  // chunk is used up). Stops early when the next message has no receive posted yet.
  // Throws PeerNoticeError for a notice, CallMismatchError for a header that does not
  // match the receive.
  std::size_t consume(const unsigned char* chunk, std::size_t len, std::size_t offset, const StreamPeer& who);
  // A header read earlier, when no receive was posted, is checked against the receive
  // posted since (throwing as consume does); a zero-byte message then finishes without
  // any further chunk. Call before feeding chunks.
  void settle(const StreamPeer& who) {
    if (haveHeader_ && !queue_.empty()) consume(nullptr, 0, 0, who);
  }
  // Reads past whatever the chunk holds without delivering it (after a failure).
  static std::size_t discard(std::size_t len) { return len; }
  std::uint64_t finished() const { return finished_; }
  bool pending() const { return !queue_.empty(); }
  // A notice whose header was read while no receive was posted.
  std::optional<FailureNotice> waitingNotice() const;
  // The receive at the front has taken none of its bytes yet.
  bool atMessageStart() const { return !inPayload_; }

 private:
  struct In {
    RecvTarget target;
    std::uint32_t signature;
    std::uint64_t got;
  };
  void checkHeader(const In& in, const StreamPeer& who) const;
  OpQueue<In> queue_;
  std::uint64_t finished_ = 0;
  MessageHeader header_{};
  bool haveHeader_ = false;  // header_ read, its message not finished
  bool inPayload_ = false;   // header checked against the front receive
};

}  // namespace braid::verbs
