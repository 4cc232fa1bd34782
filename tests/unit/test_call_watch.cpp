// A call Braid cannot put a deadline on (a CUDA driver call) is named in the log once
// it has run too long, and again when it returns; a quick call is never named.
#include "core/call_watch.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace braid {
namespace {

using Clock = std::chrono::steady_clock;

// Restores the default limit whatever the test does.
struct ShortLimit {
  explicit ShortLimit(std::chrono::milliseconds limit) : before(callWatchLimit()) { setCallWatchLimit(limit); }
  ~ShortLimit() { setCallWatchLimit(before); }
  std::chrono::milliseconds before;
};

TEST(CallWatch, ACallThatDoesNotReturnIsNamedAndSoIsItsReturn) {
  ShortLimit limit(std::chrono::milliseconds(200));  // well above any preemption of the quick calls
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  const std::uint64_t before = callWatchReports();
  ::testing::internal::CaptureStderr();
  std::thread stuck([&] {
    const CallWatch watch("cuFakeStuckCall");
    const CallWatch inner("cuFakeInnerCall");  // inside a watched call: the outer one is named
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return release; });  // a call that returns only when told
  });
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (callWatchReports() == before && Clock::now() < deadline) std::this_thread::yield();
  const bool reported = callWatchReports() > before;
  {
    std::lock_guard<std::mutex> lock(m);
    release = true;
  }
  cv.notify_all();
  stuck.join();
  for (int i = 0; i < 100; ++i) const CallWatch quick("cuFakeQuickCall");
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(reported) << "the watchdog never reported a call stuck for 30 s";
  EXPECT_NE(log.find("cuFakeStuckCall has not returned after"), std::string::npos) << log;
  EXPECT_NE(log.find("gdb -p " + std::to_string(::getpid())), std::string::npos) << log;
  EXPECT_NE(log.find("cuFakeStuckCall returned after"), std::string::npos) << log;
  EXPECT_EQ(log.find("cuFakeQuickCall"), std::string::npos) << log;
  EXPECT_EQ(log.find("cuFakeInnerCall"), std::string::npos) << log;
}

TEST(CallWatch, EachSlowCallIsReportedOnce) {
  ShortLimit limit(std::chrono::milliseconds(20));
  const std::uint64_t before = callWatchReports();
  ::testing::internal::CaptureStderr();
  {
    const CallWatch watch("cuFakeSlowCall");
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (callWatchReports() == before && Clock::now() < deadline) std::this_thread::yield();
    // Ten more of the watchdog's looks at the same call: still one report.
    const auto until = Clock::now() + std::chrono::milliseconds(200);
    while (Clock::now() < until) std::this_thread::yield();
  }
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(callWatchReports(), before + 1) << log;
}

}  // namespace
}  // namespace braid
