#include "transport/shm/shm_connection.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace braid::shm {
namespace {

constexpr std::uint64_t kHeaderBytes = sizeof(MessageHeader);
static_assert(kHeaderBytes == kUnit, "a header is exactly one framing unit, so it never straddles the wrap");

// A sleeping peer is woken at least this often while bytes stream, so it can start on
// the first piece of a long message instead of the last; small messages in one
// progress() call share a single ring.
constexpr std::uint64_t kRingEvery = 32 * 1024;

std::uint64_t pieceFor(std::uint64_t capacity) {
  // A quarter ring keeps at least four pieces in flight on small rings.
  return std::max<std::uint64_t>(kUnit, std::min(ShmConnection::kMaxPiece, capacity / 4 / kUnit * kUnit));
}

}  // namespace

ShmConnection::ShmConnection(int selfRank, int peerRank, std::string peerHost, int peerPid,
                             std::shared_ptr<Segment> own, int inSlot, std::unique_ptr<PeerSegment> remote)
    : Connection(selfRank, peerRank, std::move(peerHost)),
      own_(std::move(own)),
      remote_(std::move(remote)),
      out_(remote_->ring()),
      in_(own_->ring(inSlot)),
      peerBell_(remote_->doorbell()),
      peerPid_(peerPid) {
#ifdef SYS_pidfd_open
  // Opened while the peer is known to live (setup just heard from it), so the pidfd
  // names that very process.
  if (peerPid_ > 0) pidFd_ = static_cast<int>(::syscall(SYS_pidfd_open, peerPid_, 0));
#endif
}

ShmConnection::~ShmConnection() {
  if (pidFd_ >= 0) ::close(pidFd_);
}

void ShmConnection::postSend(const void* data, std::size_t bytes) {
  sends_.push(SendOp{static_cast<const unsigned char*>(data), bytes, 0, signature_});
  ++sendsPosted_;
}

void ShmConnection::postRecv(const RecvTarget& target) {
  if (target.combine) {
    // Pieces start at 16-byte payload offsets; that keeps elements whole only for
    // element sizes dividing 16.
    if (target.elemSize == 0 || kUnit % target.elemSize != 0 || target.bytes % target.elemSize != 0)
      throw InvalidArgument("shm receive from rank " + std::to_string(peer_) + ": " + std::to_string(target.bytes) +
                                " bytes is not a whole number of " + std::to_string(target.elemSize) +
                                "-byte elements (or that element size is unsupported)",
                            errorContext());
    if (!target.src && target.bytes != 0)
      throw InvalidArgument("shm receive from rank " + std::to_string(peer_) + ": combine without a source",
                            errorContext());
  }
  recvs_.push(RecvOp{target, 0, signature_, false});
  ++recvsPosted_;
}

bool ShmConnection::progress() {
  // Both directions every call: a rank blocked on sending must still drain what its
  // peer sends it, or two ranks sending to each other through full rings deadlock.
  bool sent = progressSends();
  bool received = progressRecvs();
  return sent || received;
}

bool ShmConnection::progressSends() {
  const std::uint64_t cap = out_.capacity;
  const std::uint64_t piece = pieceFor(cap);
  bool moved = false, blocked = false;
  std::uint64_t unrung = 0;
  while (!blocked && !sends_.empty()) {
    SendOp& op = sends_.front();
    const std::uint64_t total = kHeaderBytes + roundUp(op.bytes, kUnit);
    while (op.done < total) {
      // All quantities are multiples of kUnit, so every piece is too.
      const std::uint64_t want = std::min({total - op.done, cap - outPos_, piece});
      std::uint64_t space = cap - (outHead_ - outTailSeen_);
      if (space < want) {
        outTailSeen_ = out_.ctl->tail.load(std::memory_order_acquire);
        space = cap - (outHead_ - outTailSeen_);
        if (space == 0) {
          blocked = true;
          break;
        }
      }
      const std::uint64_t n = std::min(want, space);
      unsigned char* to = out_.data + outPos_;
      std::uint64_t payloadOff = 0, room = n;
      if (op.done == 0) {
        const MessageHeader h{MessageHeader::kMagic, op.signature, op.bytes};
        std::memcpy(to, &h, kHeaderBytes);
        to += kHeaderBytes;
        room -= kHeaderBytes;
      } else {
        payloadOff = op.done - kHeaderBytes;
      }
      // The padding after the last payload byte is left as it is: nobody reads it.
      if (payloadOff < op.bytes && room > 0)
        std::memcpy(to, op.data + payloadOff, std::min(room, op.bytes - payloadOff));
      op.done += n;
      outHead_ += n;
      outPos_ += n;
      if (outPos_ == cap) outPos_ = 0;
      // Release: the bytes above are visible to whoever sees the new head.
      out_.ctl->head.store(outHead_, std::memory_order_release);
      moved = true;
      unrung += n;
      if (unrung >= kRingEvery) {
        peerBell_->ring();
        unrung = 0;
      }
    }
    if (op.done == total) {
      // Every byte is in the ring: the caller may reuse its buffer.
      sends_.pop();
      ++sendsDone_;
    }
  }
  if (unrung) peerBell_->ring();
  return moved;
}

void ShmConnection::deliver(RecvOp& op, const unsigned char* from, std::uint64_t n) {
  const RecvTarget& t = op.target;
  // op.done < padded length implies op.done < bytes: there is at least one real byte.
  const std::uint64_t valid = std::min(n, t.bytes - op.done);
  auto* dst = static_cast<unsigned char*>(t.dst) + op.done;
  if (t.combine) {
    // Reduce straight out of the shared ring: no staging copy. `valid` is a multiple of
    // 16 except at the message end, where it is a multiple of elemSize.
    t.combine(dst, static_cast<const unsigned char*>(t.src) + op.done, from, valid / t.elemSize);
  } else {
    std::memcpy(dst, from, valid);
  }
}

bool ShmConnection::progressRecvs() {
  const std::uint64_t cap = in_.capacity;
  const std::uint64_t piece = pieceFor(cap);
  bool moved = false;
  std::uint64_t unrung = 0;
  // Bytes readable now; reloads the shared head only when the cached one falls short.
  auto available = [&](std::uint64_t want) {
    std::uint64_t avail = inHeadSeen_ - inTail_;
    if (avail < want) {
      inHeadSeen_ = in_.ctl->head.load(std::memory_order_acquire);
      avail = inHeadSeen_ - inTail_;
    }
    return avail;
  };
  auto consume = [&](std::uint64_t n) {
    inTail_ += n;
    inPos_ += n;
    if (inPos_ == cap) inPos_ = 0;
    // Release: our reads of the consumed bytes finish before the sender may overwrite them.
    in_.ctl->tail.store(inTail_, std::memory_order_release);
    moved = true;
    unrung += n;
    if (unrung >= kRingEvery) {
      peerBell_->ring();
      unrung = 0;
    }
  };

  while (!recvs_.empty()) {
    RecvOp& op = recvs_.front();
    if (!op.headerSeen) {
      // A sender's first piece of a message always holds the whole header, so once
      // any byte of the message is readable, the header is.
      if (available(kHeaderBytes) < kHeaderBytes) break;
      MessageHeader h;
      std::memcpy(&h, in_.data + inPos_, kHeaderBytes);
      if (h.magic != MessageHeader::kMagic || h.bytes != op.target.bytes ||
          (h.signature && op.signature && h.signature != op.signature)) {
        // The header stays unconsumed: later calls report the same error.
        if (unrung) peerBell_->ring();
        badHeader(h, op);
      }
      consume(kHeaderBytes);
      op.headerSeen = true;
    }
    const std::uint64_t padded = roundUp(op.target.bytes, kUnit);
    while (op.done < padded) {
      const std::uint64_t want = std::min({padded - op.done, cap - inPos_, piece});
      const std::uint64_t n = std::min(want, available(want));
      if (n == 0) break;
      deliver(op, in_.data + inPos_, n);
      op.done += n;
      consume(n);
    }
    if (op.done < padded) break;
    recvs_.pop();
    ++recvsDone_;
  }
  // The sender may be waiting for the space we freed.
  if (unrung) peerBell_->ring();
  return moved;
}

ErrorContext ShmConnection::errorContext() const { return ErrorContext{self_, peer_, peerHost_, "shm"}; }

void ShmConnection::badHeader(const MessageHeader& h, const RecvOp& op) const {
  const std::string from = "rank " + std::to_string(peer_) + " (host " + peerHost_ + ")";
  if (h.magic != MessageHeader::kMagic) {
    char magic[16];
    std::snprintf(magic, sizeof magic, "0x%08x", h.magic);
    throw CallMismatchError("rank " + std::to_string(self_) + " received a corrupt message header from " + from +
                          " over shm (magic " + magic +
                          "): the ranks called collectives with different counts, types or order",
                      errorContext());
  }
  if (h.signature && op.signature && h.signature != op.signature)
    throwSignatureMismatch(self_, peer_, "host " + peerHost_, "shm", h.signature, op.signature);
  throw CallMismatchError("rank " + std::to_string(self_) + " expected " + std::to_string(op.target.bytes) +
                        " bytes from " + from + " over shm but it sent " + std::to_string(h.bytes) +
                        ": the ranks called collectives with different counts, types or order",
                    errorContext());
}

bool ShmConnection::peerProcessGone() const {
  if (pidFd_ >= 0) {
    // A pidfd polls readable once the process has exited, reaped or not.
    pollfd p{pidFd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
  }
  if (peerPid_ <= 0) return false;
  // Signal 0 only checks existence; EPERM means it exists under another user.
  if (kill(peerPid_, 0) != 0) return errno == ESRCH;
  // A killed process whose parent has not reaped it yet still answers signal 0.
  std::ifstream stat("/proc/" + std::to_string(peerPid_) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

void ShmConnection::checkPeer() const {
  // The notice first: a peer that reported someone else's failure and then exited
  // should be heard naming the rank that failed first.
  if (std::uint64_t word = in_.ctl->notice.load(std::memory_order_acquire))
    throw PeerNoticeError(FailureNotice::unpack(word), errorContext());
  if (peerProcessGone())
    throw RemoteError("rank " + std::to_string(peer_) + " (host " + peerHost_ + ", pid " + std::to_string(peerPid_) +
                          ") is gone: its process exited or was killed",
                      errorContext());
}

void ShmConnection::postNotice(const FailureNotice& notice) {
  std::uint64_t none = 0;
  // First notice wins; the peer's doorbell wakes it to read the notice now.
  out_.ctl->notice.compare_exchange_strong(none, notice.pack(), std::memory_order_release);
  peerBell_->ring();
}

}  // namespace braid::shm
