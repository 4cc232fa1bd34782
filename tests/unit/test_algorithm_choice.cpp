// Every rank builds its tuners from the gathered peer table alone, so ranks on unlike
// hosts still choose alike.
#include "bootstrap/peer_table.h"
#include "core/algorithm_choice.h"

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

double ringUs(const std::vector<PeerInfo>& peers, const TunerSettings& settings = {}) {
  return makeAlgorithmChoice(peers, settings).tuner->predictUs(Collective::AllReduce, Algorithm::Ring, 256 * M, 4 * M);
}

TEST(LinkSpeeds, TheJobTakesTheSlowestHostOfEachLinkAndIgnoresUnknowns) {
  const LinkSpeeds job = slowestOf({{50, 0}, {0, 450}, {12.5, 900}, {25, 0}});
  EXPECT_EQ(job.networkGBps, 12.5);
  EXPECT_EQ(job.nvlinkGBps, 450);
  EXPECT_EQ(slowestOf({{0, 0}, {0, 0}}).networkGBps, 0);
}

TEST(AlgorithmChoice, RanksOnUnlikeHostsPriceTheNetworkAtItsSlowest) {
  // What every rank builds from this table, whatever its own host: before, each rank
  // priced the network with its own NIC.
  const std::vector<PeerInfo> mixed = table(2, {50, 12.5});
  EXPECT_EQ(ringUs(mixed), ringUs(table(2, {12.5, 12.5})));
  EXPECT_GT(ringUs(mixed), ringUs(table(2, {50, 50})));
  // No host knew its NIC: the built-in cost.
  const double builtIn = CostModel::defaults().link(LinkClass::Network).gbPerSec;
  EXPECT_EQ(ringUs(table(2, {0, 0})), ringUs(table(2, {builtIn, 0})));
}

TEST(AlgorithmChoice, ATuningFilesLinkCostsStandWhateverTheHostsReport) {
  TunerSettings fromFile;
  fromFile.tuningFile = "tuning.json";
  fromFile.tuning = Tuning{};
  fromFile.tuning->model.links[static_cast<std::size_t>(LinkClass::Network)].gbPerSec = 3;
  EXPECT_EQ(ringUs(table(2, {50, 50}), fromFile), ringUs(table(2, {12.5, 12.5}), fromFile));
  EXPECT_GT(ringUs(table(2, {50, 50}), fromFile), ringUs(table(2, {12.5, 12.5})));
  EXPECT_EQ(costModels(fromFile, {}).source, "BRAID_TUNING_FILE=tuning.json");
}

TEST(AlgorithmChoice, NvlinkIsPricedAtTheSlowestHostsToo) {
  // Two hosts of two ranks, each pair on two GPUs joined by NVLink.
  std::vector<PeerInfo> peers = table(2, {0, 0});
  for (int r = 0; r < 4; ++r) peers[r].gpu = r % 2, peers[r].nvlinkDomain = 0;
  auto gpuAllGatherUs = [&](double hostA, double hostB) {
    for (int r = 0; r < 4; ++r) peers[r].nvlinkGBps = r < 2 ? hostA : hostB;
    // One rank per node talks over the network; the other step is NVLink's.
    return makeAlgorithmChoice(peers, {}).gpuTuner->predictUs(Collective::AllGather, Algorithm::Hierarchical,
                                                              256 * M, 4 * M);
  };
  EXPECT_EQ(gpuAllGatherUs(450, 50), gpuAllGatherUs(50, 50));
  EXPECT_GT(gpuAllGatherUs(450, 50), gpuAllGatherUs(450, 450));
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
