#pragma once
// A Connection moves messages to and from one peer without blocking. The executor
// posts sends and receives in plan order and calls progress() until the counters say
// they are done; it never waits inside a connection.
//
// Every message travels with a small header holding its length and the signature of
// the collective call it belongs to, so a receiver whose peer is in another call (or
// sent another size) gets a RemoteError naming the peer instead of misreading the
// stream.
//
// When a rank gives up on a run (a peer died, a deadline passed, an abort), it sends
// each of its other peers a FailureNotice naming the rank that failed first: their
// waits on it then end at once with that name, instead of at BRAID_TIMEOUT with only
// "rank R owes us a message".
#include "core/op_signature.h"
#include "reduce/reduce.h"

#include <braid/error.h>

#include <poll.h>

#include <atomic>
#include <chrono>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace braid {

// What a receive does with the incoming bytes: copy them to dst, or, with `combine`,
// write dst = combine(src, incoming) elementwise (src may equal dst). Pieces handed to
// combine always hold whole elements of `elemSize` bytes.
struct RecvTarget {
  void* dst = nullptr;
  std::size_t bytes = 0;
  const void* src = nullptr;
  reduce::BinaryFn combine = nullptr;
  std::size_t elemSize = 1;
};

struct MessageHeader {
  static constexpr std::uint32_t kMagic = 0x42524431;        // "BRD1": a message
  static constexpr std::uint32_t kNoticeMagic = 0x4252444e;  // "BRDN": a FailureNotice, in place of a message
  std::uint32_t magic;
  std::uint32_t signature;  // opSignature() of the sender's call; 0 = unchecked. A notice: the culprit rank
  std::uint64_t bytes;      // payload bytes. A notice: FailureNotice::pack()
};
static_assert(sizeof(MessageHeader) == 16);

// What a rank that gave up tells its other peers: who failed first, and how.
struct FailureNotice {
  enum class Kind : std::uint32_t {
    None = 0,
    PeerGone = 1,      // the culprit's process ended, or its connection broke
    PeerTimedOut = 2,  // the culprit owed messages at BRAID_TIMEOUT
    Mismatch = 3,      // the culprit was in another collective call
    Aborted = 4,       // the culprit (the reporter itself) aborted its communicator
    LocalFailure = 5,  // the culprit (the reporter itself) failed on its own
  };
  Kind kind = Kind::None;
  int culprit = -1;

  // Never 0 for a real notice, so that 0 can mean "no notice" in shared memory.
  std::uint64_t pack() const {
    return (std::uint64_t{1} << 63) | (static_cast<std::uint64_t>(kind) << 32) | static_cast<std::uint32_t>(culprit);
  }
  static FailureNotice unpack(std::uint64_t word) {
    FailureNotice n;
    n.kind = static_cast<Kind>((word >> 32) & 0xffff);
    n.culprit = static_cast<int>(static_cast<std::uint32_t>(word));
    return n;
  }
};

// "is gone (its process ended or its connection broke)", ...: completes "rank X (host H) ".
inline const char* describeNotice(FailureNotice::Kind kind) {
  switch (kind) {
    case FailureNotice::Kind::PeerGone: return "is gone (its process ended or its connection broke)";
    case FailureNotice::Kind::PeerTimedOut: return "did not answer before BRAID_TIMEOUT";
    case FailureNotice::Kind::Mismatch: return "called a different collective than its peer";
    case FailureNotice::Kind::Aborted: return "aborted its communicator";
    case FailureNotice::Kind::LocalFailure: return "failed";
    case FailureNotice::Kind::None: break;
  }
  return "reported an unknown failure";
}

// Thrown by a connection that received its peer's notice. The executor turns it into
// a RemoteError naming the culprit and its host (which this connection does not know).
struct PeerNoticeError : RemoteError {
  PeerNoticeError(FailureNotice n, const ErrorContext& reporterCtx)
      : RemoteError("rank " + std::to_string(reporterCtx.rank) + ": rank " + std::to_string(n.culprit) + " " +
                        describeNotice(n.kind) + ", reported by rank " + std::to_string(reporterCtx.peer),
                    reporterCtx),
        notice(n) {}
  FailureNotice notice;  // context().peer is the reporter
};

// Thrown when a peer's message belongs to another call than ours (another collective,
// signature, size, or a header that is no header at all).
struct CallMismatchError : RemoteError {
  using RemoteError::RemoteError;
};

[[noreturn]] inline void throwSignatureMismatch(int self, int peer, const std::string& host, const char* transport,
                                                std::uint32_t theirs, std::uint32_t mine) {
  throw CallMismatchError("rank " + std::to_string(self) + ": rank " + std::to_string(peer) + " (" + host +
                                   ") is in " + describeOpSignature(theirs) + " while this rank is in " +
                                   describeOpSignature(mine) +
                                   ": the ranks called different collectives (or counts/types) at the same point",
                               ErrorContext{self, peer, host, transport});
}

// A first-in first-out queue of posted operations that reuses its storage, so the hot
// path allocates nothing once the queue has grown to the plan's depth.
template <class T>
class OpQueue {
 public:
  bool empty() const { return head_ == tail_; }
  std::size_t size() const { return tail_ - head_; }
  T& front() { return items_[head_ & mask_]; }
  T& at(std::size_t i) { return items_[(head_ + i) & mask_]; }
  void push(const T& v) {
    if (size() == items_.size()) grow();
    items_[tail_++ & mask_] = v;
  }
  void pop() { ++head_; }
  // Drops all but the first n items (n <= size()).
  void truncate(std::size_t n) { tail_ = head_ + n; }

 private:
  void grow() {
    std::vector<T> bigger(items_.empty() ? 16 : items_.size() * 2);
    for (std::size_t i = 0; i < size(); ++i) bigger[i] = at(i);
    tail_ = size();
    head_ = 0;
    items_.swap(bigger);
    mask_ = items_.size() - 1;
  }
  std::vector<T> items_;
  std::size_t head_ = 0, tail_ = 0, mask_ = 0;
};

class Connection {
 public:
  Connection(int selfRank, int peerRank, std::string peerHost)
      : self_(selfRank), peer_(peerRank), peerHost_(std::move(peerHost)) {}
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Queues a message; `data` must stay valid and unchanged until sendsDone() counts it.
  // Messages reach the peer in posting order.
  virtual void postSend(const void* data, std::size_t bytes) = 0;
  // Queues a receive; the n-th receive posted takes the peer's n-th message.
  virtual void postRecv(const RecvTarget& target) = 0;
  // Moves whatever can move now without blocking; true if anything moved. Throws
  // RemoteError when the peer is gone or sent a message of the wrong size.
  virtual bool progress() = 0;
  // For the executor's sleep: appends the descriptors to poll, with the events this
  // connection waits for now (POLLIN for pending receives, POLLOUT for blocked sends).
  // Shared-memory connections add none; they ring the rank's Doorbell instead.
  virtual void addPollFds(std::vector<pollfd>& fds) const { (void)fds; }
  virtual const char* transportName() const = 0;
  // Called while the executor waits on this connection: throws RemoteError if the peer
  // is known to be gone (e.g. its process no longer exists), PeerNoticeError if it sent
  // a notice. Cheap; may be a no-op.
  virtual void checkPeer() const {}
  // For a timeout report: the transport's own counters, which tell a message lost on
  // the wire from one that arrived and was never taken ("" where there is nothing to add).
  virtual std::string wireState() const { return {}; }

  // The communicator's status link saw the peer's process end (any thread may call).
  // Some transports cannot see that themselves (a verbs receiver gets no error when its
  // sender dies): the executor then fails a wait on this peer once nothing the peer sent
  // is left to take and `grace` has passed (for what was still on the wire).
  void markPeerGone() {
    std::int64_t none = 0;
    goneAtNs_.compare_exchange_strong(none, nowNs(), std::memory_order_relaxed);
  }
  bool peerGoneFor(std::chrono::nanoseconds grace) const {
    const std::int64_t at = goneAtNs_.load(std::memory_order_relaxed);
    return at != 0 && nowNs() - at >= grace.count();
  }

  // The signature that messages posted from now on carry and that receives posted from
  // now on expect (core/op_signature.h; 0 = unchecked).
  void setSignature(std::uint32_t signature) { signature_ = signature; }

  // After a failed run: tells the peer about `notice`. Sends posted but not started are
  // dropped; sends under way may be finished first so that the notice lands where the
  // peer expects a message. Call flushNotice() until it returns true (or give up): it
  // never blocks, and it discards what the peer sends meanwhile, so that a peer blocked
  // sending to this rank goes on to read the notice. Errors of a broken connection are
  // swallowed: the notice is best effort. Once per connection; later calls do nothing.
  virtual void postNotice(const FailureNotice& notice) { (void)notice; }
  virtual bool flushNotice() { return true; }

  // Messages completed so far, in posting order.
  std::uint64_t sendsDone() const { return sendsDone_; }
  std::uint64_t recvsDone() const { return recvsDone_; }
  std::uint64_t sendsPosted() const { return sendsPosted_; }
  std::uint64_t recvsPosted() const { return recvsPosted_; }
  bool busy() const { return sendsDone_ != sendsPosted_ || recvsDone_ != recvsPosted_; }
  int peer() const { return peer_; }
  int self() const { return self_; }
  const std::string& peerHost() const { return peerHost_; }

 protected:
  static std::int64_t nowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  std::atomic<std::int64_t> goneAtNs_{0};  // steady clock; 0 while the peer is not known gone
  std::uint64_t sendsDone_ = 0, recvsDone_ = 0, sendsPosted_ = 0, recvsPosted_ = 0;
  std::uint32_t signature_ = 0;
  int self_, peer_;
  std::string peerHost_;
};

}  // namespace braid
