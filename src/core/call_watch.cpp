#include "core/call_watch.h"

#include "core/log.h"

#include <pthread.h>
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

// One per thread that has made a watched call; reused once that thread has ended. Only
// the owning thread writes `what` and `startNs`, under the sequence count `seq` (odd
// while it writes), so the watchdog reads a consistent pair or skips the slot.
struct CallWatchSlot {
  std::atomic<bool> inUse{false};
  long thread = 0;  // the kernel's id of the thread, for gdb
  std::atomic<std::uint64_t> seq{0};
  std::atomic<const char*> what{nullptr};  // the call under way, null when none
  std::atomic<std::int64_t> startNs{0};
  std::atomic<std::uint64_t> reported{0};  // `seq` of the call last reported

  // The owning thread only.
  std::uint64_t publish(const char* call, std::int64_t start) {
    // Release stores (no fences, which TSan cannot follow): a reader that sees a new
    // field also sees the odd count stored before it, and skips the slot.
    const std::uint64_t s = seq.load(std::memory_order_relaxed);
    seq.store(s + 1, std::memory_order_relaxed);
    what.store(call, std::memory_order_release);
    startNs.store(start, std::memory_order_release);
    seq.store(s + 2, std::memory_order_release);
    return s + 2;
  }
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
// A forked child starts a fresh one (atfork below): it has none of the parent's threads.
std::atomic<Registry*> gRegistry{new Registry};
Registry& registry() { return *gRegistry.load(std::memory_order_acquire); }

// This thread's slot, handed back when the thread ends; after that (destructors of
// statics on the main thread), calls go unwatched rather than into a slot another
// thread may have taken.
struct ThreadSlot {
  CallWatchSlot* slot = nullptr;
  ~ThreadSlot();
};
thread_local ThreadSlot tSlot;
thread_local bool tSlotGone = false;  // trivially destructible: still readable after ~ThreadSlot

ThreadSlot::~ThreadSlot() {
  if (slot) slot->inUse.store(false, std::memory_order_release);
  slot = nullptr;
  tSlotGone = true;
}

void watch(Registry* r) {
  const std::string pid = std::to_string(::getpid());
  std::vector<std::string> lines;
  std::unique_lock<std::mutex> lock(r->mutex);
  while (true) {
    const std::int64_t limitMs = r->limitMs.load(std::memory_order_relaxed);
    r->changed.wait_for(lock, std::chrono::milliseconds(std::clamp<std::int64_t>(limitMs / 10, 1, 1000)));
    const std::int64_t now = nowNs();
    for (CallWatchSlot& s : r->slots) {
      if (!s.inUse.load(std::memory_order_acquire)) continue;
      const std::uint64_t before = s.seq.load(std::memory_order_acquire);
      const char* what = s.what.load(std::memory_order_acquire);
      const std::int64_t start = s.startNs.load(std::memory_order_acquire);
      if (before % 2 || s.seq.load(std::memory_order_relaxed) != before) continue;  // being written
      if (!what || now - start < limitMs * 1000000 || s.reported.load(std::memory_order_relaxed) == before) continue;
      s.reported.store(before, std::memory_order_release);
      lines.push_back(std::string(what) + " has not returned after " + seconds(now - start) + " (thread " +
                      std::to_string(s.thread) + " of pid " + pid +
                      "); Braid's deadlines cannot end a call into another library. Where it waits: gdb -p " + pid +
                      " -batch -ex 'thread apply all bt'");
    }
    if (lines.empty()) continue;
    // Logged unlocked: a slow stderr must not hold up threads claiming their slots.
    lock.unlock();
    for (const std::string& line : lines) BRAID_WARN(line);
    r->reports.fetch_add(lines.size(), std::memory_order_release);
    lines.clear();
    lock.lock();
  }
}

// Null when no slot can be had: the call then runs unwatched, never fails for this.
CallWatchSlot* claimSlot() noexcept {
  static std::once_flag atfork;
  std::call_once(atfork, [] {
    // The child gets a fresh registry (the old one's mutex may be held by a thread the
    // child does not have), and the forking thread forgets its slot in the old one.
    pthread_atfork(nullptr, nullptr, [] {
      gRegistry.store(new Registry, std::memory_order_release);
      tSlot.slot = nullptr;
    });
  });
  try {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    if (!r.watching) {
      std::thread(watch, &r).detach();
      r.watching = true;
    }
    auto it = std::find_if(r.slots.begin(), r.slots.end(), [](const CallWatchSlot& s) { return !s.inUse.load(); });
    CallWatchSlot& slot = it != r.slots.end() ? *it : r.slots.emplace_back();
    slot.thread = static_cast<long>(::syscall(SYS_gettid));
    slot.inUse.store(true, std::memory_order_release);
    return &slot;
  } catch (...) {
    return nullptr;  // no thread or no memory for the watchdog: the call itself must not suffer
  }
}

}  // namespace

CallWatch::CallWatch(const char* what) noexcept {
  if (!tSlot.slot && !tSlotGone) tSlot.slot = claimSlot();
  CallWatchSlot* slot = tSlot.slot;
  // A watch inside a watched call adds nothing: the outer one is what a hang would show.
  if (!slot || slot->what.load(std::memory_order_relaxed)) return;
  slot_ = slot;
  seq_ = slot->publish(what, nowNs());
}

CallWatch::~CallWatch() {
  if (!slot_) return;
  const char* what = slot_->what.load(std::memory_order_relaxed);
  const std::int64_t start = slot_->startNs.load(std::memory_order_relaxed);
  slot_->publish(nullptr, 0);
  if (slot_->reported.load(std::memory_order_acquire) == seq_)
    BRAID_WARN(std::string(what) + " returned after " + seconds(nowNs() - start));
}

std::chrono::milliseconds callWatchLimit() { return std::chrono::milliseconds(registry().limitMs.load()); }

void setCallWatchLimit(std::chrono::milliseconds limit) {
  Registry& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mutex);  // so the watchdog cannot miss the wake-up
    r.limitMs.store(std::max<std::int64_t>(1, limit.count()));
  }
  r.changed.notify_all();
}

std::uint64_t callWatchReports() { return registry().reports.load(std::memory_order_acquire); }

}  // namespace braid
