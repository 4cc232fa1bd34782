#include "supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace braidrun {
namespace {

std::string signalName(int sig) {
  const char* d = sigdescr_np(sig);
  return "signal " + std::to_string(sig) + " (" + (d ? d : "unknown signal") + ")";
}

// "3 running ranks", "1 rank".
std::string countRanks(int n, const std::string& adjective) {
  return std::to_string(n) + (adjective.empty() ? "" : " " + adjective) + (n == 1 ? " rank" : " ranks");
}

}  // namespace

std::string formatRankList(const std::vector<int>& unsorted) {
  std::vector<int> r = unsorted;
  std::sort(r.begin(), r.end());
  std::string out;
  for (std::size_t i = 0; i < r.size();) {
    std::size_t j = i;
    while (j + 1 < r.size() && r[j + 1] == r[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    if (j - i >= 2) {
      out += std::to_string(r[i]) + "-" + std::to_string(r[j]);
      i = j + 1;
    } else {
      out += std::to_string(r[i]);
      ++i;
    }
  }
  return out;
}

std::string describeStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by " + signalName(WTERMSIG(status)) + (WCOREDUMP(status) ? ", core dumped" : "");
  return "ended with wait status " + std::to_string(status);
}

Supervisor::Supervisor(int signalFd, int size) : signalFd_(signalFd), size_(size) {}

Supervisor::~Supervisor() {
  for (auto& r : ranks_)
    for (Stream* s : {&r.out, &r.err})
      if (s->fd >= 0) ::close(s->fd);
}

void Supervisor::add(int rank, pid_t pid, int outFd, int errFd) {
  Rank r;
  r.rank = rank;
  r.pid = pid;
  r.running = true;
  auto attach = [&](Stream& s, int fd, int target) {
    if (fd < 0) return;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    s.fd = fd;
    s.sink = std::make_unique<LinePrefixer>(rankPrefix(rank, size_), target);
  };
  attach(r.out, outFd, STDOUT_FILENO);
  attach(r.err, errFd, STDERR_FILENO);
  ranks_.push_back(std::move(r));
}

void Supervisor::abort(const std::string& message, int exitCode) {
  int n = runningCount();
  report(n > 0 ? message + "; stopping the " + countRanks(n, "started") : message);
  if (!stopping_) exitCode_ = exitCode;
  stop(SIGTERM);
}

void Supervisor::setTimeout(double seconds, const std::string& text) {
  jobDeadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  timeoutText_ = text;
}

int Supervisor::runningCount() const {
  return static_cast<int>(std::count_if(ranks_.begin(), ranks_.end(), [](const Rank& r) { return r.running; }));
}

std::string Supervisor::runningRanks() const {
  std::vector<int> list;
  for (const auto& r : ranks_)
    if (r.running) list.push_back(r.rank);
  return formatRankList(list);
}

int Supervisor::pollTimeoutMs() const {
  std::optional<Clock::time_point> next;
  if (!stopping_ && jobDeadline_) next = jobDeadline_;
  if (!stopping_ && blameDeadline_ && (!next || *blameDeadline_ < *next)) next = blameDeadline_;
  if (stopping_ && !killed_ && killDeadline_) next = killDeadline_;
  if (!next) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()).count();
  if (left <= 0) return 0;
  return left > INT_MAX / 2 ? INT_MAX / 2 : static_cast<int>(left);
}

int Supervisor::run() {
  reapChildren();
  while (runningCount() > 0) {
    std::vector<pollfd> fds{{signalFd_, POLLIN, 0}};
    std::vector<Stream*> streams;
    for (auto& r : ranks_)
      for (Stream* s : {&r.out, &r.err})
        if (s->fd >= 0) {
          fds.push_back({s->fd, POLLIN, 0});
          streams.push_back(s);
        }
    int n = ::poll(fds.data(), fds.size(), pollTimeoutMs());
    if (n < 0 && errno != EINTR) {
      report(std::string("poll failed: ") + std::strerror(errno) + "; killing all ranks");
      if (exitCode_ == 0) exitCode_ = 1;
      killAll();
      for (auto& r : ranks_)
        if (r.running && ::waitpid(r.pid, nullptr, 0) == r.pid) r.running = false;
      break;
    }
    for (std::size_t i = 1; n > 0 && i < fds.size(); ++i)
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
        if (drainInto(streams[i - 1]->fd, *streams[i - 1]->sink, 256 << 10) == DrainResult::Closed)
          closeStream(*streams[i - 1], false);
    if (n > 0 && (fds[0].revents & POLLIN)) handleSignals();
    auto now = Clock::now();
    if (!stopping_ && blameDeadline_ && (now >= *blameDeadline_ || runningCount() == 0)) blame();
    if (!stopping_ && jobDeadline_ && now >= *jobDeadline_) onTimeout();
    if (stopping_ && !killed_ && killDeadline_ && now >= *killDeadline_) killAll();
  }
  if (!stopping_ && blameDeadline_) blame();  // every rank ended inside the window
  for (auto& r : ranks_) {
    closeStream(r.out, true);
    closeStream(r.err, true);
  }
  return exitCode_;
}

void Supervisor::handleSignals() {
  signalfd_siginfo si;
  while (true) {
    ssize_t got = ::read(signalFd_, &si, sizeof si);
    if (got < 0 && errno == EINTR) continue;
    if (got != static_cast<ssize_t>(sizeof si)) break;  // EAGAIN: all read
    int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGCHLD) continue;  // reaped below; SIGCHLDs coalesce anyway
    if (!stopping_) {
      int n = runningCount();
      report("received " + signalName(sig) + "; forwarding it to the " + countRanks(n, "running"));
      exitCode_ = 128 + sig;
      stop(sig);
    } else if (!killed_) {
      report("received " + signalName(sig) + " while stopping; killing the " + countRanks(runningCount(), "remaining"));
      killAll();
    }
  }
  reapChildren();
}

void Supervisor::reapChildren() {
  while (true) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;
    for (auto& r : ranks_)
      if (r.pid == pid && r.running) {
        onExit(r, status);
        break;
      }
  }
}

void Supervisor::onExit(Rank& r, int status) {
  r.running = false;
  // The rank is gone, so its pipes hold all it wrote; a grandchild holding them open
  // must not keep braidrun waiting.
  closeStream(r.out, true);
  closeStream(r.err, true);
  if ((WIFEXITED(status) && WEXITSTATUS(status) == 0) || stopping_) return;
  // A killed rank's peers notice its closed sockets and may exit before its own death
  // is reapable: gather the failures of a short window, then name the likeliest cause.
  failures_.push_back({r.rank, r.pid, status});
  if (!blameDeadline_) blameDeadline_ = Clock::now() + kBlameWindow;
}

void Supervisor::blame() {
  // A rank ended by a signal caused the others' errors, not the other way round.
  auto cause = std::find_if(failures_.begin(), failures_.end(), [](const Failure& f) { return WIFSIGNALED(f.status); });
  if (cause == failures_.end()) cause = failures_.begin();
  std::string message = "rank " + std::to_string(cause->rank) + " (pid " + std::to_string(cause->pid) + ") " +
                        describeStatus(cause->status);
  if (int others = runningCount(); others > 0) message += "; stopping the other " + countRanks(others, "");
  report(message);
  exitCode_ = WIFEXITED(cause->status) ? WEXITSTATUS(cause->status) : 128 + WTERMSIG(cause->status);
  stop(SIGTERM);
}

void Supervisor::stop(int sig) {
  stopping_ = true;
  for (auto& r : ranks_)
    if (r.running) ::kill(r.pid, sig);
  if (!killDeadline_) killDeadline_ = Clock::now() + kGracePeriod;
}

void Supervisor::killAll() {
  killed_ = true;
  for (auto& r : ranks_)
    if (r.running) ::kill(r.pid, SIGKILL);
}

void Supervisor::onTimeout() {
  report("timeout: the job is still running after " + timeoutText_ + " s; ranks still running: " + runningRanks() +
         "; stopping them");
  exitCode_ = 124;
  stop(SIGTERM);
}

void Supervisor::closeStream(Stream& s, bool drainFirst) {
  if (s.fd < 0) return;
  if (drainFirst) drainInto(s.fd, *s.sink, 1 << 20);
  s.sink->finish();
  ::close(s.fd);
  s.fd = -1;
}

}  // namespace braidrun
