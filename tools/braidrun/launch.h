#pragma once
// Starting the ranks: their environment, a check that the command exists, and
// fork + execvp with the child-side setup (parent-death signal, signal mask, stdio).
#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace braidrun {

// The parent's signal state that children must get back before exec.
struct ChildSignalState {
  sigset_t mask;                // braidrun's mask before it blocked its own signals
  struct sigaction sigpipe {};  // SIGPIPE's disposition before braidrun ignored it
};

// `base` (normally environ) without any BRAID_UNIQUE_ID / BRAID_RANK / BRAID_SIZE /
// BRAID_LOCAL_RANK / BRAID_LOCAL_SIZE, plus those five for `rank` of `size`.
std::vector<std::string> rankEnvironment(char** base, const std::string& uniqueId, int rank, int size);

// Looks `name` up as execvp would (PATH when it has no '/'). 0 when an executable
// regular file is found, else the errno to report (ENOENT, EACCES, ...).
int findCommand(const std::string& name);

// Forks one rank and execs `argv` with `env`. In the child: SIGKILL on braidrun's
// death, stdout/stderr moved to outFd/errFd when they are >= 0, signal state restored.
// If exec fails the child prints "braidrun: cannot run 'X': <reason>" and exits 127.
// Returns the pid, or -1 with errno set if fork failed.
pid_t spawnRank(const std::vector<std::string>& argv, const std::vector<std::string>& env, int outFd,
                int errFd, const ChildSignalState& signals);

}  // namespace braidrun
