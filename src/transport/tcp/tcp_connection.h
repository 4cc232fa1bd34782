#pragma once
// A Connection over K TCP sockets ("lanes") to one peer.
//
// Wire layout, computed identically by both ends from a message's sequence number s
// (0, 1, 2, ... per direction) and its size N, so no framing beyond the header exists:
//   - the payload is cut into pieces of kPieceBytes (the last one may be shorter);
//   - piece i travels on lane (s + i) % K;
//   - the 16-byte MessageHeader travels on lane s % K, right before piece 0.
// So a message smaller than one piece rides whole on one lane, consecutive messages
// rotate over the lanes (a stream of chunk-sized messages uses every socket), and a
// large message spreads evenly. Each lane's byte stream is the concatenation, in
// message order, of that lane's share of every message; lanes move independently.
//
// A receiving lane other than the header lane waits until the header has been read
// and checked: only then is the size known to agree, and the layout with it.
//
// A FailureNotice rides as a header-only message (MessageHeader::kNoticeMagic) in the
// place of the next message the sender had not started, so the receiver meets it
// exactly where it reads its next header. Sockets use keepalives and TCP_USER_TIMEOUT
// derived from BRAID_TIMEOUT, so a link that silently stops carrying data (cut cable,
// dead host) fails with ETIMEDOUT instead of waiting on retransmissions for minutes.
#include "core/socket.h"
#include "transport/connection.h"

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace braid {

namespace tcp {

inline constexpr std::size_t kPieceBytes = 512 * 1024;
inline constexpr std::size_t kHeaderBytes = sizeof(MessageHeader);
// Bounce space for combining receives, shared out between the lanes.
inline constexpr std::size_t kBounceBytes = 1024 * 1024;

// Bytes of message `seq` (payload `bytes`) that lane `lane` of `k` carries, header included.
std::uint64_t laneShare(std::uint64_t seq, std::uint64_t bytes, int lane, int k);

// Where byte `off` of a lane's payload share (header excluded) lies in the message:
// its payload position, and how many bytes from there stay contiguous (to the piece's end).
struct Span {
  std::uint64_t pos, len;
};
Span laneSpan(std::uint64_t seq, std::uint64_t bytes, int lane, int k, std::uint64_t off);

// The first thing each socket carries during setup: who opens it, for which communicator.
struct Hello {
  static constexpr std::uint32_t kMagic = 0x42524454;  // "BRDT"
  std::uint32_t magic;
  std::int32_t rank;      // the connecting rank
  std::uint32_t index;    // which of its K sockets to us this is
  std::uint32_t sockets;  // its K, to catch ranks started with different BRAID_TCP_SOCKETS
  std::uint64_t tagHash;  // of TransportContext::commTag
  unsigned char secret[16];
};
static_assert(sizeof(Hello) == 40);

// A stable digest (fnv1a64), so both ends agree on it without sending the whole tag.
std::uint64_t tagHash(const std::string& tag);

}  // namespace tcp

class TcpConnection final : public Connection {
 public:
  // `lanes` are connected sockets, lane i on both ends being the same TCP connection.
  TcpConnection(int selfRank, int peerRank, std::string peerHost, std::vector<Socket> lanes);

  void postSend(const void* data, std::size_t bytes) override;
  void postRecv(const RecvTarget& target) override;
  bool progress() override;
  void addPollFds(std::vector<pollfd>& fds) const override;
  const char* transportName() const override { return "tcp"; }
  void checkPeer() const override;
  void postNotice(const FailureNotice& notice) override;
  bool flushNotice() override;

 private:
  struct SendOp {
    const unsigned char* data;
    std::uint64_t bytes;
    MessageHeader header;
    std::uint64_t left;  // bytes (header included) not yet handed to the kernel, all lanes
  };
  struct RecvOp {
    RecvTarget target;
    MessageHeader header;
    std::uint64_t left;  // bytes (header included) not yet delivered to dst, all lanes
    std::uint32_t signature;  // the call this receive belongs to
    bool headerOk;
  };
  struct Lane {
    Socket sock;
    // Cursors: the message this lane is on and how far into its share of it.
    std::uint64_t sendSeq = 0, sendOff = 0;
    std::uint64_t recvSeq = 0, recvOff = 0;
    std::size_t carry = 0;  // bytes at the start of `bounce` awaiting a whole element
    unsigned char* bounce = nullptr;
  };
  // Where one iovec of a gathered receive points: only plain destinations may merge.
  enum class Part : unsigned char { Header, Plain, Combine };

  static constexpr int kMaxIov = 64;

  bool sendLane(int lane);
  bool recvLane(int lane);
  // The first message at or after a lane's cursor with bytes left for that lane (or the
  // posted count if none). For receives, `blocked` says the lane must first wait for
  // that message's header, which another lane reads.
  std::uint64_t nextSend(const Lane& l, int lane) const;
  std::uint64_t nextRecv(const Lane& l, int lane, bool& blocked) const;
  void retire();
  void checkHeader(RecvOp& op);
  bool peerClosedIdle();
  void drainLane(int lane);
  [[noreturn]] void throwClosed() const;
  [[noreturn]] void throwUnreachable(int err) const;
  [[noreturn]] void throwSys(const char* what, int err) const;
  std::uint64_t share(std::uint64_t seq, std::uint64_t bytes, int lane) const {
    return tcp::laneShare(seq, bytes, lane, k_);
  }

  int k_;
  std::vector<Lane> lanes_;
  // mutable: OpQueue::at() has no const overload, and the const poll helpers only read.
  mutable OpQueue<SendOp> sends_;
  mutable OpQueue<RecvOp> recvs_;
  std::unique_ptr<unsigned char[]> bounce_;  // allocated on the first combining receive
  std::size_t bounceSlice_;                  // each lane's part of it
  bool unblocked_ = false;                   // a header was checked while k_ > 1
  std::uint32_t idleCalls_ = 0;              // progress() calls with nothing pending
  bool noticePosted_ = false, noticeDone_ = false;
  std::vector<bool> drained_;                // per lane: the peer closed it while we drained
  // Scratch for gathering, kept here so progress() allocates nothing.
  iovec iov_[kMaxIov];
  Part part_[kMaxIov];
};

}  // namespace braid
