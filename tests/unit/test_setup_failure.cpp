// A rank that fails before the peer-table gather tells the others through its entry:
// every rank then fails at the same point, the others naming it and its error.
#include "bootstrap/peer_table.h"
#include "core/setup_failure.h"
#include "core/shared_settings.h"
#include "peer_tables.h"
#include "scoped_env.h"

#include <braid/error.h>
#include <gtest/gtest.h>

#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace braid {
namespace {

using testing::blankPeerTable;
using testing::ScopedEnv;

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
  std::vector<PeerInfo> peers = blankPeerTable(3);
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
  std::vector<PeerInfo> peers = blankPeerTable(5);
  for (int r : {1, 2, 4}) {
    SetupFailure s;
    s.attempt(peers[r], [&] { throw InvalidArgument("rank " + std::to_string(r) + ": BRAID_CHUNK: 'x' is bad"); });
  }
  SetupFailure s3;
  s3.attempt(peers[3], [] { throw SystemError("shm: no room in /dev/shm"); });
  const std::string why = setupOutcome(SetupFailure{}, peers, 0);
  EXPECT_NE(why.find(": ranks 1,2,4 failed before the ranks connected (BRAID_CHUNK: 'x' is bad); rank 3 failed "
                     "before the ranks connected (shm: no room in /dev/shm)"), std::string::npos) << why;
  EXPECT_EQ(setupOutcome(SetupFailure{}, blankPeerTable(5), 0), "") << "a clean table goes on";
  // Its own error keeps its kind, and names the rank where its text did not.
  EXPECT_THROW(s3.raise(peers, 3), SystemError);
  EXPECT_EQ(setupOutcome(s3, peers, 3), "own: rank 3: shm: no room in /dev/shm");
}

TEST(SetupFailure, AnyExceptionIsToldNotOnlyBraidErrors) {
  std::vector<PeerInfo> peers = blankPeerTable(2);
  SetupFailure s;
  s.attempt(peers[1], [] { throw std::bad_alloc(); });
  EXPECT_THROW(s.raise(peers, 1), std::bad_alloc);
  EXPECT_NE(setupOutcome(SetupFailure{}, peers, 0).find("rank 1 failed before the ranks connected (std::bad_alloc)"),
            std::string::npos);
}

TEST(SetupFailure, ALongOrUnprintableErrorIsOneLineThatTheTableAccepts) {
  std::vector<PeerInfo> peers = blankPeerTable(1);
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

}  // namespace
}  // namespace braid
