// The tcp transport: reaches any peer. Each pair of ranks shares K sockets
// (BRAID_TCP_SOCKETS), opened by the higher rank to the lower one's listening address.
//
// Setup cannot deadlock: a rank first connects to every lower rank, which completes in
// the peer's kernel (listen backlog) whether or not the peer is accepting yet, and sends
// its hello into the socket buffer; only then does it accept from the higher ranks.
// Every accepted socket must present the communicator's secret and tag; anything else
// is dropped and logged, and the rank keeps accepting (HelloAcceptor: a silent stranger
// holds up nobody and is let go after a few seconds).
#include "bootstrap/hello_acceptor.h"
#include "core/env.h"
#include "core/log.h"
#include "core/socket.h"
#include "transport/tcp/tcp_connection.h"
#include "transport/tcp/tcp_transport.h"
#include "transport/transport.h"

#include <braid/error.h>

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
    tcp::encodeEndpoint(listener_.localAddress(), endpoint);
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
    ErrorContext ectx{ctx.rank, peer, ctx.peers->at(peer).hostName, "tcp"};
    auto parsed = tcp::parseEndpoint(ctx.peers->at(peer).endpoint[slot]);
    if (!parsed) throw RemoteError(rankAt(ctx, peer) + " published no usable tcp address", ectx);
    const SockAddr addr = *parsed;
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
    tcp::HelloExpectation expect;
    expect.self = ctx.rank;
    expect.size = ctx.size;
    expect.tagHash = tcp::tagHash(ctx.commTag);
    expect.secret = ctx.secret.data();
    expect.sockets = static_cast<int>(lanes.empty() ? 0 : lanes[0].size());
    HelloAcceptor acceptor(listener_, sizeof(tcp::Hello), "tcp: rank " + std::to_string(ctx.rank), tcp::couldBeHello);
    tcp::Hello hello{};
    auto judge = [&](wire::Bytes bytes) -> std::string {
      tcp::HelloCheck c = tcp::checkHello(bytes, expect);
      if (c.verdict == tcp::HelloVerdict::OtherSocketCount)
        throw RemoteError("rank " + std::to_string(c.hello.rank) + " uses BRAID_TCP_SOCKETS=" +
                              std::to_string(c.hello.sockets) + " but rank " + std::to_string(ctx.rank) + " uses " +
                              std::to_string(expect.sockets) + ": set the same value on every rank",
                          {ctx.rank, c.hello.rank, ctx.peers->at(c.hello.rank).hostName, "tcp"});
      if (c.verdict == tcp::HelloVerdict::Drop) return c.why;
      auto it = position.find(c.hello.rank);
      if (it == position.end())
        return "rank " + std::to_string(c.hello.rank) + " is not a tcp peer of this rank";
      if (lanes[it->second][c.hello.index].valid())
        return "duplicate socket " + std::to_string(c.hello.index) + " from rank " + std::to_string(c.hello.rank);
      hello = c.hello;
      return {};
    };
    while (missing > 0) {
      auto accepted = acceptor.next(judge, deadline);
      if (!accepted) throwAcceptTimeout(ctx, peers, lanes);
      lanes[position.at(hello.rank)][hello.index] = std::move(accepted->socket);
      --missing;
    }
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
