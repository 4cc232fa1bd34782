#pragma once
// Waits for the ranks and stops the job when one fails, on --timeout, or when braidrun
// is signalled. Event loop: poll() on a signalfd (SIGCHLD, SIGINT, SIGTERM, SIGHUP)
// and, with --prefix, on the ranks' output pipes; the only poll timeouts are the job
// deadline and the grace period between SIGTERM and SIGKILL.
#include "output.h"

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace braidrun {

class Supervisor {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kGracePeriod{3};

  // signalFd: a non-blocking signalfd for the signals above (blocked in every thread).
  Supervisor(int signalFd, int size);
  ~Supervisor();

  // Registers a started rank; outFd/errFd are the read ends of its pipes (-1 without
  // --prefix), made non-blocking here and closed by the supervisor.
  void add(int rank, pid_t pid, int outFd, int errFd);
  // Stops the job before run(), e.g. when a fork failed; `exitCode` is the result.
  void abort(const std::string& message, int exitCode);
  void setTimeout(double seconds, const std::string& text);

  // Runs until every registered rank has been reaped; returns braidrun's exit code.
  int run();

 private:
  struct Stream {
    int fd = -1;
    std::unique_ptr<LinePrefixer> sink;
  };
  struct Rank {
    int rank = 0;
    pid_t pid = -1;
    bool running = false;
    Stream out, err;
  };

  void handleSignals();
  void reapChildren();
  void onExit(Rank& r, int status);
  void blame();  // names the failure that caused the others, then stops the job
  void stop(int sig);  // sends sig to every running rank, starts the grace period
  void killAll();
  void onTimeout();
  void closeStream(Stream& s, bool drainFirst);
  int runningCount() const;
  std::string runningRanks() const;
  int pollTimeoutMs() const;

  int signalFd_, size_;
  std::vector<Rank> ranks_;
  struct Failure {
    int rank;
    pid_t pid;
    int status;
  };
  // How long after a first failure other exits are gathered before one is named.
  static constexpr std::chrono::milliseconds kBlameWindow{200};
  std::vector<Failure> failures_;
  std::optional<Clock::time_point> jobDeadline_, killDeadline_, blameDeadline_;
  std::string timeoutText_;
  bool stopping_ = false, killed_ = false;
  int exitCode_ = 0;
};

// "0-3, 5, 7, 8": ranks sorted, runs of three or more as ranges.
std::string formatRankList(const std::vector<int>& ranks);

// "exited with status 3" / "was killed by signal 9 (Killed)" for a wait status.
std::string describeStatus(int status);

}  // namespace braidrun
