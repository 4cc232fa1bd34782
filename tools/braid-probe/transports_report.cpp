#include "transports_report.h"

#include "core/env.h"
#include "core/host_identity.h"
#include "placements.h"
#include "topology_report.h"
#include "transport/transport.h"

#include <braid/communicator.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace probe {
namespace {

// Asks the transports themselves, in BRAID_TRANSPORTS order, as the communicator does
// when it connects a peer; only the host identity differs between the two cases.
std::string transportBetween(const std::vector<std::unique_ptr<braid::Transport>>& transports, bool sameHost) {
  braid::PeerInfo self, peer;
  std::strncpy(self.hostId, "probe-host-a", sizeof self.hostId - 1);
  std::strncpy(peer.hostId, sameHost ? "probe-host-a" : "probe-host-b", sizeof peer.hostId - 1);
  for (const auto& t : transports)
    if (t->canConnect(self, peer)) return t->name();
  return "none";
}

struct PairClass {
  int pairs = 0;
  int firstRank = 0, firstPeer = 0;  // an example pair
};

}  // namespace

void printTransportModel(const Options& o) {
  const braid::Topology topo = topologyInForce(o);
  const int perNode = o.ranksPerNode.value_or(o.ranks);
  const auto at = spreadPlacements(topo, o.ranks, perNode);
  const auto transports = braid::makeTransports();
  const std::string withinHost = transportBetween(transports, true), acrossHosts = transportBetween(transports, false);

  std::map<std::pair<braid::LinkClass, std::string>, PairClass> classes;  // ordered nearest link first
  for (int r = 0; r < o.ranks; ++r)
    for (int q = r + 1; q < o.ranks; ++q) {
      const auto& pr = at[static_cast<std::size_t>(r)];
      const auto& pq = at[static_cast<std::size_t>(q)];
      PairClass& c = classes[{braid::linkBetween(pr, pq), pr.node == pq.node ? withinHost : acrossHosts}];
      if (c.pairs == 0) c.firstRank = r, c.firstPeer = q;
      ++c.pairs;
    }

  std::printf("# transport model: %d ranks, %d per node (%d nodes), topology %s, BRAID_TRANSPORTS=%s\n", o.ranks,
              perNode, at.back().node + 1, topo.hostName.c_str(), braid::Env::get().transports().c_str());
  std::printf("# a node's local ranks by NUMA node:");
  for (int local = 0; local < perNode; ++local) std::printf(" %d", at[static_cast<std::size_t>(local)].numa);
  std::printf("\n%-12s %-10s %8s  %s\n", "link", "transport", "pairs", "example");
  for (const auto& [key, c] : classes)
    std::printf("%-12s %-10s %8d  %d-%d\n", braid::toString(key.first), key.second.c_str(), c.pairs, c.firstRank,
                c.firstPeer);
  if (classes.empty()) std::printf("(one rank: no pairs)\n");
}

void printTransportsInUse() {
  braid::Communicator comm = braid::Communicator::fromEnvironment();
  const int n = comm.size();
  // One fixed-size record per rank: its host name, then a transport name per peer.
  constexpr std::size_t kHostBytes = 64, kNameBytes = 8;
  const std::size_t recordBytes = kHostBytes + kNameBytes * static_cast<std::size_t>(n);
  std::vector<char> mine(recordBytes, '\0');
  std::strncpy(mine.data(), braid::hostName().c_str(), kHostBytes - 1);
  for (int p = 0; p < n; ++p)
    std::strncpy(mine.data() + kHostBytes + kNameBytes * static_cast<std::size_t>(p), comm.transportTo(p),
                 kNameBytes - 1);
  std::vector<char> all(recordBytes * static_cast<std::size_t>(n));
  comm.allGather(mine.data(), all.data(), recordBytes, braid::DataType::Uint8);
  if (comm.rank() != 0) return;

  std::printf("# transports in use: %d ranks, BRAID_TRANSPORTS=%s\n%-5s %-20s to rank:", n,
              braid::Env::get().transports().c_str(), "rank", "host");
  for (int p = 0; p < n; ++p) std::printf(" %5d", p);
  std::printf("\n");
  for (int r = 0; r < n; ++r) {
    const char* record = all.data() + recordBytes * static_cast<std::size_t>(r);
    std::printf("%-5d %-20s         ", r, record);
    for (int p = 0; p < n; ++p) std::printf(" %5s", record + kHostBytes + kNameBytes * static_cast<std::size_t>(p));
    std::printf("\n");
  }
}

}  // namespace probe
