#include "core/call_watch.h"

#include "core/log.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace braid {

// One per thread that has made a watched call; reused once that thread has ended.
struct CallWatchSlot {
  std::atomic<bool> inUse{false};
  long thread = 0;                          // the kernel's id of the thread, for gdb
  std::atomic<const char*> what{nullptr};   // the call under way, null when none
  std::atomic<std::int64_t> startNs{0};
  std::atomic<std::uint64_t> call{0};       // numbers this thread's calls
  std::atomic<std::uint64_t> reported{0};   // the number of the call last reported
};

namespace {

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string seconds(std::int64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ns) / 1e9);
  return text;
}

struct Registry {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<CallWatchSlot> slots;  // a deque: slots never move, the watchdog and owners hold pointers
  std::atomic<std::int64_t> limitMs{10000};
  std::atomic<std::uint64_t> reports{0};
  bool watching = false;
};

// Never destroyed: the watchdog thread runs until the process ends, exit handlers too.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

void watch() {
  Registry& r = registry();
  const std::string pid = std::to_string(::getpid());
  std::vector<std::string> lines;
  std::unique_lock<std::mutex> lock(r.mutex);
  while (true) {
    const std::int64_t limitMs = r.limitMs.load(std::memory_order_relaxed);
    r.changed.wait_for(lock, std::chrono::milliseconds(std::clamp<std::int64_t>(limitMs / 10, 1, 1000)));
    const std::int64_t now = nowNs();
    for (CallWatchSlot& s : r.slots) {
      if (!s.inUse.load(std::memory_order_acquire)) continue;
      const std::uint64_t call = s.call.load(std::memory_order_acquire);
      const char* what = s.what.load(std::memory_order_acquire);
      const std::int64_t ran = now - s.startNs.load(std::memory_order_relaxed);
      if (!what || ran < limitMs * 1000000 || s.reported.load(std::memory_order_relaxed) == call) continue;
      s.reported.store(call, std::memory_order_release);
      lines.push_back(std::string(what) + " has not returned after " + seconds(ran) + " (thread " +
                      std::to_string(s.thread) + " of pid " + pid +
                      "); Braid's deadlines cannot end a call into another library. Where it waits: gdb -p " + pid +
                      " -batch -ex 'thread apply all bt'");
    }
    if (lines.empty()) continue;
    // Logged unlocked: a slow stderr must not hold up threads claiming their slots.
    lock.unlock();
    for (const std::string& line : lines) BRAID_WARN(line);
    r.reports.fetch_add(lines.size(), std::memory_order_relaxed);
    lines.clear();
    lock.lock();
  }
}

CallWatchSlot* claimSlot() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (!r.watching) {
    std::thread(watch).detach();
    r.watching = true;
  }
  auto it = std::find_if(r.slots.begin(), r.slots.end(), [](const CallWatchSlot& s) { return !s.inUse.load(); });
  CallWatchSlot& slot = it != r.slots.end() ? *it : r.slots.emplace_back();
  slot.thread = static_cast<long>(::syscall(SYS_gettid));
  slot.inUse.store(true, std::memory_order_release);
  return &slot;
}

// This thread's slot, handed back when the thread ends.
struct ThreadSlot {
  CallWatchSlot* slot = nullptr;
  ~ThreadSlot() {
    if (slot) slot->inUse.store(false, std::memory_order_release);
  }
};
thread_local ThreadSlot tSlot;

}  // namespace

CallWatch::CallWatch(const char* what) {
  if (!tSlot.slot) tSlot.slot = claimSlot();
  slot_ = tSlot.slot;
  slot_->call.fetch_add(1, std::memory_order_relaxed);
  slot_->startNs.store(nowNs(), std::memory_order_relaxed);
  slot_->what.store(what, std::memory_order_release);
}

CallWatch::~CallWatch() {
  const char* what = slot_->what.exchange(nullptr, std::memory_order_acq_rel);
  if (slot_->reported.load(std::memory_order_acquire) == slot_->call.load(std::memory_order_relaxed))
    BRAID_WARN(std::string(what) + " returned after " + seconds(nowNs() - slot_->startNs.load()));
}

std::chrono::milliseconds callWatchLimit() { return std::chrono::milliseconds(registry().limitMs.load()); }

void setCallWatchLimit(std::chrono::milliseconds limit) {
  registry().limitMs.store(std::max<std::int64_t>(1, limit.count()));
  registry().changed.notify_all();
}

std::uint64_t callWatchReports() { return registry().reports.load(); }

}  // namespace braid
