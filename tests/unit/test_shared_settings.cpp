// Settings every rank must share are checked on the gathered peer table: all ranks
// refuse together, naming the setting and who holds which value. A rank that fails
// before the gather tells the others through its entry.
#include "bootstrap/peer_table.h"
#include "core/setup_failure.h"
#include "core/shared_settings.h"
#include "topology/tuning_file.h"
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
  EXPECT_NE(why.find("(ranks 0-2: unset; rank 3: variant #1)"), std::string::npos) << why;
}

TEST(SharedSettings, RanksThatCheckCallsDifferentlyAreRefused) {
  std::vector<PeerInfo> peers = ranks(3);
  for (PeerInfo& p : peers) p.checkLevel = 1;
  EXPECT_EQ(refusal(peers, 2), "");
  peers[1].checkLevel = 2;
  const std::string why = refusal(peers, 2);
  EXPECT_NE(why.find("rank 2: ranks disagree on BRAID_CHECK (ranks 0,2: on; rank 1: full)"), std::string::npos)
      << why;
}

TEST(SharedSettings, RanksThatRunGpuCallsInDifferentPlacesAreRefused) {
  std::vector<PeerInfo> peers = ranks(2);
  peers[1].cudaIpc = 1;
  const std::string why = refusal(peers, 0);
  EXPECT_NE(why.find("ranks disagree on BRAID_CUDA_IPC (rank 0: 0; rank 1: 1)"), std::string::npos) << why;
}

TEST(SharedSettings, RanksWithDifferentChunksOrTuningFilesAreRefused) {
  std::vector<PeerInfo> peers = ranks(2);
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
  std::vector<PeerInfo> peers = ranks(2);
  peers[0] = described();
  peers[0].rank = 0;
  peers[1].checkLevel = peers[0].checkLevel;
  const std::string why = refusal(peers, 0);
  EXPECT_NE(why.find("ranks disagree on NCCL_ALGO (this rank's: 'ring') (rank 0: variant #1; rank 1: unset)"),
            std::string::npos) << why;
}

// What rank `rank` of `peers` throws after the gather: "" when it goes on.
std::string setupOutcome(const SetupFailure& setup, const std::vector<PeerInfo>& peers, int rank) {
  try {
    setup.raise(peers, rank);
  } catch (const Error& e) {
    return std::string(e.kind() == ErrorKind::Remote ? "remote: " : "own: ") + e.what();
  }
  return "";
}

TEST(SetupFailure, ARankThatCannotReadItsSettingsSaysWhyAndTheOthersNameIt) {
  ScopedEnv file("BRAID_TUNING_FILE", ::testing::TempDir() + "braid_no_such_tuning_file.json");
  std::vector<PeerInfo> peers = ranks(3);
  SetupFailure failing, fine;
  failing.attempt(peers[1], [&] { describeSharedSettings(peers[1], 1); });
  bool later = false;
  failing.attempt(peers[1], [&] { later = true; });
  EXPECT_FALSE(later) << "a step after a failure ran";
  const std::string entry = peers[1].setupError;
  EXPECT_EQ(entry.rfind("BRAID_TUNING_FILE: ", 0), 0u) << "the entry, without its own 'rank 1:': " << entry;

  const std::string own = setupOutcome(failing, peers, 1);
  EXPECT_EQ(own.rfind("own: rank 1: BRAID_TUNING_FILE: ", 0), 0u) << own;
  for (int r : {0, 2}) {
    const std::string other = setupOutcome(fine, peers, r);
    EXPECT_EQ(other, "remote: rank " + std::to_string(r) + ": the communicator cannot be set up: rank 1 failed "
                     "before the ranks connected (" + entry + ")");
  }
}

TEST(SetupFailure, RanksThatFailedAlikeShareOneAccount) {
  std::vector<PeerInfo> peers = ranks(5);
  for (int r : {1, 2, 4}) {
    SetupFailure s;
    s.attempt(peers[r], [&] { throw InvalidArgument("rank " + std::to_string(r) + ": BRAID_CHUNK: 'x' is bad"); });
  }
  SetupFailure s3;
  s3.attempt(peers[3], [] { throw SystemError("shm: no room in /dev/shm"); });
  const std::string why = setupOutcome(SetupFailure{}, peers, 0);
  EXPECT_NE(why.find(": ranks 1,2,4 failed before the ranks connected (BRAID_CHUNK: 'x' is bad); rank 3 failed "
                     "before the ranks connected (shm: no room in /dev/shm)"), std::string::npos) << why;
  EXPECT_EQ(setupOutcome(SetupFailure{}, ranks(5), 0), "") << "a clean table goes on";
  // Its own error keeps its kind, and names the rank where its text did not.
  EXPECT_THROW(s3.raise(peers, 3), SystemError);
  EXPECT_EQ(setupOutcome(s3, peers, 3), "own: rank 3: shm: no room in /dev/shm");
}

TEST(SetupFailure, ALongOrUnprintableErrorIsOneLineThatTheTableAccepts) {
  std::vector<PeerInfo> peers = ranks(1);
  std::strcpy(peers[0].hostId, "h");
  SetupFailure s;
  s.attempt(peers[0], [] { throw InvalidArgument("line one\nline two \x01 " + std::string(1000, 'z')); });
  const std::string entry = peers[0].setupError;
  EXPECT_EQ(entry.size(), sizeof peers[0].setupError - 1);
  EXPECT_EQ(entry.rfind("line one line two   zz", 0), 0u) << entry;
  EXPECT_EQ(entry.substr(entry.size() - 3), "...");
  const auto* b = reinterpret_cast<const unsigned char*>(&peers[0]);
  EXPECT_NO_THROW(decodePeerTable(std::vector<unsigned char>(b, b + sizeof peers[0]), 1, 0));

  peers[0].setupError[3] = '\n';  // as a corrupted or hostile peer might send it
  EXPECT_THROW(decodePeerTable(std::vector<unsigned char>(b, b + sizeof peers[0]), 1, 0), RemoteError);
  std::memset(peers[0].setupError, 'a', sizeof peers[0].setupError);  // unterminated
  EXPECT_THROW(decodePeerTable(std::vector<unsigned char>(b, b + sizeof peers[0]), 1, 0), RemoteError);
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
