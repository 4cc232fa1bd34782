#pragma once
// A fixture that runs braidrun (BRAIDRUN_PATH) with stdout/stderr captured in files.
// Every run is bounded: a braidrun still running past its limit is SIGKILLed (its
// ranks die with it) and the test fails.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef BRAIDRUN_PATH
#error "BRAIDRUN_PATH must name the braidrun binary"
#endif

namespace braid::testing {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  return lines;
}

// Lines of braidrun's own messages in `err`.
inline std::vector<std::string> braidrunLines(const std::string& err) {
  std::vector<std::string> out;
  for (auto& l : splitLines(err))
    if (l.rfind("braidrun:", 0) == 0) out.push_back(l);
  return out;
}

inline bool processGone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  // Re-parented to an init that does not reap: a zombie is dead too.
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return stat.empty() || (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z');
}

struct Result {
  bool finished = false;  // false: still running at the limit, SIGKILLed
  int exitCode = -1;      // -1 unless it exited normally
  int signal = 0;
  std::string out, err;
  double seconds = 0;
};

class BraidrunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/braidrun_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // How braidrun's caller leaves signals: all default and unblocked (whatever the test
  // runner had: a background job ignores SIGINT, for one), or additionally SIGUSR1
  // blocked and SIGUSR2 ignored, to see that ranks get the caller's state back.
  enum class CallerSignals { Default, Custom };

  // Starts braidrun with `args`, stdout/stderr into files; `env` is added to its environment.
  pid_t start(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
              CallerSignals signals = CallerSignals::Default) {
    std::string out = (dir_ / "stdout").string(), err = (dir_ / "stderr").string();
    std::vector<std::string> argv{BRAIDRUN_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    started_ = Clock::now();
    pid_t pid = ::fork();
    if (pid == 0) {
      for (auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      for (int sig = 1; sig < NSIG; ++sig)
        if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
      sigset_t mask;
      sigemptyset(&mask);
      if (signals == CallerSignals::Custom) {
        sigaddset(&mask, SIGUSR1);
        ::signal(SIGUSR2, SIG_IGN);
      }
      ::sigprocmask(SIG_SETMASK, &mask, nullptr);
      FILE* o = std::freopen(out.c_str(), "w", stdout);
      FILE* e = std::freopen(err.c_str(), "w", stderr);
      if (!o || !e) ::_exit(250);
      ::execv(cargv[0], cargv.data());
      ::_exit(251);
    }
    return pid;
  }

  Result wait(pid_t pid, std::chrono::seconds limit = 20s) {
    Result r;
    int status = 0;
    auto deadline = Clock::now() + limit;
    while (true) {
      pid_t got = ::waitpid(pid, &status, WNOHANG);
      if (got == pid) {
        r.finished = true;
        break;
      }
      if (Clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(5ms);  // the test's own bounded wait, not braidrun's
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    if (WIFEXITED(status)) r.exitCode = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    r.out = readFile(dir_ / "stdout");
    r.err = readFile(dir_ / "stderr");
    return r;
  }

  Result run(const std::vector<std::string>& args, std::chrono::seconds limit = 20s,
             const std::map<std::string, std::string>& env = {},
             CallerSignals signals = CallerSignals::Default) {
    return wait(start(args, env, signals), limit);
  }

  // `braidrun -n N [opts] sh -c SCRIPT sh DIR`: the script sees the test directory as $1.
  std::vector<std::string> shJob(int n, const std::string& script, std::vector<std::string> opts = {}) {
    std::vector<std::string> a{"-n", std::to_string(n)};
    a.insert(a.end(), opts.begin(), opts.end());
    a.insert(a.end(), {"--", "sh", "-c", script, "sh", dir_.string()});
    return a;
  }

  // Waits (bounded) until the ranks have written $1/pid.<rank>; returns those pids.
  std::vector<pid_t> waitForPidFiles(int n, std::chrono::seconds limit = 10s) {
    auto deadline = Clock::now() + limit;
    std::vector<pid_t> pids;
    while (Clock::now() < deadline) {
      pids.clear();
      for (int r = 0; r < n; ++r) {
        std::string text = readFile(dir_ / ("pid." + std::to_string(r)));
        if (text.empty() || text.back() != '\n') break;
        pids.push_back(static_cast<pid_t>(std::stol(text)));
      }
      if (static_cast<int>(pids.size()) == n) return pids;
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "ranks did not all write their pid files";
    return pids;
  }

  fs::path dir_;
  Clock::time_point started_;
};

}  // namespace braid::testing
