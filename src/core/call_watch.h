#pragma once
// Calls into another library that Braid cannot give a deadline: a CUDA driver call
// that never returns (one that waits for the GPU to go idle while a stream waits on
// Braid, say) hangs its thread where none of Braid's deadlines can reach it. A CallWatch
// around such a call lets a watchdog thread say so: once a call has run for
// callWatchLimit(), the log names it, its thread and how to see where it is stuck, and
// again when (if) it returns. It only reports; it never ends a call.
//
// Cheap enough for every driver call: a few plain stores into this thread's slot and a
// clock read; the watchdog thread starts with the first watched call. Watching never
// makes a call fail: without a thread or memory for the watchdog, calls run unwatched.
#include <chrono>
#include <cstdint>

namespace braid {

class CallWatch {
 public:
  // `what` must outlive the call (a string literal).
  explicit CallWatch(const char* what) noexcept;
  ~CallWatch();
  CallWatch(const CallWatch&) = delete;
  CallWatch& operator=(const CallWatch&) = delete;

 private:
  struct CallWatchSlot* slot_ = nullptr;  // null: not watched (nested, or no slot)
  std::uint64_t seq_ = 0;                 // the slot's count for this call
};

// How long a watched call runs before it is reported (default 10 s), and how often the
// watchdog looks (a tenth of it, at most a second). Tests shorten it.
std::chrono::milliseconds callWatchLimit();
void setCallWatchLimit(std::chrono::milliseconds limit);
// How many slow calls the watchdog has reported in this process.
std::uint64_t callWatchReports();

}  // namespace braid
