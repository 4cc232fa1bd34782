// Settings every rank must share are checked on the gathered peer table: all ranks
// refuse together, naming the setting and who holds which value.
#include "bootstrap/peer_table.h"
#include "core/shared_settings.h"
#include "topology/tuning_file.h"
#include "peer_tables.h"
#include "scoped_env.h"

#include <braid/error.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace braid {
namespace {

using testing::blankPeerTable;
using testing::ScopedEnv;

// The message of the refusal, "" when the table is accepted.
std::string refusal(const std::vector<PeerInfo>& peers, int rank) {
  try {
    requireSharedSettings(peers, rank);
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

TEST(SharedSettings, RanksThatSetBraidAlgoDifferentlyAreRefusedNamingWho) {
  ScopedEnv noAlgo("BRAID_ALGO", nullptr);
  std::vector<PeerInfo> peers = blankPeerTable(4);
  EXPECT_EQ(refusal(peers, 0), "");
  peers[3].algoDigest = 77;
  const std::string why = refusal(peers, 1);
  EXPECT_NE(why.find("rank 1: ranks disagree on BRAID_ALGO (this rank's: '')"), std::string::npos) << why;
  EXPECT_NE(why.find("(ranks 0-2: unset; rank 3: variant #1)"), std::string::npos) << why;
}

TEST(SharedSettings, RanksThatCheckCallsDifferentlyAreRefused) {
  std::vector<PeerInfo> peers = blankPeerTable(3);
  for (PeerInfo& p : peers) p.checkLevel = 1;
  EXPECT_EQ(refusal(peers, 2), "");
  peers[1].checkLevel = 2;
  const std::string why = refusal(peers, 2);
  EXPECT_NE(why.find("rank 2: ranks disagree on BRAID_CHECK (ranks 0,2: on; rank 1: full)"), std::string::npos)
      << why;
}

TEST(SharedSettings, RanksThatRunGpuCallsInDifferentPlacesAreRefused) {
  std::vector<PeerInfo> peers = blankPeerTable(2);
  peers[1].cudaIpc = 1;
  const std::string why = refusal(peers, 0);
  EXPECT_NE(why.find("ranks disagree on BRAID_CUDA_IPC (rank 0: 0; rank 1: 1)"), std::string::npos) << why;
}

TEST(SharedSettings, RanksWithDifferentChunksOrTuningFilesAreRefused) {
  std::vector<PeerInfo> peers = blankPeerTable(2);
  peers[0].chunkBytes = 1 << 20;
  std::string why = refusal(peers, 0);
  EXPECT_NE(why.find("ranks disagree on BRAID_CHUNK (rank 0: 1048576 bytes; rank 1: unset)"),
            std::string::npos) << why;
  peers[0].chunkBytes = 0;
  peers[1].tuningDigest = 5;
  why = refusal(peers, 0);
  EXPECT_NE(why.find("ranks disagree on the contents of BRAID_TUNING_FILE"), std::string::npos) << why;
}

// This process's PeerInfo under the settings in force.
PeerInfo described() {
  PeerInfo me;
  describeSharedSettings(me, 0);
  return me;
}

TEST(SharedSettings, ARankDescribesItsOwnSettings) {
  ScopedEnv check("BRAID_CHECK", nullptr);
  ScopedEnv algo("BRAID_ALGO", nullptr);
  ScopedEnv chunk("BRAID_CHUNK", nullptr);
  ScopedEnv file("BRAID_TUNING_FILE", nullptr);
  const PeerInfo unset = described();
  EXPECT_EQ(unset.checkLevel, 1u);  // on, the default
  EXPECT_EQ(unset.algoDigest, 0u);
  EXPECT_EQ(unset.chunkBytes, 0u);
  EXPECT_EQ(unset.tuningDigest, 0u);
  ScopedEnv full("BRAID_CHECK", "full");
  ScopedEnv ring("BRAID_ALGO", "ring");
  ScopedEnv slice("BRAID_CHUNK", "256K");
  const PeerInfo set = described();
  EXPECT_EQ(set.checkLevel, 2u);
  EXPECT_NE(set.algoDigest, 0u);
  EXPECT_EQ(set.chunkBytes, 256u * 1024);
}

TEST(SharedSettings, AlgoTextThatMeansTheSameAgrees) {
  auto digest = [](const char* text) {
    ScopedEnv algo("BRAID_ALGO", text);
    return described().algoDigest;
  };
  EXPECT_EQ(digest("ring,tree"), digest(" Tree , RING "));
  EXPECT_EQ(digest("allreduce:0-64K:tree,64K-:ring"), digest("AllReduce:64k-:ring,0-65536:tree"));
  EXPECT_NE(digest("ring,tree"), digest("ring"));
  EXPECT_NE(digest("allreduce:0-64K:tree,64K-:ring"), digest("allreduce:0-32K:tree,32K-:ring"));
  // Touching ranges of one algorithm are one range; a gap between them is not.
  EXPECT_EQ(digest("allreduce:0-64K:ring,64K-1M:ring,1M-:tree"), digest("allreduce:0-1M:ring,1M-:tree"));
  EXPECT_EQ(digest("allreduce:0-64K:ring,64K-:ring"), digest("allreduce:ring"));
  EXPECT_NE(digest("allreduce:0-64K:ring,128K-:ring"), digest("allreduce:ring"));
  EXPECT_NE(digest("allreduce:ring"), digest("ring")) << "a plain list acts on every collective";
  EXPECT_EQ(digest(" "), 0u);  // overrides nothing: as if unset
}

TEST(SharedSettings, TuningFilesAgreeByWhatTheyHoldNotHowTheyAreSpaced) {
  const std::string dir = ::testing::TempDir();
  Tuning tuning;
  tuning.model.reduceGBps = 3.5;
  saveTuning(dir + "braid_shared_a.json", tuning);
  std::string squeezed = tuningJson(tuning);  // the same JSON without its blanks
  squeezed.erase(std::remove_if(squeezed.begin(), squeezed.end(), [](char c) { return c == ' ' || c == '\n'; }),
                 squeezed.end());
  std::ofstream(dir + "braid_shared_b.json") << squeezed;
  auto digest = [&](const std::string& name) {
    ScopedEnv file("BRAID_TUNING_FILE", dir + name);
    return described().tuningDigest;
  };
  EXPECT_NE(digest("braid_shared_a.json"), 0u);
  EXPECT_EQ(digest("braid_shared_a.json"), digest("braid_shared_b.json"));
  tuning.model.reduceGBps = 4;
  saveTuning(dir + "braid_shared_b.json", tuning);
  EXPECT_NE(digest("braid_shared_a.json"), digest("braid_shared_b.json"));
  std::remove((dir + "braid_shared_a.json").c_str());
  std::remove((dir + "braid_shared_b.json").c_str());
}

TEST(SharedSettings, AnAliasIsNamedAsTheUserSetIt) {
  ScopedEnv unsetAlgo("BRAID_ALGO", nullptr);
  ScopedEnv alias("NCCL_ALGO", "ring");
  std::vector<PeerInfo> peers = blankPeerTable(2);
  peers[0] = described();
  peers[0].rank = 0;
  peers[1].checkLevel = peers[0].checkLevel;
  const std::string why = refusal(peers, 0);
  EXPECT_NE(why.find("ranks disagree on NCCL_ALGO (this rank's: 'ring') (rank 0: variant #1; rank 1: unset)"),
            std::string::npos) << why;
}

TEST(SharedSettings, APeerTableWithAnUnknownCheckLevelIsRefused) {
  PeerInfo p;
  p.rank = 0;
  std::strcpy(p.hostId, "h");
  p.checkLevel = 3;
  const auto* b = reinterpret_cast<const unsigned char*>(&p);
  EXPECT_THROW(decodePeerTable(std::vector<unsigned char>(b, b + sizeof p), 1, 0), RemoteError);
}

}  // namespace
}  // namespace braid
