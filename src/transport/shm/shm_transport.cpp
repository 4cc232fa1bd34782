#include "transport/shm/shm_transport.h"

#include "bootstrap/bootstrap.h"
#include "core/env.h"
#include "core/log.h"
#include "transport/shm/ring.h"
#include "transport/shm/shm_connection.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace braid::shm {
namespace {

// PeerInfo strings are fixed arrays filled by other processes: never trust a terminator.
std::string fixedString(const char* s, std::size_t cap) { return std::string(s, strnlen(s, cap)); }

bool sameHost(const PeerInfo& a, const PeerInfo& b) {
  return a.hostId[0] != '\0' && b.hostId[0] != '\0' && std::strncmp(a.hostId, b.hostId, sizeof a.hostId) == 0;
}

std::string hostOf(const PeerInfo& p) {
  std::string name = fixedString(p.hostName, sizeof p.hostName);
  return name.empty() ? fixedString(p.hostId, sizeof p.hostId) : name;
}

}  // namespace

ShmTransport::ShmTransport() = default;
ShmTransport::~ShmTransport() = default;

void ShmTransport::publish(TransportContext& ctx, unsigned char* endpoint) {
  (void)ctx;
  (void)endpoint;
}

bool ShmTransport::canConnect(const PeerInfo& self, const PeerInfo& peer) const { return sameHost(self, peer); }

std::vector<std::unique_ptr<Connection>> ShmTransport::connect(TransportContext& ctx, int endpointSlot,
                                                               const std::vector<int>& peers) {
  (void)endpointSlot;
  // Without a bootstrap there is a single rank, and nothing to wait for.
  return connectWith(ctx, peers, [&ctx] {
    if (ctx.bootstrap) ctx.bootstrap->barrier();
  });
}

std::vector<std::unique_ptr<Connection>> ShmTransport::connectWith(TransportContext& ctx,
                                                                   const std::vector<int>& peers,
                                                                   const std::function<void()>& barrier) {
  const ErrorContext self{ctx.rank, -1, "", "shm"};
  if (connected_) throw InvalidUsage("shm transport: connect() called twice on one transport", self);
  connected_ = true;
  if (!ctx.peers || ctx.rank < 0 || ctx.rank >= static_cast<int>(ctx.peers->size()))
    throw InvalidArgument("shm transport: rank " + std::to_string(ctx.rank) + " has no peer table", self);
  const std::vector<PeerInfo>& all = *ctx.peers;
  const PeerInfo& me = all[ctx.rank];

  // The ranks on this host in rank order; a sender's slot is its index here. Every rank
  // of the host computes the same list from the same all-gathered table.
  std::vector<int> local;
  for (int r = 0; r < static_cast<int>(all.size()); ++r)
    if (sameHost(me, all[r])) local.push_back(r);
  auto slotOf = [&](int r) {
    return static_cast<int>(std::lower_bound(local.begin(), local.end(), r) - local.begin());
  };

  std::vector<int> usedSlots;
  for (int p : peers) {
    if (p < 0 || p >= static_cast<int>(all.size()) || p == ctx.rank || !sameHost(me, all[p]))
      throw InvalidArgument("shm transport: rank " + std::to_string(ctx.rank) + " cannot reach rank " +
                                std::to_string(p) + " over shared memory (not on this host)",
                            self);
    usedSlots.push_back(slotOf(p));
  }

  // Phase 1: the segment this rank receives in. Only ranks with shm peers need one; a
  // rank without is nobody's shm peer, since canConnect is symmetric.
  if (!peers.empty()) {
    own_ = Segment::create(segmentName(ctx.commTag, ctx.rank), static_cast<int>(local.size()),
                           ringCapacity(Env::get().shmBufferBytes()), usedSlots, self);
    ctx.doorbell = own_->doorbell();
  }

  // Phase 2, once every rank has done phase 1: map this rank's ring in each peer's segment.
  std::vector<std::unique_ptr<Connection>> conns;
  conns.reserve(peers.size());
  try {
    barrier();
    for (int p : peers) {
      const PeerInfo& info = all[p];
      const std::string host = hostOf(info);
      auto remote = PeerSegment::open(segmentName(ctx.commTag, p), slotOf(ctx.rank),
                                      ErrorContext{ctx.rank, p, host, "shm"});
      // The peer is alive (it just created its segment), so a pid that does not exist
      // here belongs to another pid namespace: liveness checks would lie, skip them.
      int pid = info.pid;
      if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) {
        BRAID_DEBUG("shm: pid " + std::to_string(pid) + " of rank " + std::to_string(p) +
                    " is not visible here (another pid namespace?); not checking its liveness");
        pid = 0;
      }
      conns.push_back(std::make_unique<ShmConnection>(ctx.rank, p, host, pid, own_, slotOf(p), std::move(remote)));
    }
    barrier();
  } catch (...) {
    // Setup failed here or elsewhere (a barrier throws then); the other ranks fail too,
    // and the name must not outlive this attempt.
    if (own_) own_->unlink();
    throw;
  }

  // Phase 3: every peer has mapped it; the mapping lives on without the name.
  if (own_) own_->unlink();
  return conns;
}

}  // namespace braid::shm

namespace braid {

std::unique_ptr<Transport> makeShmTransport() { return std::make_unique<shm::ShmTransport>(); }

}  // namespace braid
