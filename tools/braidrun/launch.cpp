#include "launch.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace braidrun {
namespace {

const char* const kRankVariables[] = {"BRAID_UNIQUE_ID", "BRAID_RANK", "BRAID_SIZE", "BRAID_LOCAL_RANK",
                                      "BRAID_LOCAL_SIZE"};

bool isRankVariable(const char* entry) {
  for (const char* name : kRankVariables) {
    std::size_t len = std::strlen(name);
    if (std::strncmp(entry, name, len) == 0 && entry[len] == '=') return true;
  }
  return false;
}

// 0 if `path` is an executable regular file, else an errno.
int checkExecutable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno;
  if (!S_ISREG(st.st_mode)) return EACCES;
  if (::access(path.c_str(), X_OK) != 0) return errno;
  return 0;
}

// Async-signal-safe from here on: the child of a multi-threaded process.
[[noreturn]] void childFail(const char* command, const char* what, int err) {
  const char* reason = strerrordesc_np(err);
  if (!reason) reason = "unknown error";
  const char* parts[] = {"braidrun: cannot run '", command, "': ", what, reason, "\n"};
  char line[1024];
  std::size_t used = 0;
  for (const char* p : parts)
    for (; *p && used < sizeof line - 1; ++p) line[used++] = *p;
  if (used == sizeof line - 1) line[used - 1] = '\n';
  ssize_t ignored = ::write(STDERR_FILENO, line, used);
  (void)ignored;
  ::_exit(127);
}

}  // namespace

std::vector<std::string> rankEnvironment(char** base, const std::string& uniqueId, int rank, int size) {
  std::vector<std::string> env;
  for (char** e = base; e && *e; ++e)
    if (!isRankVariable(*e)) env.emplace_back(*e);
  env.push_back("BRAID_UNIQUE_ID=" + uniqueId);
  env.push_back("BRAID_RANK=" + std::to_string(rank));
  env.push_back("BRAID_SIZE=" + std::to_string(size));
  env.push_back("BRAID_LOCAL_RANK=" + std::to_string(rank));
  env.push_back("BRAID_LOCAL_SIZE=" + std::to_string(size));
  return env;
}

int findCommand(const std::string& name) {
  if (name.empty()) return ENOENT;
  if (name.find('/') != std::string::npos) return checkExecutable(name);
  const char* pathEnv = std::getenv("PATH");
  std::string path = pathEnv ? pathEnv : "/bin:/usr/bin";
  int firstError = ENOENT;
  std::size_t start = 0;
  while (true) {
    std::size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (dir.empty()) dir = ".";
    int err = checkExecutable(dir + "/" + name);
    if (err == 0) return 0;
    if (err == EACCES) firstError = EACCES;  // execvp reports EACCES if any candidate had it
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return firstError;
}

pid_t spawnRank(const std::vector<std::string>& argv, const std::vector<std::string>& env, int outFd,
                int errFd, const ChildSignalState& signals) {
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls (other threads, e.g. the rendezvous root, may hold locks).
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid != 0) return pid;  // parent, or -1 with errno

  // Die with braidrun, even if it is SIGKILLed. If it died before prctl took effect,
  // we have been re-parented already: give up.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) childFail(args[0], "prctl: ", errno);
  if (::getppid() != parent) ::_exit(127);
  if (outFd >= 0 && ::dup2(outFd, STDOUT_FILENO) < 0) childFail(args[0], "dup2: ", errno);
  if (errFd >= 0 && ::dup2(errFd, STDERR_FILENO) < 0) childFail(args[0], "dup2: ", errno);
  // (The pipe ends themselves are O_CLOEXEC; dup2 clears that flag on 1 and 2.)
  ::sigaction(SIGPIPE, &signals.sigpipe, nullptr);
  ::sigprocmask(SIG_SETMASK, &signals.mask, nullptr);  // pending SIGTERM from braidrun lands here
  ::execvpe(args[0], args.data(), envp.data());
  childFail(args[0], "", errno);
}

}  // namespace braidrun
