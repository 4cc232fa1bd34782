#include "bootstrap/bootstrap.h"

#include "bootstrap/hello_acceptor.h"
#include "bootstrap/wire.h"
#include "core/env.h"
#include "core/rethrow.h"
#include "core/log.h"

#include <braid/error.h>

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace braid {
namespace {

ErrorContext ctxOf(int rank, int peer) { return ErrorContext{rank, peer, "", "bootstrap"}; }

std::string hexPrefix(const std::array<unsigned char, 16>& s) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 4; ++i) {
    out += hex[s[i] >> 4];
    out += hex[s[i] & 15];
  }
  return out;
}

// Sends `out` to one socket while receiving `in` from another, so that a ring of ranks
// all sending at once cannot deadlock on full socket buffers.
void exchange(Socket& to, const void* out, std::size_t outBytes, Socket& from, void* in, std::size_t inBytes,
              const Deadline& deadline) {
  auto* o = static_cast<const char*>(out);
  auto* i = static_cast<char*>(in);
  while (outBytes > 0 || inBytes > 0) {
    pollfd fds[2] = {{to.fd(), static_cast<short>(outBytes ? POLLOUT : 0), 0},
                     {from.fd(), static_cast<short>(inBytes ? POLLIN : 0), 0}};
    int n = ::poll(fds, 2, deadline.remainingMs(1000));
    if (n < 0 && errno != EINTR) throw SystemError(std::string("poll: ") + std::strerror(errno));
    if (n == 0 && deadline.expired()) throw TimeoutError("timed out");
    if (outBytes && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t k = ::send(to.fd(), o, outBytes, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (k < 0 && errno != EAGAIN && errno != EINTR)
        throw SystemError(std::string("send to next rank: ") + std::strerror(errno));
      if (k > 0) { o += k; outBytes -= static_cast<std::size_t>(k); }
    }
    if (inBytes && (fds[1].revents & (POLLIN | POLLERR | POLLHUP))) {
      ssize_t k = ::recv(from.fd(), i, inBytes, MSG_DONTWAIT);
      if (k == 0) throw SystemError("previous rank closed its bootstrap connection");
      if (k < 0 && errno != EAGAIN && errno != EINTR)
        throw SystemError(std::string("recv from previous rank: ") + std::strerror(errno));
      if (k > 0) { i += k; inBytes -= static_cast<std::size_t>(k); }
    }
  }
}

}  // namespace

Bootstrap::Bootstrap(const UniqueId& id, int rank, int size) : rank_(rank), size_(size) {
  if (size < 1 || size > wire::kMaxRanks)
    throw InvalidArgument("size " + std::to_string(size) + " is out of range (1.." + std::to_string(wire::kMaxRanks) + ")", ctxOf(rank, -1));
  if (rank < 0 || rank >= size)
    throw InvalidArgument("rank " + std::to_string(rank) + " is out of range for size " + std::to_string(size), ctxOf(rank, -1));
  RootInfo root = RootInfo::decode(id);
  secret_ = root.secret;
  const Env& env = Env::get();
  Deadline deadline(env.timeout());

  // Listen where the ring predecessor can reach us: the interface that reaches the root
  // is the safest guess, so use the same family and BRAID_SOCKET_IFNAME's choice.
  Socket listener = Socket::listen(chooseInterfaceAddress(env.socketIfname()));

  wire::JoinHello hello{};
  hello.magic = wire::kJoinMagic;
  hello.version = wire::kVersion;
  std::memcpy(hello.secret, secret_.data(), 16);
  hello.rank = rank;
  hello.size = size;
  SockAddr mine = listener.localAddress();
  hello.listen.length = mine.length;
  hello.listen.storage = mine.storage;

  std::vector<SockAddr> table;
  std::uint32_t round = 0;
  try {
    Socket toRoot = Socket::connect(root.address, deadline);
    toRoot.sendAll(&hello, sizeof hello, deadline);
    wire::JoinReply raw{};
    try {
      toRoot.recvAll(&raw, sizeof raw, deadline);
    } catch (const SystemError& e) {
      throw RemoteError(std::string(e.what()) + ": the root refused this rank (is the unique id from another job, "
                        "or its secret altered?)", ctxOf(rank, -1));
    }
    auto reply = wire::parseJoinReply(wire::bytesOf(raw), size);
    if (!reply) throw RemoteError(std::string("the root sent a malformed reply: ") + reply.why, ctxOf(rank, -1));
    if (reply.value->status == wire::JoinStatus::SizeMismatch)
      throw InvalidArgument("rank " + std::to_string(rank) + " was given size " + std::to_string(size) +
                                " but other ranks joined with size " + std::to_string(reply.value->size), ctxOf(rank, -1));
    if (reply.value->status == wire::JoinStatus::DuplicateRank)
      throw InvalidArgument("rank " + std::to_string(rank) + " joined twice (two processes were given the same rank)",
                            ctxOf(rank, -1));
    round = reply.value->round;
    // `size` is this rank's own, already bounded by kMaxRanks: the allocation is ours.
    std::vector<unsigned char> rawTable(static_cast<std::size_t>(size) * sizeof(wire::Address));
    toRoot.recvAll(rawTable.data(), rawTable.size(), deadline);
    auto parsed = wire::parseAddressTable(rawTable, size);
    if (!parsed) throw RemoteError(std::string("the root sent a malformed address table: ") + parsed.why, ctxOf(rank, -1));
    table = std::move(*parsed.value);
  } catch (const InvalidArgument&) {
    throw;
  } catch (const Error& e) {
    throwError(e.kind(), "rank " + std::to_string(rank) + ": rendezvous with root " + root.address.toString() +
                              " failed: " + e.what(), ctxOf(rank, -1));
  }
  commTag_ = hexPrefix(secret_) + "-" + std::to_string(root.address.port()) + "-" + std::to_string(round);
  if (size == 1) return;

  // Ring: connect to the next rank, accept the previous one. Strangers on the listener
  // are dropped without holding up the predecessor (HelloAcceptor).
  int next = (rank + 1) % size, prev = (rank + size - 1) % size;
  const SockAddr& nextAddr = table[static_cast<std::size_t>(next)];
  wire::RingHello ringHello{wire::kRingMagic, {}, rank, round};
  std::memcpy(ringHello.secret, secret_.data(), 16);
  try {
    next_ = Socket::connect(nextAddr, deadline);
    next_.sendAll(&ringHello, sizeof ringHello, deadline);
  } catch (const Error& e) {
    throwError(e.kind(), "rank " + std::to_string(rank) + ": cannot reach rank " + std::to_string(next) + " at " +
                              nextAddr.toString() + ": " + e.what(), ctxOf(rank, next));
  }
  HelloAcceptor acceptor(listener, sizeof(wire::RingHello), "bootstrap ring: rank " + std::to_string(rank),
                         wire::couldBeRingHello);
  auto accepted = acceptor.next([&](wire::Bytes b) -> std::string {
    auto h = wire::parseRingHello(b, secret_, prev, round);
    return h ? "" : h.why;
  }, deadline);
  if (!accepted)
    throw TimeoutError("rank " + std::to_string(rank) + ": rank " + std::to_string(prev) +
                       " did not connect to the bootstrap ring before BRAID_TIMEOUT", ctxOf(rank, prev));
  prev_ = std::move(accepted->socket);
}

Bootstrap::~Bootstrap() = default;

void Bootstrap::allGather(const void* mine, std::size_t bytes, void* all) {
  auto* out = static_cast<unsigned char*>(all);
  std::memcpy(out + static_cast<std::size_t>(rank_) * bytes, mine, bytes);
  if (size_ == 1) return;
  Deadline deadline(Env::get().timeout());
  // The ring passes each block on: at step s, send block (rank - s), receive (rank - s - 1).
  // Each block travels with its length so ranks that disagree on `bytes` are caught.
  for (int step = 0; step < size_ - 1; ++step) {
    int sendBlock = (rank_ - step + size_) % size_;
    int recvBlock = (rank_ - step - 1 + size_) % size_;
    std::uint64_t outLen = bytes, inLen = 0;
    try {
      exchange(next_, &outLen, sizeof outLen, prev_, &inLen, sizeof inLen, deadline);
      if (!wire::parseFrameLength(wire::bytesOf(inLen), bytes))
        throw RemoteError("rank " + std::to_string(rank_) + ": bootstrap all-gather of " + std::to_string(bytes) +
                              " bytes, but the previous rank sent " + std::to_string(inLen) +
                              " (ranks disagree on the call)", ctxOf(rank_, (rank_ + size_ - 1) % size_));
      exchange(next_, out + static_cast<std::size_t>(sendBlock) * bytes, bytes, prev_,
               out + static_cast<std::size_t>(recvBlock) * bytes, bytes, deadline);
    } catch (const RemoteError&) {
      throw;
    } catch (const Error& e) {
      int prev = (rank_ + size_ - 1) % size_;
      throwError(e.kind() == ErrorKind::Timeout ? ErrorKind::Timeout : ErrorKind::Remote,
                  "rank " + std::to_string(rank_) + ": bootstrap all-gather with ranks " + std::to_string(prev) +
                      " and " + std::to_string((rank_ + 1) % size_) + " failed: " + e.what(), ctxOf(rank_, prev));
    }
  }
}

void Bootstrap::barrier() {
  std::vector<unsigned char> all(static_cast<std::size_t>(size_));
  unsigned char mine = 1;
  allGather(&mine, 1, all.data());
}

}  // namespace braid
