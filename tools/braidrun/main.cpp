// braidrun: starts N local ranks of a command with the environment that
// braid::Communicator's environment constructor reads, hosting the rendezvous root
// for the whole job, and supervises them (see options.cpp for the usage).
#include "launch.h"
#include "options.h"
#include "output.h"
#include "supervisor.h"

#include "bootstrap/bootstrap.h"
#include "core/env.h"
#include "core/socket.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

extern char** environ;

namespace braidrun {
namespace {

constexpr int kUsageExit = 2;
constexpr int kCannotRunExit = 127;

std::array<unsigned char, 16> randomSecret() {
  std::array<unsigned char, 16> secret{};
  std::size_t got = 0;
  while (got < secret.size()) {
    ssize_t r = ::getrandom(secret.data() + got, secret.size() - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("getrandom: ") + std::strerror(errno));
    }
    got += static_cast<std::size_t>(r);
  }
  return secret;
}

// Blocks the signals the supervisor reads from a signalfd. Must run before any thread
// starts (the rendezvous root's), so that every thread inherits the mask and the
// signals reach the signalfd instead of a thread.
int setUpSignals(ChildSignalState& saved) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, sig);
  if (::pthread_sigmask(SIG_BLOCK, &set, &saved.mask) != 0) return -1;
  // Writing to a closed stdout (--prefix) must be an error we handle, not death.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, &saved.sigpipe);
  return ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int launch(const Options& o) {
  const std::string& command = o.command.front();
  if (int err = findCommand(command)) {
    report("cannot run '" + command + "': " + std::strerror(err));
    return kCannotRunExit;
  }

  ChildSignalState signals{};
  int signalFd = setUpSignals(signals);
  if (signalFd < 0) {
    report(std::string("cannot set up signal handling: ") + std::strerror(errno));
    return 1;
  }

  std::unique_ptr<braid::BootstrapRoot> root;
  std::string uniqueId;
  try {
    const std::string ifname = braid::Env::get().socketIfname();
    root = std::make_unique<braid::BootstrapRoot>(braid::chooseInterfaceAddress(ifname), randomSecret(),
                                                  /*rounds=*/0);
    uniqueId = root->info().encode().toString();
  } catch (const std::exception& e) {
    report(std::string("cannot start the rendezvous root: ") + e.what());
    ::close(signalFd);
    return 1;
  }

  Supervisor supervisor(signalFd, o.nprocs);
  if (o.timeoutSeconds > 0) supervisor.setTimeout(o.timeoutSeconds, o.timeoutText);
  for (int rank = 0; rank < o.nprocs; ++rank) {
    int outPipe[2] = {-1, -1}, errPipe[2] = {-1, -1};
    if (o.prefix && (::pipe2(outPipe, O_CLOEXEC) != 0 || ::pipe2(errPipe, O_CLOEXEC) != 0)) {
      int err = errno;
      for (int fd : {outPipe[0], outPipe[1]})
        if (fd >= 0) ::close(fd);
      supervisor.abort("cannot create pipes for rank " + std::to_string(rank) + ": " + std::strerror(err), 1);
      break;
    }
    pid_t pid = spawnRank(o.command, rankEnvironment(environ, uniqueId, rank, o.nprocs), outPipe[1], errPipe[1],
                          signals);
    int err = errno;
    for (int fd : {outPipe[1], errPipe[1]})
      if (fd >= 0) ::close(fd);
    if (pid < 0) {
      for (int fd : {outPipe[0], errPipe[0]})
        if (fd >= 0) ::close(fd);
      supervisor.abort("cannot start rank " + std::to_string(rank) + ": fork: " + std::strerror(err), 1);
      break;
    }
    supervisor.add(rank, pid, outPipe[0], errPipe[0]);
  }
  int code = supervisor.run();
  try {
    root->stop();
    root.reset();
  } catch (const std::exception& e) {
    report(std::string("stopping the rendezvous root: ") + e.what());
  }
  ::close(signalFd);
  return code;
}

}  // namespace
}  // namespace braidrun

int main(int argc, char** argv) {
  using namespace braidrun;
  ParseResult parsed = parseArgs(argc, argv);
  switch (parsed.status) {
    case ParseStatus::Help:
      writeAll(STDOUT_FILENO, usageText());
      return 0;
    case ParseStatus::UsageError:
      report(parsed.error);
      writeAll(STDERR_FILENO, usageSummary());
      return kUsageExit;
    case ParseStatus::Run:
      break;
  }
  try {
    return launch(parsed.options);
  } catch (const std::exception& e) {
    report(std::string("internal error: ") + e.what());
    return 1;
  }
}
