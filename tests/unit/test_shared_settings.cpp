// Settings every rank must share are checked on the gathered peer table: all ranks
// refuse together, naming the setting and who holds which value.
#include "bootstrap/peer_table.h"
#include "core/shared_settings.h"
#include "scoped_env.h"

#include <braid/error.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace braid {
namespace {

using testing::ScopedEnv;

std::vector<PeerInfo> ranks(int n) {
  std::vector<PeerInfo> peers(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) peers[r].rank = r;
  return peers;
}

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
  std::vector<PeerInfo> peers = ranks(4);
  EXPECT_EQ(refusal(peers, 0), "");
  peers[3].algoDigest = 77;
  const std::string why = refusal(peers, 1);
  EXPECT_NE(why.find("rank 1: ranks disagree on BRAID_ALGO (this rank's: '')"), std::string::npos) << why;
  EXPECT_NE(why.find("(ranks 0-2 leave it unset; ranks 3 use variant #2)"), std::string::npos) << why;
}

TEST(SharedSettings, RanksThatCheckCallsDifferentlyAreRefused) {
  std::vector<PeerInfo> peers = ranks(3);
  for (PeerInfo& p : peers) p.checkLevel = 1;
  EXPECT_EQ(refusal(peers, 2), "");
  peers[1].checkLevel = 2;
  const std::string why = refusal(peers, 2);
  EXPECT_NE(why.find("rank 2: ranks disagree on BRAID_CHECK (ranks 0,2 use on; ranks 1 use full)"), std::string::npos)
      << why;
}

TEST(SharedSettings, RanksWithDifferentChunksOrTuningFilesAreRefused) {
  std::vector<PeerInfo> peers = ranks(2);
  peers[0].chunkBytes = 1 << 20;
  std::string why = refusal(peers, 0);
  EXPECT_NE(why.find("ranks disagree on BRAID_CHUNK (ranks 0 use 1048576 bytes; ranks 1 leave it unset)"),
            std::string::npos) << why;
  peers[0].chunkBytes = 0;
  peers[1].tuningDigest = 5;
  why = refusal(peers, 0);
  EXPECT_NE(why.find("ranks disagree on the contents of BRAID_TUNING_FILE"), std::string::npos) << why;
}

TEST(SharedSettings, ARankDescribesItsOwnSettings) {
  const std::string path = ::testing::TempDir() + "braid_shared_settings_tuning.json";
  PeerInfo unset, set, edited;
  {
    ScopedEnv check("BRAID_CHECK", nullptr);
    ScopedEnv algo("BRAID_ALGO", nullptr);
    ScopedEnv chunk("BRAID_CHUNK", nullptr);
    ScopedEnv file("BRAID_TUNING_FILE", nullptr);
    describeSharedSettings(unset);
  }
  EXPECT_EQ(unset.checkLevel, 1u);  // on, the default
  EXPECT_EQ(unset.algoDigest, 0u);
  EXPECT_EQ(unset.chunkBytes, 0u);
  EXPECT_EQ(unset.tuningDigest, 0u);
  std::ofstream(path) << "{}";
  {
    ScopedEnv check("BRAID_CHECK", "full");
    ScopedEnv algo("BRAID_ALGO", "allreduce=ring");
    ScopedEnv chunk("BRAID_CHUNK", "256K");
    ScopedEnv file("BRAID_TUNING_FILE", path);
    describeSharedSettings(set);
    std::ofstream(path) << "{ }";  // the same path, other contents
    describeSharedSettings(edited);
  }
  EXPECT_EQ(set.checkLevel, 2u);
  EXPECT_NE(set.algoDigest, 0u);
  EXPECT_EQ(set.chunkBytes, 256u * 1024);
  EXPECT_NE(set.tuningDigest, 0u);
  EXPECT_NE(edited.tuningDigest, set.tuningDigest);
  EXPECT_EQ(edited.algoDigest, set.algoDigest);
  std::remove(path.c_str());
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
