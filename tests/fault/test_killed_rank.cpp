// A rank SIGKILLed in the middle of a loop of large collectives: every survivor must
// end its call within 5 s with an error naming the killed rank (ErrorContext peer and
// host filled), for 2, 3 and 4 ranks, over shm and over tcp, for all-reduce,
// all-gather, reduce-scatter and broadcast, killing each rank in turn.
//
// The ranks are forked here rather than under braidrun, which stops the other ranks
// as soon as one dies: here nobody but the failure itself tells the survivors, and the
// survivors stay alive until all have reported, so no error can owe anything to a
// survivor exiting. The killed rank is not reaped until the end, as under a launcher
// that is slow to reap. Each survivor's detection time is printed.
#include "core/host_identity.h"

#include <braid/unique_id.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef FAULT_RANK_PATH
#error "FAULT_RANK_PATH must name the fault_rank program"
#endif

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Large enough that a call takes a while (the kill lands mid-operation), small enough
// for four ranks on a small machine: 4 MiB of floats per rank.
constexpr const char* kCount = "1048576";
constexpr double kLimitSeconds = 5.0;

struct Case {
  const char* transport;
  int ranks;
  const char* collective;
  int victim;
};

std::vector<Case> allCases() {
  std::vector<Case> cases;
  for (const char* t : {"shm", "tcp"})
    for (int n : {2, 3, 4})
      for (const char* c : {"allreduce", "allgather", "reducescatter", "broadcast"})
        for (int v = 0; v < n; ++v) cases.push_back({t, n, c, v});
  return cases;
}

struct Report {
  int rank = -1, peer = -1;
  long long ns = 0;
  std::string host, message;
};

// Reads whole lines from a pipe until `done` says enough, or the deadline passes.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // Returns false at the deadline or at EOF.
  bool next(std::string& line, Clock::time_point deadline) {
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return true;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char chunk[4096];
      ssize_t got = ::read(fd_, chunk, sizeof chunk);
      if (got <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(got));
    }
  }

 private:
  int fd_;
  std::string buffer_;
};

Report parseError(const std::string& line) {
  Report r;
  auto tab = line.find('\t');
  std::istringstream head(line.substr(0, tab));
  std::string word;
  head >> word >> r.rank >> r.ns >> r.peer >> r.host;
  if (tab != std::string::npos) r.message = line.substr(tab + 1);
  return r;
}

class KilledRank : public ::testing::TestWithParam<Case> {
 protected:
  void TearDown() override {
    if (releaseFd_ >= 0) ::close(releaseFd_);
    if (statusFd_ >= 0) ::close(statusFd_);
    // Survivors exit once released; anything left past the limit is killed.
    const auto limit = Clock::now() + 20s;
    for (pid_t pid : pids_) {
      int status = 0;
      while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (Clock::now() > limit) {
          ADD_FAILURE() << "pid " << pid << " did not exit after being released";
          ::kill(pid, SIGKILL);
          ::waitpid(pid, &status, 0);
          break;
        }
        std::this_thread::sleep_for(5ms);  // polling a child's exit, bounded by `limit`
      }
    }
  }

  void start(const Case& c) {
    const std::string id = braid::UniqueId::create().toString();
    int status[2], release[2];
    ASSERT_EQ(::pipe2(status, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(release, O_CLOEXEC), 0);
    const std::map<std::string, std::string> fixed = {
        {"BRAID_UNIQUE_ID", id},          {"BRAID_SIZE", std::to_string(c.ranks)},
        {"BRAID_LOCAL_SIZE", std::to_string(c.ranks)}, {"BRAID_TRANSPORTS", c.transport},
        // Far beyond the 5 s asked for: a timeout must not stand in for detection.
        {"BRAID_TIMEOUT", "60s"}};
    for (int r = 0; r < c.ranks; ++r) {
      // Everything the child needs is built before fork: after it, only exec.
      std::vector<std::string> env;
      for (char** e = environ; *e; ++e) {
        std::string kv = *e;
        std::string key = kv.substr(0, kv.find('='));
        if (!fixed.count(key) && key != "BRAID_RANK" && key != "BRAID_LOCAL_RANK") env.push_back(kv);
      }
      for (auto& [k, v] : fixed) env.push_back(k + "=" + v);
      env.push_back("BRAID_RANK=" + std::to_string(r));
      env.push_back("BRAID_LOCAL_RANK=" + std::to_string(r));
      std::vector<std::string> args = {FAULT_RANK_PATH, c.collective, kCount, std::to_string(status[1]),
                                       std::to_string(release[0])};
      std::vector<char*> argv, envp;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      for (auto& e : env) envp.push_back(e.data());
      envp.push_back(nullptr);
      pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        // The child's own ends survive exec; the launcher's ends are close-on-exec.
        ::fcntl(status[1], F_SETFD, 0);
        ::fcntl(release[0], F_SETFD, 0);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
      }
      pids_.push_back(pid);
    }
    ::close(status[1]);
    ::close(release[0]);
    statusFd_ = status[0];
    releaseFd_ = release[1];
  }

  std::vector<pid_t> pids_;
  int statusFd_ = -1, releaseFd_ = -1;
};

TEST_P(KilledRank, EverySurvivorNamesItWithinFiveSeconds) {
  const Case c = GetParam();
  ASSERT_NO_FATAL_FAILURE(start(c));
  LineReader lines(statusFd_);
  std::string line;

  int ready = 0;
  const auto setupLimit = Clock::now() + 120s;
  while (ready < c.ranks) {
    ASSERT_TRUE(lines.next(line, setupLimit)) << "only " << ready << " of " << c.ranks << " ranks got going";
    ASSERT_EQ(line.rfind("ready ", 0), 0u) << "a rank failed before the kill: " << line;
    ++ready;
  }

  const auto killedAt = Clock::now();
  ASSERT_EQ(::kill(pids_[c.victim], SIGKILL), 0);
  const long long killedNs = std::chrono::duration_cast<std::chrono::nanoseconds>(killedAt.time_since_epoch()).count();

  std::map<int, Report> reports;
  const auto reportLimit = killedAt + 20s;
  while (static_cast<int>(reports.size()) < c.ranks - 1 && lines.next(line, reportLimit)) {
    ASSERT_EQ(line.rfind("error ", 0), 0u) << line;
    Report r = parseError(line);
    reports[r.rank] = r;
  }
  ASSERT_EQ(static_cast<int>(reports.size()), c.ranks - 1) << "some survivors never reported an error";

  const std::string host = braid::hostName();
  for (auto& [rank, r] : reports) {
    const double seconds = static_cast<double>(r.ns - killedNs) / 1e9;
    std::printf("[fault] %s %d ranks %-13s killed rank %d: rank %d after %.3f s: %s\n", c.transport, c.ranks,
                c.collective, c.victim, rank, seconds, r.message.c_str());
    EXPECT_NE(rank, c.victim);
    EXPECT_EQ(r.peer, c.victim) << "rank " << rank << " blamed another rank: " << r.message;
    EXPECT_EQ(r.host, host) << r.message;
    EXPECT_NE(r.message.find("rank " + std::to_string(c.victim) + " "), std::string::npos) << r.message;
    EXPECT_LT(seconds, kLimitSeconds) << "rank " << rank << ": " << r.message;
  }
}

INSTANTIATE_TEST_SUITE_P(Faults, KilledRank, ::testing::ValuesIn(allCases()), [](const auto& info) {
  const Case& c = info.param;
  return std::string(c.transport) + "_" + std::to_string(c.ranks) + "ranks_" + c.collective + "_kill" +
         std::to_string(c.victim);
});

}  // namespace
