#pragma once
// A connection to a peer on the same host: the outgoing ring is this rank's slot in the
// peer's segment, the incoming ring is the peer's slot in this rank's segment.
//
// A message is a MessageHeader followed by its payload, padded to 16 bytes. The sender
// copies it into the ring in pieces and publishes `head` after each; the receiver
// copies (or reduces) straight out of the ring and publishes `tail` after each piece.
// Either side rings the other's Doorbell when it published something the other may be
// sleeping on (data for the receiver, space for the sender).
//
// Liveness: a pidfd of the peer's process (it reports an exit even while the process
// is an unreaped zombie, and cannot be fooled by pid reuse), else kill(pid, 0). A
// FailureNotice travels in the ring's control page, outside the data stream.
#include "transport/connection.h"
#include "transport/shm/ring.h"

#include <memory>

namespace braid::shm {

class ShmConnection final : public Connection {
 public:
  // `own` holds the incoming ring at `inSlot`; `remote` is the peer's segment.
  // `peerPid` <= 0 disables checkPeer() (the pid is not meaningful here).
  ShmConnection(int selfRank, int peerRank, std::string peerHost, int peerPid, std::shared_ptr<Segment> own,
                int inSlot, std::unique_ptr<PeerSegment> remote);
  ~ShmConnection() override;

  void postSend(const void* data, std::size_t bytes) override;
  void postRecv(const RecvTarget& target) override;
  bool progress() override;
  const char* transportName() const override { return "shm"; }
  void checkPeer() const override;
  void postNotice(const FailureNotice& notice) override;

  // Most bytes moved between two index publications. Smaller keeps the peer busy
  // sooner and the data in cache; larger costs fewer index transfers and, when ranks
  // sleep on doorbells, fewer wake-ups. Between two processes, 256K and 1M beat 16K and
  // 64K by about 1.5x for 1 and 64 MiB messages; 256K keeps a 4 MiB ring 16 pieces deep.
  static constexpr std::uint64_t kMaxPiece = 256 * 1024;

 private:
  struct SendOp {
    const unsigned char* data;
    std::uint64_t bytes;
    std::uint64_t done;  // bytes of the framed message (header + padded payload) written
    std::uint32_t signature;
  };
  struct RecvOp {
    RecvTarget target;
    std::uint64_t done;  // payload bytes (padded) consumed
    std::uint32_t signature;
    bool headerSeen;
  };

  bool progressSends();
  bool progressRecvs();
  // Consumes payload bytes [op.done, op.done + n) from the ring at `from`.
  void deliver(RecvOp& op, const unsigned char* from, std::uint64_t n);
  [[noreturn]] void badHeader(const MessageHeader& h, const RecvOp& op) const;
  ErrorContext errorContext() const;
  bool peerProcessGone() const;

  std::shared_ptr<Segment> own_;         // keeps the incoming ring and this rank's Doorbell mapped
  std::unique_ptr<PeerSegment> remote_;  // keeps the outgoing ring and the peer's Doorbell mapped
  Ring out_, in_;
  Doorbell* peerBell_;
  int peerPid_;
  int pidFd_ = -1;  // -1: no pidfd here (old kernel, or no pid), kill(pid, 0) instead

  // Sender side: head_ is ours alone, so it needs no load; tail is cached and re-read
  // only when the cached value says the ring is too full.
  std::uint64_t outHead_ = 0, outTailSeen_ = 0, outPos_ = 0;
  // Receiver side, mirrored.
  std::uint64_t inTail_ = 0, inHeadSeen_ = 0, inPos_ = 0;

  OpQueue<SendOp> sends_;
  OpQueue<RecvOp> recvs_;
};

}  // namespace braid::shm
