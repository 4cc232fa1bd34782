// Every rank builds its tuners from the gathered peer table alone, so ranks on unlike
// hosts still choose alike.
#include "bootstrap/peer_table.h"
#include "core/algorithm_choice.h"
#include "scoped_env.h"

#include <braid/error.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace braid {
namespace {

using testing::ScopedEnv;

constexpr std::size_t M = 1024 * 1024;

// `perHost` ranks on each host, host h reporting `networkGBps[h]`.
std::vector<PeerInfo> table(int perHost, const std::vector<double>& networkGBps) {
  std::vector<PeerInfo> peers;
  for (std::size_t h = 0; h < networkGBps.size(); ++h)
    for (int i = 0; i < perHost; ++i) {
      PeerInfo p;
      p.rank = static_cast<int>(peers.size());
      std::snprintf(p.hostId, sizeof p.hostId, "host-%zu", h);
      p.networkGBps = networkGBps[h];
      peers.push_back(p);
    }
  return peers;
}

double ringUs(const std::vector<PeerInfo>& peers, int rank) {
  return makeAlgorithmChoice(peers, rank).tuner->predictUs(Collective::AllReduce, Algorithm::Ring, 256 * M, 4 * M);
}

TEST(LinkSpeeds, TheJobTakesTheSlowestHostOfEachLinkAndIgnoresUnknowns) {
  const LinkSpeeds job = slowestOf({{50, 0}, {0, 450}, {12.5, 900}, {25, 0}});
  EXPECT_EQ(job.networkGBps, 12.5);
  EXPECT_EQ(job.nvlinkGBps, 450);
  EXPECT_EQ(slowestOf({{0, 0}, {0, 0}}).networkGBps, 0);
}

TEST(AlgorithmChoice, RanksOnUnlikeHostsPriceTheNetworkAlikeAtItsSlowest) {
  ScopedEnv noFile("BRAID_TUNING_FILE", nullptr);
  const std::vector<PeerInfo> mixed = table(2, {50, 12.5});
  // Each rank used to price the network with its own NIC: ranks 0 and 2 disagreed.
  EXPECT_EQ(ringUs(mixed, 0), ringUs(mixed, 2));
  EXPECT_EQ(ringUs(mixed, 0), ringUs(table(2, {12.5, 12.5}), 0));
  EXPECT_GT(ringUs(mixed, 0), ringUs(table(2, {50, 50}), 0));
  // No host knew its NIC: the built-in cost.
  const double builtIn = CostModel::defaults().link(LinkClass::Network).gbPerSec;
  EXPECT_EQ(ringUs(table(2, {0, 0}), 0), ringUs(table(2, {builtIn, 0}), 0));
}

TEST(AlgorithmChoice, NvlinkIsPricedAtTheSlowestHostsToo) {
  ScopedEnv noFile("BRAID_TUNING_FILE", nullptr);
  std::vector<PeerInfo> peers = table(2, {0});
  for (int r = 0; r < 2; ++r) peers[r].gpu = r, peers[r].nvlinkDomain = 0;
  auto gpuRingUs = [&](double a, double b) {
    peers[0].nvlinkGBps = a;
    peers[1].nvlinkGBps = b;
    return makeAlgorithmChoice(peers, 1).gpuTuner->predictUs(Collective::AllReduce, Algorithm::Ring, 256 * M, 4 * M);
  };
  EXPECT_EQ(gpuRingUs(450, 50), gpuRingUs(50, 50));
  EXPECT_GT(gpuRingUs(450, 50), gpuRingUs(450, 450));
}

TEST(AlgorithmChoice, ARankDescribesItsHostsLinkSpeedsAndNoGpuWithoutOne) {
  PeerInfo me;
  describeRank(me, "");
  const LinkSpeeds probed = linkSpeedsOf(currentTopology());
  EXPECT_EQ(me.networkGBps, probed.networkGBps);
  EXPECT_EQ(me.nvlinkGBps, probed.nvlinkGBps);
  EXPECT_EQ(me.gpu, -1);
  EXPECT_EQ(me.nvlinkDomain, -1);
  PeerInfo unlisted;
  describeRank(unlisted, "0000:ff:1f.7");  // a GPU this machine's topology does not list
  EXPECT_GE(unlisted.gpu, 1 << 15);
}

TEST(AlgorithmChoice, APeerTableWithAnImpossibleLinkSpeedIsRefused) {
  PeerInfo p;
  p.rank = 0;
  std::strcpy(p.hostId, "h");
  auto bytes = [](const PeerInfo& info) {
    const auto* b = reinterpret_cast<const unsigned char*>(&info);
    return std::vector<unsigned char>(b, b + sizeof info);
  };
  EXPECT_NO_THROW(decodePeerTable(bytes(p), 1, 0));
  for (double bad : {-1.0, std::numeric_limits<double>::quiet_NaN(), 1e9}) {
    p.networkGBps = bad;
    EXPECT_THROW(decodePeerTable(bytes(p), 1, 0), RemoteError) << bad;
    p.networkGBps = 0;
    p.nvlinkGBps = bad;
    EXPECT_THROW(decodePeerTable(bytes(p), 1, 0), RemoteError) << bad;
    p.nvlinkGBps = 0;
  }
}

}  // namespace
}  // namespace braid
