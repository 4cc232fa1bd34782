// Real ranks as processes under braidrun: every collective x datatype x op x size,
// in and out of place, over shm and over tcp, checked exactly by collective_check;
// and a rank killed mid-operation ends the job promptly, naming that rank.
#include "braidrun_fixture.h"

#include <gtest/gtest.h>

#include <signal.h>

#include <regex>

#ifndef COLLECTIVE_CHECK_PATH
#error "COLLECTIVE_CHECK_PATH must name the collective_check program"
#endif
#ifndef ALLREDUCE_LOOP_PATH
#error "ALLREDUCE_LOOP_PATH must name the allreduce_loop program"
#endif

namespace {

using namespace braid::testing;
using namespace std::chrono_literals;

// Every rank must report its checks with none failed.
void expectAllRanksPassed(const Result& r, int ranks) {
  ASSERT_TRUE(r.finished) << "still running at the limit\n" << r.err;
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  std::regex line(R"(rank (\d+): (\d+) checks, 0 failed)");
  int passed = 0;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), line); it != std::sregex_iterator(); ++it) {
    EXPECT_GT(std::stol((*it)[2]), 100) << "too few checks ran";
    ++passed;
  }
  EXPECT_EQ(passed, ranks) << r.out << r.err;
}

struct Shape {
  const char* transport;
  int ranks;
};

class Collectives : public BraidrunTest, public ::testing::WithParamInterface<Shape> {};

TEST_P(Collectives, EveryCollectiveTypeOpAndSizeIsExact) {
  auto [transport, ranks] = GetParam();
  Result r = run({"-n", std::to_string(ranks), COLLECTIVE_CHECK_PATH}, 300s,
                 {{"BRAID_TRANSPORTS", transport}, {"BRAID_TIMEOUT", "60s"}});
  expectAllRanksPassed(r, ranks);
}

INSTANTIATE_TEST_SUITE_P(Transports, Collectives,
                         ::testing::Values(Shape{"shm", 1}, Shape{"shm", 2}, Shape{"shm", 3}, Shape{"shm", 4},
                                           Shape{"shm", 8}, Shape{"tcp", 2}, Shape{"tcp", 3}, Shape{"tcp", 4},
                                           Shape{"tcp", 8}),
                         [](const auto& info) {
                           return std::string(info.param.transport) + "_" + std::to_string(info.param.ranks) + "ranks";
                         });

class LargeCollectives : public BraidrunTest, public ::testing::WithParamInterface<Shape> {};

// Several MiB (and an odd byte count) per call: many pipeline slices, ring wrap-around.
TEST_P(LargeCollectives, SeveralMebibytesAreExact) {
  auto [transport, ranks] = GetParam();
  Result r = run({"-n", std::to_string(ranks), COLLECTIVE_CHECK_PATH, "--large", "3145739"}, 900s,
                 {{"BRAID_TRANSPORTS", transport}, {"BRAID_TIMEOUT", "60s"}});
  expectAllRanksPassed(r, ranks);
}

INSTANTIATE_TEST_SUITE_P(Transports, LargeCollectives, ::testing::Values(Shape{"shm", 3}, Shape{"tcp", 3}),
                         [](const auto& info) {
                           return std::string(info.param.transport) + "_" + std::to_string(info.param.ranks) + "ranks";
                         });

class KilledRank : public BraidrunTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(KilledRank, EndsTheJobWithinSecondsNamingTheRank) {
  pid_t job = start({"-n", "4", ALLREDUCE_LOOP_PATH, dir_.string()}, {{"BRAID_TRANSPORTS", GetParam()}});
  std::vector<pid_t> pids = waitForPidFiles(4, 60s);
  ASSERT_EQ(pids.size(), 4u);
  auto killedAt = Clock::now();
  ::kill(pids[2], SIGKILL);
  Result r = wait(job, 30s);
  double seconds = std::chrono::duration<double>(Clock::now() - killedAt).count();
  ASSERT_TRUE(r.finished) << r.err;
  EXPECT_NE(r.exitCode, 0);
  EXPECT_LT(seconds, 5.0) << r.err;
  EXPECT_NE(r.err.find("rank 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("signal 9"), std::string::npos) << r.err;
  for (pid_t p : pids) EXPECT_TRUE(processGone(p)) << "pid " << p << " outlived the job";
}

INSTANTIATE_TEST_SUITE_P(Transports, KilledRank, ::testing::Values("shm", "tcp"));

// A rank that would choose its algorithms by other rules would send what its peers do
// not expect (or hang them, with BRAID_CHECK=off): the job stops at init instead.
TEST_F(BraidrunTest, RanksThatSetBraidAlgoDifferentlyStopAtInitNamingWhich) {
  Result r = run({"-n", "3", "sh", "-c", "if [ \"$BRAID_RANK\" = 2 ]; then export BRAID_ALGO=ring; fi; exec \"$0\" --quick",
                  COLLECTIVE_CHECK_PATH},
                 120s, {{"BRAID_CHECK", "off"}, {"BRAID_TIMEOUT", "30s"}});
  ASSERT_TRUE(r.finished) << r.err;
  EXPECT_NE(r.exitCode, 0) << r.out;
  EXPECT_EQ(r.out.find("checks"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("ranks disagree on BRAID_ALGO (this rank's: '')"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(ranks 0,1: unset; rank 2: variant #1)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ranks disagree on BRAID_ALGO (this rank's: 'ring')"), std::string::npos) << r.err;
}

// A rank that cannot read its own BRAID_ALGO says why, and its peers, which could, do
// not wait for it: they learn of it from the peer table.
TEST_F(BraidrunTest, ARankWithABadBraidAlgoStopsTheJobAtInitSayingWhy) {
  // braidrun ends the others 200 ms after the first exit: immune to that, they show
  // that they end on their own (trap: the ignored SIGTERM passes to the program too).
  Result r = run({"-n", "3", "sh", "-c",
                  "trap '' TERM; if [ \"$BRAID_RANK\" = 2 ]; then export BRAID_ALGO=bogus; fi; exec \"$0\" --quick",
                  COLLECTIVE_CHECK_PATH},
                 120s, {{"BRAID_TIMEOUT", "60s"}});
  ASSERT_TRUE(r.finished) << r.err;
  EXPECT_NE(r.exitCode, 0) << r.out;
  EXPECT_NE(r.err.find("rank 2: BRAID_ALGO: unknown algorithm 'bogus'"), std::string::npos) << r.err;
  // The peers' own account: they learned it from the peer table, not from a dead socket.
  for (int peer : {0, 1})
    EXPECT_NE(r.err.find("rank " + std::to_string(peer) + ": the communicator cannot be set up: rank 2 failed before "
                         "the ranks connected (BRAID_ALGO: unknown algorithm 'bogus'"), std::string::npos) << r.err;
}

// The same for a setting that Env reads before the rank joins the rendezvous at all.
// The other ranks must end on their own, not by the launcher (which ends them 200 ms
// after the first exit, as Slurm or a bare mpirun may not): they ignore SIGTERM here,
// and say how they ended.
TEST_F(BraidrunTest, ARankWithABadChunkSizeStopsTheJobAtInitSayingWhy) {
  const auto started = std::chrono::steady_clock::now();
  Result r = run({"-n", "3", "sh", "-c",
                  "trap '' TERM; if [ \"$BRAID_RANK\" = 1 ]; then export BRAID_CHUNK=lots; fi; \"$0\" --quick; "
                  "code=$?; echo \"rank $BRAID_RANK exit $code\" >&2; exit $code",
                  COLLECTIVE_CHECK_PATH},
                 120s, {{"BRAID_TIMEOUT", "60s"}});
  ASSERT_TRUE(r.finished) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s) << "the ranks waited for their deadline";
  EXPECT_NE(r.exitCode, 0) << r.out;
  EXPECT_NE(r.err.find("rank 1: BRAID_CHUNK: 'lots' is not a size"), std::string::npos) << r.err;
  for (int peer : {0, 2}) {
    EXPECT_NE(r.err.find("rank " + std::to_string(peer) + ": the communicator cannot be set up: rank 1 failed before "
                         "the ranks connected (BRAID_CHUNK: 'lots' is not a size"), std::string::npos) << r.err;
    // Each ended on its own account, not because the launcher killed it.
    EXPECT_NE(r.err.find("rank " + std::to_string(peer) + " exit 3"), std::string::npos) << r.err;
  }
}

}  // namespace
