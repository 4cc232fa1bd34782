#include "transport/tcp/tcp_connection.h"

#include <braid/error.h>

#include "core/digest.h"
#include "core/env.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace braid {
namespace tcp {
namespace {

// Index of the first piece of message `seq` that rides on `lane`.
std::uint64_t firstPiece(std::uint64_t seq, int lane, int k) {
  return (static_cast<std::uint64_t>(lane) + k - seq % k) % k;
}

}  // namespace

std::uint64_t laneShare(std::uint64_t seq, std::uint64_t bytes, int lane, int k) {
  std::uint64_t header = seq % k == static_cast<std::uint64_t>(lane) ? kHeaderBytes : 0;
  std::uint64_t pieces = (bytes + kPieceBytes - 1) / kPieceBytes;
  std::uint64_t first = firstPiece(seq, lane, k);
  if (first >= pieces) return header;
  std::uint64_t count = (pieces - 1 - first) / k + 1;
  std::uint64_t last = first + (count - 1) * k;
  // Every piece but the message's last is full; this lane's last may be that short one.
  return header + (count - 1) * kPieceBytes + std::min<std::uint64_t>(kPieceBytes, bytes - last * kPieceBytes);
}

Span laneSpan(std::uint64_t seq, std::uint64_t bytes, int lane, int k, std::uint64_t off) {
  std::uint64_t piece = firstPiece(seq, lane, k) + (off / kPieceBytes) * k;
  std::uint64_t pos = piece * kPieceBytes + off % kPieceBytes;
  std::uint64_t end = std::min<std::uint64_t>((piece + 1) * kPieceBytes, bytes);
  return {pos, end - pos};
}

std::uint64_t tagHash(const std::string& tag) { return fnv1a64(tag); }

}  // namespace tcp

namespace {
// Bytes one sendmsg/recvmsg gathers at most: beyond the socket buffers it is wasted walking.
constexpr std::size_t kMaxGather = 8u << 20;

// A link that stops carrying data (no FIN: a cut cable, a dead host) is otherwise found
// only after minutes of retransmissions, or never while idle. With these, the kernel
// fails the socket with ETIMEDOUT once nothing was acknowledged for BRAID_TIMEOUT, and
// probes idle sockets so that the next call after a silent loss fails at once.
void detectSilentLoss(int fd, std::chrono::milliseconds timeout) {
  const long long ms = std::max<long long>(1000, timeout.count());
  const unsigned userTimeout = static_cast<unsigned>(std::min<long long>(ms, 1ll << 30));
  const int on = 1, idle = static_cast<int>(std::max<long long>(1, ms / 3000)),
            interval = static_cast<int>(std::max<long long>(1, ms / 6000)), probes = 3;
  // Best effort: a socket that refuses an option keeps working, with the executor's
  // deadline as the backstop.
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &userTimeout, sizeof userTimeout);
  (void)::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
}

bool unreachable(int err) { return err == ETIMEDOUT || err == EHOSTUNREACH || err == ENETUNREACH; }
}  // namespace

TcpConnection::TcpConnection(int selfRank, int peerRank, std::string peerHost, std::vector<Socket> lanes)
    : Connection(selfRank, peerRank, std::move(peerHost)), k_(static_cast<int>(lanes.size())) {
  lanes_.resize(lanes.size());
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    lanes_[i].sock = std::move(lanes[i]);
    detectSilentLoss(lanes_[i].sock.fd(), Env::get().timeout());
  }
  // Slices stay multiples of 64 so every element size up to 64 bytes fits whole.
  bounceSlice_ = (tcp::kBounceBytes / k_) & ~std::size_t(63);
}

void TcpConnection::postSend(const void* data, std::size_t bytes) {
  SendOp op;
  op.data = static_cast<const unsigned char*>(data);
  op.bytes = bytes;
  op.header = MessageHeader{MessageHeader::kMagic, signature_, bytes};
  op.left = bytes + tcp::kHeaderBytes;
  sends_.push(op);
  ++sendsPosted_;
}

void TcpConnection::postRecv(const RecvTarget& target) {
  if (target.combine) {
    // Pieces and bounce slices must split the stream only between elements.
    std::size_t e = target.elemSize;
    if (e == 0 || target.bytes % e != 0 || tcp::kPieceBytes % e != 0 || e > bounceSlice_)
      throw Error(ErrorKind::Internal, "tcp: combining receive of " + std::to_string(target.bytes) +
                                           " bytes with element size " + std::to_string(e) + " is not supported",
                  ErrorContext{self_, peer_, peerHost_, "tcp"});
    if (!bounce_) {
      bounce_.reset(new unsigned char[tcp::kBounceBytes]);
      for (int i = 0; i < k_; ++i) lanes_[i].bounce = bounce_.get() + i * bounceSlice_;
    }
  }
  RecvOp op;
  op.target = target;
  op.header = MessageHeader{};
  op.left = target.bytes + tcp::kHeaderBytes;
  op.signature = signature_;
  op.headerOk = false;
  recvs_.push(op);
  ++recvsPosted_;
}

bool TcpConnection::progress() {
  bool moved = false;
  // A second pass only helps when a header checked late in the first one lets an
  // earlier lane start on that message.
  for (int pass = 0; pass < 2; ++pass) {
    bool any = false;
    unblocked_ = false;
    for (int j = 0; j < k_; ++j) {
      if (sendsDone_ != sendsPosted_ && sendLane(j)) any = true;
      if (recvsDone_ != recvsPosted_ && recvLane(j)) any = true;
    }
    retire();
    moved = moved || any;
    if (!any || !unblocked_) break;
  }
  // With nothing pending nothing touches the sockets, so a dead peer would go unseen
  // while the executor's poll keeps waking on its EOF. (A pending send finds out by
  // itself: writing to a closed peer fails with EPIPE or ECONNRESET.) Only every 64th
  // idle call looks, so an executor that sweeps all its connections does not pay a
  // syscall per idle peer per sweep.
  if (!moved && !busy() && (idleCalls_++ & 63) == 0 && peerClosedIdle()) throwClosed();
  return moved;
}

bool TcpConnection::sendLane(int j) {
  Lane& l = lanes_[j];
  bool moved = false;
  for (;;) {
    // Step over messages this lane has no bytes (left) of, so that the cursor names the
    // message its next byte belongs to.
    if (std::uint64_t s = nextSend(l, j); s != l.sendSeq) l.sendSeq = s, l.sendOff = 0;
    // Gather this lane's next bytes, over as many queued messages as fit, into one sendmsg.
    int n = 0;
    std::size_t total = 0;
    std::uint64_t seq = l.sendSeq, off = l.sendOff;
    while (seq < sendsPosted_ && n < kMaxIov && total < kMaxGather) {
      SendOp& op = sends_.at(seq - sendsDone_);
      std::uint64_t header = seq % k_ == static_cast<std::uint64_t>(j) ? tcp::kHeaderBytes : 0;
      std::uint64_t end = share(seq, op.bytes, j);
      if (off >= end) { ++seq; off = 0; continue; }
      const unsigned char* p;
      std::uint64_t len;
      if (off < header) {
        p = reinterpret_cast<const unsigned char*>(&op.header) + off;
        len = header - off;
      } else {
        tcp::Span s = tcp::laneSpan(seq, op.bytes, j, k_, off - header);
        p = op.data + s.pos;
        len = s.len;
      }
      // Adjacent pieces (K = 1, or back-to-back slices of one buffer) become one iovec.
      if (n > 0 && static_cast<unsigned char*>(iov_[n - 1].iov_base) + iov_[n - 1].iov_len == p)
        iov_[n - 1].iov_len += len;
      else
        iov_[n++] = iovec{const_cast<unsigned char*>(p), len};
      off += len;
      total += len;
    }
    if (n == 0) break;
    msghdr msg{};
    msg.msg_iov = iov_;
    msg.msg_iovlen = n;
    ssize_t sent = ::sendmsg(l.sock.fd(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EPIPE || errno == ECONNRESET) throwClosed();
      if (unreachable(errno)) throwUnreachable(errno);
      throwSys("send", errno);
    }
    moved = moved || sent > 0;
    for (std::uint64_t left = static_cast<std::uint64_t>(sent); left > 0;) {
      SendOp& op = sends_.at(l.sendSeq - sendsDone_);
      std::uint64_t end = share(l.sendSeq, op.bytes, j);
      std::uint64_t take = std::min(left, end - l.sendOff);
      l.sendOff += take;
      op.left -= take;
      left -= take;
      if (l.sendOff == end) ++l.sendSeq, l.sendOff = 0;
    }
    if (static_cast<std::size_t>(sent) < total) break;  // the socket buffer is full
  }
  return moved;
}

bool TcpConnection::recvLane(int j) {
  Lane& l = lanes_[j];
  bool moved = false;
  for (;;) {
    // As for sends; a lane blocked on another lane's header leaves it to that lane.
    bool blocked = false;
    if (std::uint64_t s = nextRecv(l, j, blocked); s != l.recvSeq) l.recvSeq = s, l.recvOff = 0, l.carry = 0;
    if (blocked) break;
    int n = 0;
    std::size_t total = 0;
    std::uint64_t seq = l.recvSeq, off = l.recvOff;
    while (seq < recvsPosted_ && n < kMaxIov && total < kMaxGather) {
      RecvOp& op = recvs_.at(seq - recvsDone_);
      const RecvTarget& t = op.target;
      std::uint64_t header = seq % k_ == static_cast<std::uint64_t>(j) ? tcp::kHeaderBytes : 0;
      // The layout below assumes the posted size; other lanes trust it only once checked.
      if (header == 0 && !op.headerOk) break;
      std::uint64_t end = share(seq, t.bytes, j);
      if (off >= end) { ++seq; off = 0; continue; }
      if (off < header) {
        iov_[n] = iovec{reinterpret_cast<unsigned char*>(&op.header) + off, header - off};
        part_[n++] = Part::Header;
        total += header - off;
        off = header;
        continue;
      }
      tcp::Span s = tcp::laneSpan(seq, t.bytes, j, k_, off - header);
      if (t.combine) {
        // The bounce slice and its carry belong to the lane's current message only. A
        // header gathered into the same read is checked before anything is combined.
        if (seq != l.recvSeq) break;
        std::size_t len = std::min<std::uint64_t>(s.len, bounceSlice_ - l.carry);
        iov_[n] = iovec{l.bounce + l.carry, len};
        part_[n++] = Part::Combine;
        total += len;
        break;
      }
      unsigned char* p = static_cast<unsigned char*>(t.dst) + s.pos;
      if (n > 0 && part_[n - 1] == Part::Plain &&
          static_cast<unsigned char*>(iov_[n - 1].iov_base) + iov_[n - 1].iov_len == p)
        iov_[n - 1].iov_len += s.len;
      else
        iov_[n] = iovec{p, s.len}, part_[n++] = Part::Plain;
      total += s.len;
      off += s.len;
    }
    if (n == 0) break;
    msghdr msg{};
    msg.msg_iov = iov_;
    msg.msg_iovlen = n;
    ssize_t got = ::recvmsg(l.sock.fd(), &msg, MSG_DONTWAIT);
    if (got == 0) throwClosed();
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ECONNRESET || errno == EPIPE) throwClosed();
      if (unreachable(errno)) throwUnreachable(errno);
      throwSys("recv", errno);
    }
    moved = true;
    // Account the bytes by walking the lane's cursor over the same layout the gather used.
    for (std::uint64_t left = static_cast<std::uint64_t>(got); left > 0;) {
      RecvOp& op = recvs_.at(l.recvSeq - recvsDone_);
      const RecvTarget& t = op.target;
      std::uint64_t header = l.recvSeq % k_ == static_cast<std::uint64_t>(j) ? tcp::kHeaderBytes : 0;
      std::uint64_t end = share(l.recvSeq, t.bytes, j);
      if (l.recvOff < header) {
        std::uint64_t take = std::min(left, header - l.recvOff);
        l.recvOff += take;
        op.left -= take;
        left -= take;
        if (l.recvOff == header) checkHeader(op);
      } else if (l.recvOff < end && t.combine) {
        // The combine iovec is the last one, so everything left landed in the bounce slice.
        std::size_t have = l.carry + left;
        std::size_t whole = have - have % t.elemSize;
        if (whole > 0) {
          tcp::Span s = tcp::laneSpan(l.recvSeq, t.bytes, j, k_, l.recvOff - header - l.carry);
          unsigned char* dst = static_cast<unsigned char*>(t.dst) + s.pos;
          const void* src = t.src ? static_cast<const unsigned char*>(t.src) + s.pos : dst;
          t.combine(dst, src, l.bounce, whole / t.elemSize);
          std::memmove(l.bounce, l.bounce + whole, have - whole);
        }
        l.carry = have - whole;
        l.recvOff += left;
        op.left -= whole;
        left = 0;
      } else {
        std::uint64_t take = std::min(left, end - l.recvOff);
        l.recvOff += take;
        op.left -= take;
        left -= take;
      }
      if (l.recvOff >= end) ++l.recvSeq, l.recvOff = 0;
    }
    if (static_cast<std::size_t>(got) < total) break;  // drained what the kernel had
  }
  return moved;
}

void TcpConnection::checkHeader(RecvOp& op) {
  ErrorContext ctx{self_, peer_, peerHost_, "tcp"};
  if (op.header.magic == MessageHeader::kNoticeMagic) throw PeerNoticeError(FailureNotice::unpack(op.header.bytes), ctx);
  if (op.header.magic != MessageHeader::kMagic)
    throw CallMismatchError("rank " + std::to_string(self_) + " received a corrupt message header from rank " +
                          std::to_string(peer_) + " (host " + peerHost_ + ") over tcp",
                      ctx);
  if (op.header.signature && op.signature && op.header.signature != op.signature)
    throwSignatureMismatch(self_, peer_, "host " + peerHost_, "tcp", op.header.signature, op.signature);
  if (op.header.bytes != op.target.bytes)
    throw CallMismatchError("rank " + std::to_string(self_) + " expected " + std::to_string(op.target.bytes) +
                          " bytes from rank " + std::to_string(peer_) + " (host " + peerHost_ +
                          ") over tcp but it sent " + std::to_string(op.header.bytes) +
                          ": the ranks called collectives with different counts, types or order",
                      ctx);
  op.headerOk = true;
  if (k_ > 1) unblocked_ = true;
}

void TcpConnection::retire() {
  while (!sends_.empty() && sends_.front().left == 0) sends_.pop(), ++sendsDone_;
  while (!recvs_.empty() && recvs_.front().left == 0) recvs_.pop(), ++recvsDone_;
}

bool TcpConnection::peerClosedIdle() {
  char c;
  ssize_t r = ::recv(lanes_[0].sock.fd(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  // Data waiting means the peer is ahead of us, not gone; EOF only counts once it is read.
  return r == 0 || (r < 0 && (errno == ECONNRESET || errno == EPIPE));
}

std::uint64_t TcpConnection::nextSend(const Lane& l, int j) const {
  // A cursor behind sendsDone_ sits on retired messages, of which it had nothing left.
  std::uint64_t seq = std::max(l.sendSeq, sendsDone_);
  std::uint64_t off = seq == l.sendSeq ? l.sendOff : 0;
  for (; seq < sendsPosted_; ++seq, off = 0)
    if (off < share(seq, sends_.at(seq - sendsDone_).bytes, j)) break;
  return seq;
}

std::uint64_t TcpConnection::nextRecv(const Lane& l, int j, bool& blocked) const {
  blocked = false;
  std::uint64_t seq = std::max(l.recvSeq, recvsDone_);
  std::uint64_t off = seq == l.recvSeq ? l.recvOff : 0;
  for (; seq < recvsPosted_; ++seq, off = 0) {
    const RecvOp& op = recvs_.at(seq - recvsDone_);
    if (seq % k_ != static_cast<std::uint64_t>(j) && !op.headerOk) {
      blocked = true;
      break;
    }
    if (off < share(seq, op.target.bytes, j)) break;
  }
  return seq;
}

void TcpConnection::addPollFds(std::vector<pollfd>& fds) const {
  for (int j = 0; j < k_; ++j) {
    const Lane& l = lanes_[j];
    short events = 0;
    // A lane waiting for another lane's header has nothing to read yet; the header
    // lane's own POLLIN wakes us, and then this lane goes on.
    bool blocked = false;
    if (nextRecv(l, j, blocked) < recvsPosted_ && !blocked) events |= POLLIN;
    if (nextSend(l, j) < sendsPosted_) events |= POLLOUT;
    // POLLRDHUP instead of POLLIN when idle: it reports the peer's EOF, but not data
    // that arrived early for a receive not posted yet (which would spin the poll).
    if (j == 0 && !(events & POLLIN)) events |= POLLRDHUP;
    if (events) fds.push_back(pollfd{l.sock.fd(), events, 0});
  }
}

void TcpConnection::throwClosed() const {
  throw RemoteError("rank " + std::to_string(peer_) + " (host " + peerHost_ + ") closed its tcp connection to rank " +
                        std::to_string(self_) + " (process exited or was killed?)",
                    ErrorContext{self_, peer_, peerHost_, "tcp"});
}

void TcpConnection::throwUnreachable(int err) const {
  throw RemoteError("rank " + std::to_string(peer_) + " (host " + peerHost_ + ") is unreachable over tcp from rank " +
                        std::to_string(self_) + ": " + std::strerror(err) +
                        " (nothing acknowledged within BRAID_TIMEOUT: link down or host gone?)",
                    ErrorContext{self_, peer_, peerHost_, "tcp"});
}

void TcpConnection::checkPeer() const {
  const ErrorContext ctx{self_, peer_, peerHost_, "tcp"};
  // Only while no receive has started is the next byte of the header lane a header:
  // then a notice there is found even with no receive posted (say, while this rank is
  // blocked sending to a peer that gave up and stopped reading).
  if (recvs_.empty() || recvs_.at(0).left == recvs_.at(0).target.bytes + tcp::kHeaderBytes) {
    const int lane = static_cast<int>(recvsDone_ % static_cast<std::uint64_t>(k_));
    MessageHeader h{};
    ssize_t r = ::recv(lanes_[lane].sock.fd(), &h, sizeof h, MSG_PEEK | MSG_DONTWAIT);
    if (r == static_cast<ssize_t>(sizeof h) && h.magic == MessageHeader::kNoticeMagic)
      throw PeerNoticeError(FailureNotice::unpack(h.bytes), ctx);
  }
  // EOF shows only once every byte before it is read, so nothing the peer sent is lost.
  // The peer is gone for good only when every lane has ended: one lane at its end while
  // another still holds the peer's last messages (a small message travels on one lane)
  // is not a loss yet; the executor takes those first, and then that lane ends too.
  int ended = 0;
  for (const Lane& l : lanes_) {
    char c;
    ssize_t r = ::recv(l.sock.fd(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r < 0 && unreachable(errno)) throwUnreachable(errno);
    if (r == 0 || (r < 0 && (errno == ECONNRESET || errno == EPIPE))) ++ended;
  }
  if (ended == k_) throwClosed();
}

void TcpConnection::postNotice(const FailureNotice& notice) {
  if (noticePosted_) return;
  noticePosted_ = true;
  drained_.assign(static_cast<std::size_t>(k_), false);
  // The notice takes the place of the first message no lane has started; those before
  // it are finished (their buffers are still valid: the run has not returned), the
  // rest are dropped. A lane's cursor past a message means it sent its share of it.
  std::uint64_t next = sendsDone_;
  for (const Lane& l : lanes_) next = std::max(next, l.sendOff > 0 ? l.sendSeq + 1 : l.sendSeq);
  next = std::min(next, sendsPosted_);
  sends_.truncate(static_cast<std::size_t>(next - sendsDone_));
  sendsPosted_ = next;
  SendOp op;
  op.data = nullptr;
  op.bytes = 0;
  op.header = MessageHeader{MessageHeader::kNoticeMagic, static_cast<std::uint32_t>(notice.culprit), notice.pack()};
  op.left = tcp::kHeaderBytes;
  sends_.push(op);
  ++sendsPosted_;
  for (Lane& l : lanes_) l.sendSeq = std::min(l.sendSeq, sendsPosted_);
}

bool TcpConnection::flushNotice() {
  if (!noticePosted_ || noticeDone_) return true;
  try {
    for (int j = 0; j < k_; ++j) {
      sendLane(j);
      drainLane(j);
    }
    while (!sends_.empty() && sends_.front().left == 0) sends_.pop(), ++sendsDone_;
    noticeDone_ = sendsDone_ == sendsPosted_;
  } catch (const Error&) {
    noticeDone_ = true;  // the connection is broken: nobody is left to tell
  }
  return noticeDone_;
}

void TcpConnection::drainLane(int j) {
  if (drained_[j]) return;
  unsigned char scratch[16384];
  for (;;) {
    ssize_t got = ::recv(lanes_[j].sock.fd(), scratch, sizeof scratch, MSG_DONTWAIT);
    if (got > 0) continue;
    if (got < 0 && errno == EINTR) continue;
    if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) drained_[j] = true;
    return;
  }
}

void TcpConnection::throwSys(const char* what, int err) const {
  throw SystemError(std::string("tcp ") + what + " to rank " + std::to_string(peer_) + " (host " + peerHost_ +
                        "): " + std::strerror(err),
                    ErrorContext{self_, peer_, peerHost_, "tcp"});
}

}  // namespace braid
