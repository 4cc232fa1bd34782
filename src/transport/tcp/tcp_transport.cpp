// The tcp transport: reaches any peer. Each pair of ranks shares K sockets
// (BRAID_TCP_SOCKETS), opened by the higher rank to the lower one's listening address.
//
// Setup cannot deadlock: a rank first connects to every lower rank, which completes in
// the peer's kernel (listen backlog) whether or not the peer is accepting yet, and sends
// its hello into the socket buffer; only then does it accept from the higher ranks.
// Every accepted socket must present the communicator's secret and tag; anything else
// is dropped and logged, and the rank keeps accepting.
#include "core/env.h"
#include "core/log.h"
#include "core/socket.h"
#include "transport/tcp/tcp_connection.h"
#include "transport/transport.h"

#include <braid/error.h>

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <unordered_map>

namespace braid {
namespace {

static_assert(sizeof(SockAddr) <= PeerInfo::kEndpointBytes, "a SockAddr must fit in an endpoint");

constexpr int kBufferBytes = 4 << 20;

// Setting SO_SNDBUF/SO_RCVBUF switches off Linux's buffer autotuning, and the kernel
// caps the value at net.core.[wr]mem_max (often only 208 KiB). Ask only where the
// caps allow the full size; elsewhere autotuning (up to tcp_[wr]mem) does better.
bool bigBuffersAllowed() {
  static const bool allowed = [] {
    auto cap = [](const char* path) {
      long long v = 0;
      std::ifstream in(path);
      in >> v;
      return v;
    };
    return cap("/proc/sys/net/core/wmem_max") >= kBufferBytes && cap("/proc/sys/net/core/rmem_max") >= kBufferBytes;
  }();
  return allowed;
}

std::string peerAddress(int fd) {
  SockAddr a;
  a.length = sizeof a.storage;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0) return "<unknown address>";
  return a.toString();
}

std::string rankAt(const TransportContext& ctx, int rank) {
  return "rank " + std::to_string(rank) + " (host " + ctx.peers->at(rank).hostName + ")";
}

class TcpTransport final : public Transport {
 public:
  const char* name() const override { return "tcp"; }

  void publish(TransportContext& ctx, unsigned char* endpoint) override {
    (void)ctx;
    listener_ = Socket::listen(chooseInterfaceAddress(Env::get().socketIfname()));
    // Accepted sockets inherit these, and the receive window is sized at the handshake.
    if (bigBuffersAllowed()) listener_.setBufferSizes(kBufferBytes);
    SockAddr bound = listener_.localAddress();
    std::memcpy(endpoint, &bound, sizeof bound);
  }

  bool canConnect(const PeerInfo&, const PeerInfo&) const override { return true; }

  std::vector<std::unique_ptr<Connection>> connect(TransportContext& ctx, int slot,
                                                   const std::vector<int>& peers) override {
    const int k = Env::get().tcpSockets();
    Deadline deadline(Env::get().timeout());
    std::vector<std::vector<Socket>> lanes(peers.size());
    std::unordered_map<int, std::size_t> position;  // rank -> index in `peers`
    int missing = 0;                                // sockets still to accept
    for (std::size_t i = 0; i < peers.size(); ++i) {
      lanes[i].resize(k);
      position[peers[i]] = i;
      if (peers[i] > ctx.rank) missing += k;
    }
    if (missing > 0 && !listener_.valid())
      throw Error(ErrorKind::Internal, "tcp connect() without publish()", {ctx.rank, -1, "", "tcp"});

    tcp::Hello hello{};
    hello.magic = tcp::Hello::kMagic;
    hello.rank = ctx.rank;
    hello.sockets = static_cast<std::uint32_t>(k);
    hello.tagHash = tcp::tagHash(ctx.commTag);
    std::memcpy(hello.secret, ctx.secret.data(), sizeof hello.secret);
    for (std::size_t i = 0; i < peers.size(); ++i)
      if (peers[i] < ctx.rank) connectTo(ctx, slot, peers[i], hello, lanes[i], deadline);
    if (missing > 0) acceptAll(ctx, peers, position, lanes, missing, deadline);
    listener_.close();  // every socket of this communicator is open now

    std::vector<std::unique_ptr<Connection>> out;
    for (std::size_t i = 0; i < peers.size(); ++i) {
      for (Socket& s : lanes[i]) {
        s.setNonBlocking();
        s.setNoDelay();
        if (bigBuffersAllowed()) s.setBufferSizes(kBufferBytes);
      }
      out.push_back(std::make_unique<TcpConnection>(ctx.rank, peers[i], ctx.peers->at(peers[i]).hostName,
                                                    std::move(lanes[i])));
    }
    return out;
  }

 private:
  void connectTo(const TransportContext& ctx, int slot, int peer, tcp::Hello hello, std::vector<Socket>& out,
                 const Deadline& deadline) {
    SockAddr addr;
    std::memcpy(&addr, ctx.peers->at(peer).endpoint[slot].data(), sizeof addr);
    ErrorContext ectx{ctx.rank, peer, ctx.peers->at(peer).hostName, "tcp"};
    if (addr.length == 0 || addr.length > sizeof addr.storage)
      throw RemoteError(rankAt(ctx, peer) + " published no usable tcp address", ectx);
    for (int idx = 0; idx < static_cast<int>(out.size()); ++idx) {
      try {
        out[idx] = Socket::connect(addr, deadline);
        hello.index = static_cast<std::uint32_t>(idx);
        out[idx].sendAll(&hello, sizeof hello, deadline);
      } catch (const TimeoutError& e) {
        throw TimeoutError("rank " + std::to_string(ctx.rank) + " could not open a tcp connection to " +
                               rankAt(ctx, peer) + " at " + addr.toString() + ": " + e.what(),
                           ectx);
      } catch (const SystemError& e) {
        throw SystemError("rank " + std::to_string(ctx.rank) + " could not open a tcp connection to " +
                              rankAt(ctx, peer) + " at " + addr.toString() + ": " + e.what(),
                          ectx);
      }
    }
  }

  // Accepts until every higher peer has its K sockets. Hellos are read without
  // blocking, all at once, so a silent or slow stranger holds up nobody.
  void acceptAll(const TransportContext& ctx, const std::vector<int>& peers,
                 const std::unordered_map<int, std::size_t>& position, std::vector<std::vector<Socket>>& lanes,
                 int missing, const Deadline& deadline) {
    struct Pending {
      Socket sock;
      tcp::Hello hello{};
      std::size_t got = 0;
    };
    std::vector<Pending> pending;
    std::vector<pollfd> fds;
    const std::uint64_t tag = tcp::tagHash(ctx.commTag);
    const int k = static_cast<int>(lanes.empty() ? 0 : lanes[0].size());
    while (missing > 0) {
      if (deadline.expired()) throwAcceptTimeout(ctx, peers, lanes);
      fds.assign(1, pollfd{listener_.fd(), POLLIN, 0});
      for (Pending& p : pending) fds.push_back(pollfd{p.sock.fd(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), deadline.remainingMs(1000)) < 0) {
        if (errno == EINTR) continue;
        throw SystemError(std::string("tcp accept poll: ") + std::strerror(errno), {ctx.rank, -1, "", "tcp"});
      }
      // Backwards, so that erasing keeps the remaining pending[i] aligned with fds[i + 1].
      for (std::size_t i = pending.size(); i-- > 0;) {
        if (!fds[i + 1].revents) continue;
        Pending& p = pending[i];
        ssize_t r = ::recv(p.sock.fd(), reinterpret_cast<char*>(&p.hello) + p.got, sizeof p.hello - p.got,
                           MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        std::string why;
        if (r <= 0) why = "it closed before its hello";
        else if ((p.got += static_cast<std::size_t>(r)) < sizeof p.hello) continue;
        else why = checkHello(ctx, p.hello, position, lanes, k, tag);
        if (!why.empty()) {
          BRAID_WARN("tcp: rank " + std::to_string(ctx.rank) + " dropped a connection from " +
                     peerAddress(p.sock.fd()) + ": " + why);
        } else {
          lanes[position.at(p.hello.rank)][p.hello.index] = std::move(p.sock);
          --missing;
        }
        pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
      }
      if (fds[0].revents & POLLIN) {
        Socket s = listener_.accept(Deadline(std::chrono::milliseconds(0)));
        if (s.valid()) pending.push_back(Pending{std::move(s)});
      }
    }
  }

  // Empty if the hello is one we wait for; otherwise why it is dropped.
  static std::string checkHello(const TransportContext& ctx, const tcp::Hello& h,
                                const std::unordered_map<int, std::size_t>& position,
                                const std::vector<std::vector<Socket>>& lanes, int k, std::uint64_t tag) {
    if (h.magic != tcp::Hello::kMagic) return "not a Braid tcp hello";
    if (std::memcmp(h.secret, ctx.secret.data(), sizeof h.secret) != 0) return "wrong secret";
    if (h.tagHash != tag) return "it belongs to another communicator";
    auto it = position.find(h.rank);
    if (h.rank <= ctx.rank || h.rank >= ctx.size || it == position.end())
      return "rank " + std::to_string(h.rank) + " is not a tcp peer that connects to this rank";
    // It holds the secret, so it is one of ours: a different K is a setup error to report.
    if (h.sockets != static_cast<std::uint32_t>(k))
      throw RemoteError("rank " + std::to_string(h.rank) + " uses BRAID_TCP_SOCKETS=" + std::to_string(h.sockets) +
                            " but rank " + std::to_string(ctx.rank) + " uses " + std::to_string(k) +
                            ": set the same value on every rank",
                        {ctx.rank, h.rank, ctx.peers->at(h.rank).hostName, "tcp"});
    if (h.index >= static_cast<std::uint32_t>(k)) return "socket index " + std::to_string(h.index) + " out of range";
    if (lanes[it->second][h.index].valid())
      return "duplicate socket " + std::to_string(h.index) + " from rank " + std::to_string(h.rank);
    return {};
  }

  [[noreturn]] static void throwAcceptTimeout(const TransportContext& ctx, const std::vector<int>& peers,
                                              const std::vector<std::vector<Socket>>& lanes) {
    std::string who;
    int first = -1;
    for (std::size_t i = 0; i < peers.size(); ++i) {
      if (peers[i] <= ctx.rank) continue;
      int have = 0;
      for (const Socket& s : lanes[i]) have += s.valid() ? 1 : 0;
      if (have == static_cast<int>(lanes[i].size())) continue;
      if (first < 0) first = peers[i];
      who += (who.empty() ? "" : ", ") + rankAt(ctx, peers[i]) + " [" + std::to_string(have) + "/" +
             std::to_string(lanes[i].size()) + " sockets]";
    }
    throw TimeoutError("rank " + std::to_string(ctx.rank) + " timed out (BRAID_TIMEOUT=" +
                           std::to_string(Env::get().timeout().count()) + "ms) waiting for tcp connections from " +
                           who + ": did they start, and can they reach this host (BRAID_SOCKET_IFNAME)?",
                       {ctx.rank, first, first >= 0 ? ctx.peers->at(first).hostName : "", "tcp"});
  }

  Socket listener_;
};

}  // namespace

std::unique_ptr<Transport> makeTcpTransport() { return std::make_unique<TcpTransport>(); }

}  // namespace braid
