// An NCCL program as users write it, built against NVIDIA's nccl.h and linked against
// libnccl.so, run with Braid's libnccl.so.2 first on LD_LIBRARY_PATH. It checks that
// Braid's library is the one loaded, forks the ranks itself, and has rank 0 make the
// unique ids and hand them to the others through pipes, as an MPI or torchrun job
// would through its own channel. The job fails if any rank fails or has not exited
// by the deadline (the rest are then killed).
//
// usage: nccl_dropin_check --ranks N --library-dir DIR [--deadline-seconds S]
#include "rank.h"

#include <dlfcn.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

constexpr int kIdPassingTimeoutMs = 60 * 1000;

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "nccl_dropin_check: %s\nusage: nccl_dropin_check --ranks N --library-dir DIR "
                       "[--deadline-seconds S]\n", why);
  std::exit(2);
}

std::string realPath(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) ? std::string(resolved) : std::string();
}

// The libnccl.so.2 the dynamic linker bound this program to must be DIR/libnccl.so.2,
// not NVIDIA's (which the system's loader cache also knows).
bool loadedFromLibraryDir(const std::string& libraryDir) {
  void* handle = dlopen("libnccl.so.2", RTLD_LAZY | RTLD_NOLOAD);
  link_map* map = nullptr;
  if (handle == nullptr || dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || map == nullptr) {
    std::fprintf(stderr, "FAIL: cannot find the loaded libnccl.so.2: %s\n", dlerror());
    return false;
  }
  const std::string loaded = realPath(map->l_name);
  const std::string wanted = realPath(libraryDir + "/libnccl.so.2");
  dlclose(handle);
  std::fprintf(stderr, "libnccl.so.2 loaded from %s (%s)\n", map->l_name, loaded.c_str());
  if (wanted.empty() || loaded != wanted) {
    std::fprintf(stderr, "FAIL: expected Braid's %s/libnccl.so.2 (%s); run with LD_LIBRARY_PATH=%s\n",
                 libraryDir.c_str(), wanted.empty() ? "missing" : wanted.c_str(), libraryDir.c_str());
    return false;
  }
  return true;
}

bool writeAll(int fd, const void* data, size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = write(fd, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    bytes -= static_cast<size_t>(n);
  }
  return true;
}

bool readAll(int fd, void* data, size_t bytes) {
  char* p = static_cast<char*>(data);
  while (bytes > 0) {
    pollfd waitFor{fd, POLLIN, 0};
    const int ready = poll(&waitFor, 1, kIdPassingTimeoutMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t n = read(fd, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    bytes -= static_cast<size_t>(n);
  }
  return true;
}

// In the child: gets the ids (made here on rank 0, read from rank 0's pipe elsewhere)
// and runs the rank.
int childMain(int rank, int nranks, const std::vector<int>& writeEnds, int readEnd) {
  ncclUniqueId ids[dropin::kIdCount];
  if (rank == 0) {
    for (ncclUniqueId& id : ids) {
      const ncclResult_t result = ncclGetUniqueId(&id);
      if (result != ncclSuccess) {
        std::fprintf(stderr, "rank 0: FATAL ncclGetUniqueId returned %d: %s\n", result, ncclGetLastError(nullptr));
        return 2;
      }
    }
    for (int fd : writeEnds)
      if (!writeAll(fd, ids, sizeof ids)) {
        std::fprintf(stderr, "rank 0: FATAL cannot pass the unique ids on: %s\n", std::strerror(errno));
        return 2;
      }
  } else if (!readAll(readEnd, ids, sizeof ids)) {
    std::fprintf(stderr, "rank %d: FATAL no unique ids from rank 0 within %d s\n", rank, kIdPassingTimeoutMs / 1000);
    return 2;
  }
  for (int fd : writeEnds) close(fd);
  return dropin::runRank(rank, nranks, ids);
}

std::string describeStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

}  // namespace

int main(int argc, char** argv) {
  int nranks = 0;
  long deadlineSeconds = 120;
  std::string libraryDir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
    if (arg == "--ranks") nranks = std::atoi(argv[++i]);
    else if (arg == "--library-dir") libraryDir = argv[++i];
    else if (arg == "--deadline-seconds") deadlineSeconds = std::atol(argv[++i]);
    else usage(("unknown argument " + arg).c_str());
  }
  if (nranks < 1 || libraryDir.empty() || deadlineSeconds < 1) usage("need --ranks >= 1 and --library-dir");
  if (!loadedFromLibraryDir(libraryDir)) return 1;

  // One pipe from rank 0 to each other rank.
  std::vector<int> readEnds(nranks, -1), writeEnds;
  for (int rank = 1; rank < nranks; ++rank) {
    int fds[2];
    if (pipe(fds) != 0) usage("pipe failed");
    readEnds[rank] = fds[0];
    writeEnds.push_back(fds[1]);
  }

  // SIGCHLD stays blocked so that sigtimedwait can wait for children with a deadline.
  sigset_t childSignal, previous;
  sigemptyset(&childSignal);
  sigaddset(&childSignal, SIGCHLD);
  sigprocmask(SIG_BLOCK, &childSignal, &previous);
  std::fflush(nullptr);
  std::vector<pid_t> children(nranks, -1);
  for (int rank = 0; rank < nranks; ++rank) {
    const pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      for (pid_t child : children)
        if (child > 0) kill(child, SIGKILL);
      return 1;
    }
    if (pid == 0) {
      sigprocmask(SIG_SETMASK, &previous, nullptr);
      for (int other = 1; other < nranks; ++other)
        if (other != rank) close(readEnds[other]);
      if (rank != 0)  // so that a rank 0 that dies shows as end-of-file at once
        for (int fd : writeEnds) close(fd);
      const int status = childMain(rank, nranks, rank == 0 ? writeEnds : std::vector<int>{}, readEnds[rank]);
      std::fflush(nullptr);
      std::_Exit(status);
    }
    children[rank] = pid;
  }
  for (int fd : readEnds)
    if (fd >= 0) close(fd);
  for (int fd : writeEnds) close(fd);

  timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += deadlineSeconds;
  int running = nranks, failed = 0;
  while (running > 0) {
    int status;
    pid_t pid;
    while (running > 0 && (pid = waitpid(-1, &status, WNOHANG)) > 0) {
      for (int rank = 0; rank < nranks; ++rank) {
        if (children[rank] != pid) continue;
        children[rank] = -1;
        --running;
        const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        failed += ok ? 0 : 1;
        if (!ok) std::fprintf(stderr, "FAIL: rank %d %s\n", rank, describeStatus(status).c_str());
      }
    }
    if (running == 0) break;
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    timespec left{deadline.tv_sec - now.tv_sec, deadline.tv_nsec - now.tv_nsec};
    if (left.tv_nsec < 0) { left.tv_nsec += 1000000000L; --left.tv_sec; }
    if (left.tv_sec >= 0) {
      if (sigtimedwait(&childSignal, nullptr, &left) >= 0 || errno == EINTR) continue;  // reap, or wait on
    }
    for (int rank = 0; rank < nranks; ++rank) {
      if (children[rank] <= 0) continue;
      std::fprintf(stderr, "FAIL: rank %d had not exited after %ld s; killing it\n", rank, deadlineSeconds);
      kill(children[rank], SIGKILL);
      waitpid(children[rank], &status, 0);
      ++failed;
    }
    break;
  }
  if (failed == 0) std::fprintf(stderr, "PASS: %d ranks, every check passed\n", nranks);
  return failed == 0 ? 0 : 1;
}
