// Tests of the braidrun launcher, driving it with small `sh -c` jobs.
#include "braidrun_fixture.h"

#include <gtest/gtest.h>

#include <set>

namespace {

using namespace braid::testing;
using namespace std::chrono_literals;


// A rank's script prefix: publish the pid atomically as $1/pid.<rank>.
const std::string kWritePid = "echo $$ > \"$1/pid.tmp.$BRAID_RANK\" && mv \"$1/pid.tmp.$BRAID_RANK\" \"$1/pid.$BRAID_RANK\"; ";
// Sleeps 60 s; on SIGTERM or SIGINT records it in $1/<signal>.<rank> and exits, so a
// test can tell that braidrun sent that signal (not only the SIGKILL after the grace).
// Publishes its pid only once the traps are set.
const std::string kSleepRecordingSignals =
    "trap 'echo > \"$1/TERM.$BRAID_RANK\"; kill $!; exit 143' TERM; "
    "trap 'echo > \"$1/INT.$BRAID_RANK\"; kill $!; exit 130' INT; " + kWritePid + "sleep 60 & wait";
// Waits (bounded, 10 s) until N pid files exist. Used by a rank that fails on purpose.
std::string waitForPids(int n) {
  return "i=0; while [ $(ls \"$1\" | grep -c '^pid\\.[0-9]') -lt " + std::to_string(n) +
         " ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; ";
}

TEST_F(BraidrunTest, EveryRankGetsItsEnvironment) {
  // `env` itself (a shell would dedupe the environment), output prefixed by rank. A
  // stale rank variable in braidrun's own environment must not leak through: with two
  // BRAID_RANK entries, getenv() would return the first.
  Result r = run({"-n", "4", "--prefix", "env"}, 20s, {{"BRAID_RANK", "99"}, {"BRAID_LOCAL_SIZE", "7"}});
  ASSERT_TRUE(r.finished) << "braidrun hung";
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(braidrunLines(r.err).empty()) << r.err;
  std::map<int, std::map<std::string, std::string>> vars;
  std::regex re("\\[([0-9])\\] (BRAID_[A-Z_]+)=(.*)");
  for (auto& line : splitLines(r.out)) {
    std::smatch m;
    if (!std::regex_match(line, m, re)) continue;
    EXPECT_TRUE(vars[std::stoi(m[1])].emplace(m[2], m[3]).second) << "duplicate " << line;
  }
  std::set<std::string> ids;
  for (int rank = 0; rank < 4; ++rank) {
    auto& v = vars[rank];
    EXPECT_EQ(v["BRAID_RANK"], std::to_string(rank));
    EXPECT_EQ(v["BRAID_SIZE"], "4");
    EXPECT_EQ(v["BRAID_LOCAL_RANK"], std::to_string(rank));
    EXPECT_EQ(v["BRAID_LOCAL_SIZE"], "4");
    const std::string& id = v["BRAID_UNIQUE_ID"];
    EXPECT_EQ(id.size(), 256u) << id;
    EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-fA-F]*"))) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1u) << "ranks got different unique ids";
}

TEST_F(BraidrunTest, ShellRanksSeeTheirRank) {
  Result r = run(shJob(3, "echo \"$BRAID_RANK/$BRAID_SIZE\" > \"$1/rank.$BRAID_RANK\""));
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  for (int rank = 0; rank < 3; ++rank)
    EXPECT_EQ(readFile(dir_ / ("rank." + std::to_string(rank))), std::to_string(rank) + "/3\n");
}

TEST_F(BraidrunTest, ArgumentsAfterTheCommandAreTheCommand) {
  Result r = run({"-n", "1", "sh", "-c", "printf '%s|' \"$@\"", "sh", "a b", "-n", "--prefix", "--"});
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "a b|-n|--prefix|--|");
}

TEST_F(BraidrunTest, RanksInheritTheCallersSignalMaskAndDispositions) {
  // braidrun blocks SIGCHLD/SIGINT/SIGTERM/SIGHUP and ignores SIGPIPE for itself; the
  // ranks must see what braidrun's caller had: SIGUSR1 (bit 9) blocked, SIGUSR2 (bit
  // 11) ignored. (grep run directly: sh resets its mask.)
  Result r = run({"-n", "2", "grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"}, 20s, {}, CallerSignals::Custom);
  ASSERT_TRUE(r.finished);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const std::string one = "SigBlk:\t0000000000000200\nSigIgn:\t0000000000000800\n";
  EXPECT_EQ(r.out, one + one);
}

TEST_F(BraidrunTest, AllRanksSucceed) {
  Result r = run(shJob(3, "exit 0"));
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(BraidrunTest, ExitStatusOfAFailingRankPropagates) {
  Result r = run(shJob(4, "if [ $BRAID_RANK = 1 ]; then exit 3; fi; exit 0"));
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.exitCode, 3) << r.err;
  auto lines = braidrunLines(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_TRUE(std::regex_search(lines[0], std::regex("rank 1 \\(pid [0-9]+\\) exited with status 3"))) << lines[0];
}

TEST_F(BraidrunTest, KilledRankStopsTheOthers) {
  Result r = run(shJob(4, kWritePid + "if [ $BRAID_RANK = 2 ]; then " + waitForPids(4) +
                              "kill -9 $$; fi; exec sleep 60"));
  ASSERT_TRUE(r.finished) << "braidrun did not stop the job";
  EXPECT_LT(r.seconds, 10.0);
  EXPECT_EQ(r.exitCode, 128 + 9) << r.err;
  auto lines = braidrunLines(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_TRUE(std::regex_search(lines[0], std::regex("rank 2 \\(pid [0-9]+\\) was killed by signal 9 \\(Killed\\)")))
      << lines[0];
  EXPECT_NE(lines[0].find("stopping the other 3 ranks"), std::string::npos) << lines[0];
  for (pid_t pid : waitForPidFiles(4)) EXPECT_TRUE(processGone(pid)) << "rank pid " << pid << " still alive";
}

TEST_F(BraidrunTest, FailingRankStopsSleepingRanksQuickly) {
  Result r = run(shJob(3, "if [ $BRAID_RANK = 0 ]; then " + kWritePid + waitForPids(3) + "exit 5; fi; " +
                              kSleepRecordingSignals));
  ASSERT_TRUE(r.finished);
  EXPECT_LT(r.seconds, 10.0);
  EXPECT_EQ(r.exitCode, 5) << r.err;
  EXPECT_EQ(braidrunLines(r.err).size(), 1u) << r.err;
  for (pid_t pid : waitForPidFiles(3)) EXPECT_TRUE(processGone(pid));
  EXPECT_TRUE(fs::exists(dir_ / "TERM.1")) << "rank 1 got no SIGTERM";
  EXPECT_TRUE(fs::exists(dir_ / "TERM.2")) << "rank 2 got no SIGTERM";
}

TEST_F(BraidrunTest, RankIgnoringSigtermIsKilledAfterTheGracePeriod) {
  // Rank 1 ignores SIGTERM (inherited by sleep), so only the SIGKILL after 3 s stops it.
  Result r = run(shJob(2, "if [ $BRAID_RANK = 1 ]; then trap '' TERM; " + kWritePid +
                              "exec sleep 60; fi; " + waitForPids(1) + "exit 1"));
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.exitCode, 1) << r.err;
  EXPECT_GE(r.seconds, 2.5);
  EXPECT_LT(r.seconds, 10.0);
  std::string pid = readFile(dir_ / "pid.1");
  ASSERT_FALSE(pid.empty());
  EXPECT_TRUE(processGone(std::stoi(pid)));
}

class ForwardedSignal : public BraidrunTest, public ::testing::WithParamInterface<int> {};

TEST_P(ForwardedSignal, ReachesEveryRank) {
  const int sig = GetParam();
  const std::string name = sig == SIGINT ? "INT" : "TERM";
  pid_t braidrun = start(shJob(3, kSleepRecordingSignals));
  std::vector<pid_t> pids = waitForPidFiles(3);
  ASSERT_EQ(::kill(braidrun, sig), 0);
  Result r = wait(braidrun);
  ASSERT_TRUE(r.finished);
  EXPECT_LT(r.seconds, 10.0);
  EXPECT_EQ(r.exitCode, 128 + sig) << r.err;
  EXPECT_NE(r.err.find("signal " + std::to_string(sig)), std::string::npos) << r.err;
  for (pid_t pid : pids) EXPECT_TRUE(processGone(pid));
  for (int rank = 0; rank < 3; ++rank)
    EXPECT_TRUE(fs::exists(dir_ / (name + "." + std::to_string(rank)))) << "rank " << rank << " did not get SIG" << name;
}

INSTANTIATE_TEST_SUITE_P(Braidrun, ForwardedSignal, ::testing::Values(SIGTERM, SIGINT));

TEST_F(BraidrunTest, RanksDieWhenBraidrunIsKilled) {
  pid_t braidrun = start(shJob(3, kWritePid + "exec sleep 60"));
  std::vector<pid_t> pids = waitForPidFiles(3);
  ASSERT_EQ(::kill(braidrun, SIGKILL), 0);
  Result r = wait(braidrun);
  EXPECT_EQ(r.signal, SIGKILL);
  auto deadline = Clock::now() + 5s;
  for (pid_t pid : pids) {
    while (!processGone(pid) && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(processGone(pid)) << "rank pid " << pid << " outlived braidrun";
  }
}

TEST_F(BraidrunTest, TimeoutStopsTheJob) {
  Result r = run(shJob(3, "if [ $BRAID_RANK = 0 ]; then exit 0; fi; " + kSleepRecordingSignals, {"--timeout", "1"}));
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.exitCode, 124) << r.err;
  EXPECT_GE(r.seconds, 0.9);
  EXPECT_LT(r.seconds, 8.0);
  auto lines = braidrunLines(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_NE(lines[0].find("timeout"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("ranks still running: 1, 2;"), std::string::npos) << lines[0];
  EXPECT_TRUE(fs::exists(dir_ / "TERM.1") && fs::exists(dir_ / "TERM.2")) << "ranks were not sent SIGTERM";
}

TEST_F(BraidrunTest, TimeoutNotReachedLeavesTheStatusAlone) {
  Result r = run(shJob(2, "exit 0", {"--timeout=30"}));
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_LT(r.seconds, 10.0);
}

TEST_F(BraidrunTest, PrefixedOutputIsWholeLines) {
  // Lines are written in pieces (one printf each) and ranks write at the same time.
  const int lines = 400;
  std::string script = "i=0; while [ $i -lt " + std::to_string(lines) +
                       " ]; do printf 'rank %s ' $BRAID_RANK; printf 'line %s ' $i; printf 'end\\n'; "
                       "i=$((i+1)); done; echo \"err $BRAID_RANK\" >&2; printf 'no newline %s' $BRAID_RANK";
  Result r = run(shJob(3, script, {"--prefix"}));
  ASSERT_TRUE(r.finished);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::regex re("\\[([0-9])\\] rank ([0-9]) line ([0-9]+) end");
  std::map<int, int> next;
  std::set<int> tails;
  for (auto& line : splitLines(r.out)) {
    std::smatch m;
    if (std::regex_match(line, m, std::regex("\\[([0-9])\\] no newline ([0-9])"))) {
      EXPECT_EQ(m[1], m[2]);
      tails.insert(std::stoi(m[1]));
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, re)) << "mangled line: '" << line << "'";
    int rank = std::stoi(m[1]);
    EXPECT_EQ(m[1], m[2]) << line;
    EXPECT_EQ(std::stoi(m[3]), next[rank]) << line;
    next[rank] = std::stoi(m[3]) + 1;
  }
  for (int rank = 0; rank < 3; ++rank) EXPECT_EQ(next[rank], lines) << "rank " << rank;
  EXPECT_EQ(tails, (std::set<int>{0, 1, 2}));
  std::set<std::string> errLines;
  for (auto& l : splitLines(r.err)) errLines.insert(l);
  EXPECT_EQ(errLines, (std::set<std::string>{"[0] err 0", "[1] err 1", "[2] err 2"})) << r.err;
}

TEST_F(BraidrunTest, PrefixIsZeroPaddedToTheLargestRank) {
  Result r = run(shJob(11, "echo hi", {"-p"}));
  ASSERT_TRUE(r.finished);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::set<std::string> got;
  for (auto& l : splitLines(r.out)) got.insert(l);
  std::set<std::string> want;
  for (int i = 0; i < 11; ++i) want.insert((i < 10 ? "[0" : "[") + std::to_string(i) + "] hi");
  EXPECT_EQ(got, want) << r.out;
}

TEST_F(BraidrunTest, WithoutPrefixOutputIsUntouched) {
  Result r = run(shJob(2, "echo \"out $BRAID_RANK\"; echo \"err $BRAID_RANK\" >&2"));
  ASSERT_TRUE(r.finished);
  ASSERT_EQ(r.exitCode, 0);
  auto out = splitLines(r.out), err = splitLines(r.err);
  EXPECT_EQ(std::set<std::string>(out.begin(), out.end()), (std::set<std::string>{"out 0", "out 1"}));
  EXPECT_EQ(std::set<std::string>(err.begin(), err.end()), (std::set<std::string>{"err 0", "err 1"}));
}

TEST_F(BraidrunTest, UsageErrorsExitTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"true"},
      {"-n"},
      {"-n", "0", "true"},
      {"-n", "-2", "true"},
      {"-n", "abc", "true"},
      {"-n", "3x", "true"},
      {"-n", "99999999999999999999", "true"},
      {"-n", "2"},
      {"-n", "2", "--"},
      {"--bogus", "-n", "2", "true"},
      {"-n", "2", "--timeout", "soon", "true"},
      {"-n", "2", "--timeout", "0", "true"},
      {"-n", "2", "--timeout"},
  };
  for (const auto& args : cases) {
    std::string shown;
    for (auto& a : args) shown += "'" + a + "' ";
    Result r = run(args, 10s);
    ASSERT_TRUE(r.finished) << shown;
    EXPECT_EQ(r.exitCode, 2) << shown << r.err;
    auto lines = braidrunLines(r.err);
    EXPECT_FALSE(lines.empty()) << shown << r.err;
    EXPECT_NE(r.err.find("usage: braidrun"), std::string::npos) << shown << r.err;
    EXPECT_TRUE(r.out.empty()) << shown;
  }
}

TEST_F(BraidrunTest, HelpPrintsUsage) {
  Result r = run({"--help"});
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_NE(r.out.find("usage: braidrun"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--prefix"), std::string::npos);
  EXPECT_NE(r.out.find("--timeout"), std::string::npos);
}

TEST_F(BraidrunTest, CommandNotFound) {
  Result r = run({"-n", "3", "braidrun-test-no-such-command"});
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.exitCode, 127);
  auto lines = braidrunLines(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines[0], "braidrun: cannot run 'braidrun-test-no-such-command': No such file or directory");
}

TEST_F(BraidrunTest, ExecFailureInTheChildIsReported) {
  // Executable, so braidrun's own check passes, but execve fails (missing interpreter).
  fs::path script = dir_ / "bad-interpreter";
  std::ofstream(script) << "#!/nonexistent/braidrun-test-interpreter\n";
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  Result r = run({"-n", "2", script.string()});
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.exitCode, 127) << r.err;
  std::string want = "braidrun: cannot run '" + script.string() + "': No such file or directory";
  EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
}

}  // namespace
