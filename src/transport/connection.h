#pragma once
// A Connection moves messages to and from one peer without blocking. The executor
// posts sends and receives in plan order and calls progress() until the counters say
// they are done; it never waits inside a connection.
//
// Every message travels with a small header holding its length, so a receiver that
// expected a different size (ranks called collectives with different counts or types)
// gets a RemoteError naming the peer instead of silently misreading the stream.
#include "reduce/reduce.h"

#include <poll.h>

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
  static constexpr std::uint32_t kMagic = 0x42524431;  // "BRD1"
  std::uint32_t magic;
  std::uint32_t reserved;
  std::uint64_t bytes;
};
static_assert(sizeof(MessageHeader) == 16);

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
  // is known to be gone (e.g. its process no longer exists). Cheap; may be a no-op.
  virtual void checkPeer() const {}

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
  std::uint64_t sendsDone_ = 0, recvsDone_ = 0, sendsPosted_ = 0, recvsPosted_ = 0;
  int self_, peer_;
  std::string peerHost_;
};

}  // namespace braid
