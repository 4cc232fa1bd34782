// Communicator::abort(): it ends a call (and queued asynchronous work) blocked on a peer
// that never calls, within a second; the peer hears of it; everything the communicator
// held is freed at once; and the process can make a new communicator and use it.
#include "rank_threads.h"

#include "core/communicator_impl.h"
#include "core/env.h"
#include "scoped_env.h"

#include <gtest/gtest.h>

#include <dirent.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

namespace braid {
namespace {

using testing::RankOutcome;
using testing::runRanks;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

using testing::ScopedEnv;

// Counts down to zero; waits are bounded.
class Countdown {
 public:
  explicit Countdown(int n) : left_(n) {}
  void arrive() {
    std::lock_guard<std::mutex> lock(m_);
    if (--left_ <= 0) cv_.notify_all();
  }
  bool waitFor(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(m_);
    return cv_.wait_for(lock, limit, [&] { return left_ <= 0; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int left_;
};

// Polls `done` until it holds or `limit` passes: a bounded wait on a condition that no
// event announces (another thread entering a call, a background notice arriving).
template <class F>
bool eventually(F done, std::chrono::milliseconds limit) {
  const auto until = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

bool inCollective(Communicator& c) {
  return static_cast<CallState>(c.impl().record().state) == CallState::InCollective;
}

std::string messageOf(std::exception_ptr e) { return RankOutcome{std::move(e)}.message(); }

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

TEST(Abort, EndsACallBlockedOnAPeerThatNeverCallsWithinASecond) {
  ScopedEnv timeout("BRAID_TIMEOUT", "60s");  // the call must end by abort, not by deadline
  Countdown rank0Done(1);
  RankOutcome blocked;
  bool wasInCall = false;
  double abortSeconds = -1, blockedEndedSeconds = -1;
  std::string peerHeard, afterAbort;
  auto out = runRanks(2, [&](Communicator& c) {
    if (c.rank() == 1) {  // never calls; learns in the background that rank 0 gave up
      EXPECT_TRUE(eventually([&] { return c.asyncError() != nullptr; }, 10s));
      peerHeard = messageOf(c.asyncError());
      EXPECT_TRUE(rank0Done.waitFor(10s));
      return;
    }
    std::vector<float> a(1 << 16, 1.0f), b(a.size());
    Clock::time_point abortedAt;
    std::thread caller([&] {
      try {
        c.allReduce(a.data(), b.data(), a.size(), DataType::Float32, ReduceOp::Sum);
      } catch (...) {
        blocked.error = std::current_exception();
      }
      blockedEndedSeconds = secondsSince(abortedAt);
    });
    wasInCall = eventually([&] { return inCollective(c); }, 10s);
    abortedAt = Clock::now();
    c.abort();
    abortSeconds = secondsSince(abortedAt);
    caller.join();
    try {
      c.allReduce(a.data(), b.data(), a.size(), DataType::Float32, ReduceOp::Sum);
    } catch (const AbortedError& e) {
      afterAbort = e.what();
    }
    EXPECT_THROW(c.allGather(a.data(), b.data(), 8, DataType::Float32), AbortedError);
    EXPECT_TRUE(RankOutcome{c.asyncError()}.threw<AbortedError>());
    c.abort();  // twice is harmless
    rank0Done.arrive();
  });
  for (auto& o : out) EXPECT_FALSE(o.error) << o.message();
  EXPECT_TRUE(wasInCall);
  EXPECT_GE(abortSeconds, 0.0);
  EXPECT_LT(abortSeconds, 1.0);
  EXPECT_LT(blockedEndedSeconds, 1.0);
  EXPECT_TRUE(blocked.threw<AbortedError>()) << blocked.message();
  EXPECT_NE(blocked.message().find("rank 0"), std::string::npos) << blocked.message();
  EXPECT_NE(afterAbort.find("rank 0"), std::string::npos) << afterAbort;
  EXPECT_NE(afterAbort.find("aborted"), std::string::npos) << afterAbort;
  EXPECT_NE(peerHeard.find("rank 0"), std::string::npos) << peerHeard;
  EXPECT_NE(peerHeard.find("aborted"), std::string::npos) << peerHeard;
  std::printf("abort() returned after %.3f s; the blocked all-reduce ended %.3f s after abort began\n", abortSeconds,
              blockedEndedSeconds);
}

TEST(Abort, EndsAsyncWorkInFlightAndQueued) {
  ScopedEnv timeout("BRAID_TIMEOUT", "60s");
  Countdown rank0Done(1);
  std::vector<RankOutcome> works(3);
  double abortSeconds = -1;
  auto out = runRanks(2, [&](Communicator& c) {
    if (c.rank() == 1) {
      EXPECT_TRUE(rank0Done.waitFor(10s));
      return;
    }
    std::vector<std::vector<float>> a(3, std::vector<float>(1024, 1.0f)), b = a;
    std::vector<Work> w;
    for (int k = 0; k < 3; ++k)
      w.push_back(c.allReduceAsync(a[k].data(), b[k].data(), 1024, DataType::Float32, ReduceOp::Sum));
    EXPECT_TRUE(eventually([&] { return inCollective(c); }, 10s));
    auto t0 = Clock::now();
    c.abort();
    abortSeconds = secondsSince(t0);
    for (int k = 0; k < 3; ++k) {
      EXPECT_TRUE(w[k].test());  // abort() has finished every one of them
      try {
        w[k].wait();
      } catch (...) {
        works[k].error = std::current_exception();
      }
    }
    Work late = c.allReduceAsync(a[0].data(), b[0].data(), 1024, DataType::Float32, ReduceOp::Sum);
    EXPECT_THROW(late.wait(), AbortedError);
    rank0Done.arrive();
  });
  for (auto& o : out) EXPECT_FALSE(o.error) << o.message();
  EXPECT_LT(abortSeconds, 1.0);
  for (int k = 0; k < 3; ++k) EXPECT_TRUE(works[k].threw<AbortedError>()) << k << ": " << works[k].message();
}

int countEntries(const char* dir) {
  int n = 0;
  if (DIR* d = opendir(dir)) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

int sharedMemoryMappings() {
  std::ifstream maps("/proc/self/maps");
  int n = 0;
  for (std::string line; std::getline(maps, line);) n += line.find("/dev/shm/") != std::string::npos;
  return n;
}

struct Held {
  int fds, threads, shmMaps;
};
Held held() { return {countEntries("/proc/self/fd"), countEntries("/proc/self/task"), sharedMemoryMappings()}; }

// ThreadSanitizer's runtime starts a background thread of its own the first time it
// needs one, possibly after the baseline was counted.
#if defined(__SANITIZE_THREAD__)
constexpr int kRuntimeThreads = 1;
#else
constexpr int kRuntimeThreads = 0;
#endif

TEST(Abort, FreesEverythingAtOnceAndANewCommunicatorWorks) {
  for (const char* transports : {"shm", "tcp"}) {
    ScopedEnv which("BRAID_TRANSPORTS", transports);
    const int ranks = 3;
    const Held before = held();
    Countdown computed(ranks), aborted(ranks), checked(1);
    std::vector<RankOutcome> out;
    std::thread job([&] { out = runRanks(ranks, [&](Communicator& c) {
      std::vector<std::int64_t> v(4096, c.rank() + 1), s(4096);
      c.allReduce(v.data(), s.data(), v.size(), DataType::Int64, ReduceOp::Sum);
      for (auto x : s) ASSERT_EQ(x, 6);
      computed.arrive();
      EXPECT_TRUE(computed.waitFor(10s));  // no rank aborts while another still finishes the call
      c.abort();  // healthy peers, idle: still immediate
      aborted.arrive();
      EXPECT_TRUE(checked.waitFor(10s));  // the objects live on while the main thread counts
    }); });
    EXPECT_TRUE(aborted.waitFor(10s));
    // What is left is the rank threads themselves and the thread running them; the
    // rendezvous root's thread (from UniqueId::create) ends by itself after the join.
    Held now{};
    bool freed = eventually(
        [&] {
          now = held();
          return now.fds <= before.fds && now.threads <= before.threads + ranks + 1 + kRuntimeThreads && now.shmMaps <= before.shmMaps;
        },
        5s);
    checked.arrive();
    job.join();
    EXPECT_TRUE(freed) << transports << ": fds " << before.fds << " -> " << now.fds << ", threads " << before.threads
                       << " -> " << now.threads << ", /dev/shm mappings " << before.shmMaps << " -> " << now.shmMaps;
    for (auto& o : out) EXPECT_FALSE(o.error) << o.message();

    auto again = runRanks(ranks, [](Communicator& c) {
      std::vector<std::int64_t> v(100000, c.rank() + 1), s(v.size());
      c.allReduce(v.data(), s.data(), v.size(), DataType::Int64, ReduceOp::Sum);
      for (auto x : s) ASSERT_EQ(x, 6);
      EXPECT_FALSE(c.asyncError());
    });
    for (auto& o : again) EXPECT_FALSE(o.error) << o.message();
  }
}

}  // namespace
}  // namespace braid
