// The ibverbs transport: reaches a peer whose rank published a usable RDMA port of the
// same link layer. publish() finds the port (verbs_device.h); connect() makes one
// VerbsConnection per peer, swaps queue-pair records with one bootstrap all-gather,
// brings every queue pair up, and ends with a barrier so that nobody writes into a
// queue pair that is not ready to receive.
//
// Where no rank has a usable device, connect() does nothing collective at all, so jobs
// on machines without RDMA pay only for ibv_get_device_list.
#include "transport/ibverbs/verbs_transport.h"

#include "core/env.h"
#include "core/log.h"

#include <braid/error.h>

#include <mutex>
#include <sstream>

#ifdef BRAID_HAVE_IBVERBS
#include "bootstrap/bootstrap.h"
#include "transport/ibverbs/verbs_connection.h"
#include "transport/ibverbs/verbs_device.h"
#include "transport/ibverbs/verbs_endpoint.h"
#include "transport/ibverbs/verbs_settings.h"

#include <algorithm>
#include <optional>
#endif

namespace braid {
namespace {

// Whether BRAID_TRANSPORTS leaves no other transport to fall back on.
bool ibverbsIsTheOnlyTransport() {
  std::stringstream list(Env::get().transports());
  std::string name;
  bool others = false;
  while (std::getline(list, name, ','))
    if (!name.empty() && name != "ibverbs") others = true;
  return !others;
}

void logOnce(const std::string& message) {
  static std::once_flag once;
  std::call_once(once, [&] { BRAID_INFO(message); });
}

}  // namespace

#ifdef BRAID_HAVE_IBVERBS
namespace verbs {
namespace {

// Ring shape of every connection: 16 slots of 64 KiB per lane and direction.
constexpr RingGeometry kRings{16, 64 * 1024, 1};

// This transport's endpoint in a rank's PeerInfo, wherever its slot is: the magic
// number tells it from other transports' bytes.
std::optional<PortEndpoint> endpointOf(const PeerInfo& info, int slot) {
  return parseEndpoint(info.endpoint[static_cast<std::size_t>(slot)].data());
}

std::optional<PortEndpoint> findEndpoint(const PeerInfo& info) {
  for (int slot = 0; slot < PeerInfo::kMaxTransports; ++slot)
    if (auto e = endpointOf(info, slot)) return e;
  return std::nullopt;
}

class VerbsTransport final : public Transport {
 public:
  const char* name() const override { return "ibverbs"; }

  void publish(TransportContext& ctx, unsigned char* endpoint) override {
    settings_ = readIbSettings();
    std::string whyNone;
    device_ = VerbsDevice::open(settings_, whyNone);
    if (!device_) {
      if (ctx.size > 1 && ibverbsIsTheOnlyTransport())
        throw InvalidArgument("rank " + std::to_string(ctx.rank) + ": BRAID_TRANSPORTS=" + Env::get().transports() +
                                  " but " + whyNone,
                              ErrorContext{ctx.rank, -1, "", "ibverbs"});
      logOnce("ibverbs: " + whyNone + "; peers go to the next transport in BRAID_TRANSPORTS");
      PortEndpoint none;
      none.usable = 0;
      encodeEndpoint(none, endpoint);
      return;
    }
    BRAID_INFO("ibverbs: using " + device_->describe());
    encodeEndpoint(device_->endpoint(settings_.qpsPerPeer), endpoint);
  }

  bool canConnect(const PeerInfo& self, const PeerInfo& peer) const override {
    if (!device_) return false;
    auto mine = findEndpoint(self), theirs = findEndpoint(peer);
    return mine && theirs && mine->linkLayer == theirs->linkLayer;
  }

  std::vector<std::unique_ptr<Connection>> connect(TransportContext& ctx, int slot,
                                                   const std::vector<int>& peers) override {
    std::vector<std::unique_ptr<Connection>> out;
    const ErrorContext self{ctx.rank, -1, "", "ibverbs"};
    // Every rank sees the same table, so all agree on whether to take part below.
    int stride = 0;
    for (const PeerInfo& p : *ctx.peers)
      if (auto e = endpointOf(p, slot)) stride = std::max<int>(stride, e->qps);
    if (stride == 0 || ctx.size < 2) {
      if (!peers.empty()) throw Error(ErrorKind::Internal, "ibverbs: peers assigned without a usable device", self);
      return out;
    }
    if (!ctx.bootstrap) throw Error(ErrorKind::Internal, "ibverbs: connect() needs the bootstrap", self);

    const auto size = static_cast<std::size_t>(ctx.size), k = static_cast<std::size_t>(stride);
    std::vector<VerbsConnection*> made;
    std::vector<PortEndpoint> theirs;
    std::vector<QpRecord> mine(size * k);
    for (int p : peers) {
      auto ep = endpointOf(ctx.peers->at(static_cast<std::size_t>(p)), slot);
      if (!ep || !device_) throw Error(ErrorKind::Internal, "ibverbs: a peer without a usable endpoint", self);
      RingGeometry g = kRings;
      g.lanes = std::min<int>(settings_.qpsPerPeer, ep->qps);
      auto c = std::make_unique<VerbsConnection>(ctx.rank, p, ctx.peers->at(static_cast<std::size_t>(p)).hostName,
                                                 device_, g);
      for (int j = 0; j < g.lanes; ++j) mine[static_cast<std::size_t>(p) * k + static_cast<std::size_t>(j)] = c->localRecord(j);
      made.push_back(c.get());
      theirs.push_back(*ep);
      out.push_back(std::move(c));
    }
    std::vector<QpRecord> all(size * size * k);
    ctx.bootstrap->allGather(mine.data(), mine.size() * sizeof(QpRecord), all.data());
    for (std::size_t i = 0; i < peers.size(); ++i) {
      const QpRecord* row = &all[static_cast<std::size_t>(peers[i]) * size * k + static_cast<std::size_t>(ctx.rank) * k];
      made[i]->connectLanes(std::vector<QpRecord>(row, row + k), theirs[i], settings_);
    }
    ctx.bootstrap->barrier();
    if (!peers.empty())
      BRAID_INFO("ibverbs: connected " + std::to_string(peers.size()) + " peers over " + device_->describe());
    return out;
  }

 private:
  IbSettings settings_;
  std::shared_ptr<VerbsDevice> device_;
};

}  // namespace
}  // namespace verbs

std::unique_ptr<Transport> makeIbverbsTransport() { return std::make_unique<verbs::VerbsTransport>(); }

#else  // built without libibverbs

namespace {

class UnavailableTransport final : public Transport {
 public:
  const char* name() const override { return "ibverbs"; }
  void publish(TransportContext&, unsigned char*) override {}
  bool canConnect(const PeerInfo&, const PeerInfo&) const override { return false; }
  std::vector<std::unique_ptr<Connection>> connect(TransportContext&, int, const std::vector<int>&) override {
    return {};
  }
};

}  // namespace

std::unique_ptr<Transport> makeIbverbsTransport() {
  // The default list names ibverbs for builds that have it; only a list the user chose
  // is an error here.
  if (std::string(Env::get().source("BRAID_TRANSPORTS")) != "default")
    throw UnsupportedError("BRAID_TRANSPORTS='" + Env::get().transports() +
                           "' names ibverbs, but this Braid was built without ibverbs (libibverbs-dev was not found "
                           "at build time: install it, re-run cmake and rebuild)");
  logOnce("ibverbs: built without ibverbs; peers go to the next transport in BRAID_TRANSPORTS");
  return std::make_unique<UnavailableTransport>();
}

#endif

}  // namespace braid
