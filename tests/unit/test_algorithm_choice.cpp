// Every rank builds its tuners from the gathered peer table alone, so ranks on unlike
// hosts still choose alike; settings that would make them choose differently are
// refused at init.
#include "bootstrap/peer_table.h"
#include "core/algorithm_choice.h"
#include "scoped_env.h"

#include <braid/error.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
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

std::string refusal(const std::vector<PeerInfo>& peers, int rank) {
  try {
    makeAlgorithmChoice(peers, rank);
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
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

TEST(AlgorithmChoice, RanksThatSetBraidAlgoDifferentlyAreRefusedNamingWho) {
  ScopedEnv noAlgo("BRAID_ALGO", nullptr);
  std::vector<PeerInfo> peers = table(4, {0});
  EXPECT_EQ(refusal(peers, 0), "");
  peers[3].algoDigest = 77;
  const std::string why = refusal(peers, 1);
  EXPECT_NE(why.find("rank 1: ranks disagree on BRAID_ALGO"), std::string::npos) << why;
  EXPECT_NE(why.find("ranks 0-2 leave it unset; ranks 3 use variant #2"), std::string::npos) << why;
}

TEST(AlgorithmChoice, RanksWithDifferentChunksOrTuningFilesAreRefused) {
  std::vector<PeerInfo> peers = table(2, {0});
  peers[0].chunkBytes = 1 << 20;
  std::string why = refusal(peers, 0);
  EXPECT_NE(why.find("ranks disagree on BRAID_CHUNK (ranks 0 use 1048576 bytes; ranks 1 leave it unset)"),
            std::string::npos) << why;
  peers[0].chunkBytes = 0;
  peers[1].tuningDigest = 5;
  why = refusal(peers, 0);
  EXPECT_NE(why.find("ranks disagree on the contents of BRAID_TUNING_FILE"), std::string::npos) << why;
}

TEST(AlgorithmChoice, ARankDescribesTheSettingsItChoosesWith) {
  const std::string path = ::testing::TempDir() + "braid_choice_tuning.json";
  PeerInfo unset, set, edited;
  {
    ScopedEnv algo("BRAID_ALGO", nullptr);
    ScopedEnv chunk("BRAID_CHUNK", nullptr);
    ScopedEnv file("BRAID_TUNING_FILE", nullptr);
    describeRank(unset, "");
  }
  EXPECT_EQ(unset.algoDigest, 0u);
  EXPECT_EQ(unset.chunkBytes, 0u);
  EXPECT_EQ(unset.tuningDigest, 0u);
  EXPECT_EQ(unset.gpu, -1);
  EXPECT_GE(unset.networkGBps, 0);
  std::ofstream(path) << "{}";
  {
    ScopedEnv algo("BRAID_ALGO", "allreduce=ring");
    ScopedEnv chunk("BRAID_CHUNK", "256K");
    ScopedEnv file("BRAID_TUNING_FILE", path);
    describeRank(set, "");
    std::ofstream(path) << "{ }";  // the same path, other contents
    describeRank(edited, "");
  }
  EXPECT_NE(set.algoDigest, 0u);
  EXPECT_EQ(set.chunkBytes, 256u * 1024);
  EXPECT_NE(set.tuningDigest, 0u);
  EXPECT_NE(edited.tuningDigest, set.tuningDigest);
  std::remove(path.c_str());
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
