// Real ranks as processes (braidrun): a rank that skips a collective is named, with its
// last call, in the others' TimeoutError; a rank whose process ends between calls is
// named by the others' asyncError(), and abort() with that dead peer is prompt.
#include "braidrun_fixture.h"

#include <gtest/gtest.h>

#ifndef FAULT_JOB_PATH
#error "FAULT_JOB_PATH must name the fault_job program"
#endif

namespace {

using namespace braid::testing;
using namespace std::chrono_literals;

class FaultJob : public BraidrunTest, public ::testing::WithParamInterface<const char*> {
 protected:
  std::string resultOf(int rank) { return readFile(dir_ / ("result." + std::to_string(rank))); }
};

TEST_P(FaultJob, TimeoutNamesTheRankThatNeverArrivedAndItsLastCall) {
  const int n = 4;
  Result r = run({"-n", std::to_string(n), FAULT_JOB_PATH, "skip", dir_.string()}, 60s,
                 {{"BRAID_TRANSPORTS", GetParam()}, {"BRAID_TIMEOUT", "2s"}});
  ASSERT_TRUE(r.finished) << r.err;
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_LT(r.seconds, 20.0);
  for (int rank = 0; rank < n - 1; ++rank) {
    const std::string m = resultOf(rank);
    EXPECT_EQ(m.rfind("call: TimeoutError: ", 0), 0u) << "rank " << rank << ": " << m;
    EXPECT_NE(m.find("rank 3 ("), std::string::npos) << m;
    EXPECT_NE(m.find("never arrived at all-reduce #2 (count 1024, float, sum): its last call was all-reduce #1 "
                     "(count 1024, float, sum), completed; idle for"),
              std::string::npos)
        << "rank " << rank << ": " << m;
  }
  const std::string idle = resultOf(n - 1);
  EXPECT_EQ(idle.rfind("async: TimeoutError: ", 0), 0u) << idle;
}

TEST_P(FaultJob, PeerGoneWhileIdleIsNamedAndAbortIsPrompt) {
  const int n = 3;
  Result r = run({"-n", std::to_string(n), FAULT_JOB_PATH, "idle-exit", dir_.string()}, 60s,
                 {{"BRAID_TRANSPORTS", GetParam()}, {"BRAID_TIMEOUT", "30s"}});
  ASSERT_TRUE(r.finished) << r.err;
  EXPECT_EQ(r.exitCode, 0) << r.err;
  for (int rank : {0, 2}) {
    const std::string m = resultOf(rank);
    EXPECT_NE(m.find("async: RemoteError: rank 1 ("), std::string::npos) << "rank " << rank << ": " << m;
    EXPECT_NE(m.find("is gone"), std::string::npos) << m;
    EXPECT_NE(m.find("after-abort: AbortedError: rank " + std::to_string(rank)), std::string::npos) << m;
    auto at = m.find("abort-ms: ");
    ASSERT_NE(at, std::string::npos) << m;
    const long ms = std::stol(m.substr(at + 10));
    EXPECT_LT(ms, 1000) << m;
    std::printf("%s: rank %d: abort() with a dead peer took %ld ms\n", GetParam(), rank, ms);
  }
}

TEST_P(FaultJob, AnotherCollectiveOnOneRankIsReportedByEveryRankWithEitherCheck) {
  const int n = 3;
  for (const char* check : {"on", "full"}) {
    Result r = run({"-n", std::to_string(n), FAULT_JOB_PATH, "mismatch", dir_.string()}, 60s,
                   {{"BRAID_TRANSPORTS", GetParam()}, {"BRAID_TIMEOUT", "20s"}, {"BRAID_CHECK", check}});
    ASSERT_TRUE(r.finished) << r.err;
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_LT(r.seconds, 10.0) << "a rank waited for its timeout";
    for (int rank = 0; rank < n; ++rank) {
      const std::string m = resultOf(rank);
      // A rank still finishing call #1 when the others clash at #2 is stopped there: the
      // communicator is broken either way, and the error must still say who called what.
      EXPECT_TRUE(m.rfind("call: RemoteError: ", 0) == 0 || m.rfind("setup: RemoteError: ", 0) == 0)
          << check << ", rank " << rank << ": " << m;
      EXPECT_NE(m.find("all-gather #2 (count 1024, float)"), std::string::npos) << check << ", rank " << rank << ": " << m;
      EXPECT_NE(m.find("all-reduce #2 (count 1024, float, sum)"), std::string::npos) << check << ", rank " << rank << ": " << m;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, FaultJob, ::testing::Values("shm", "tcp"));

}  // namespace
