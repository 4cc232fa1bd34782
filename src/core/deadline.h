#pragma once
#include <chrono>

namespace braid {

// A point in time after which a wait gives up. Every blocking wait in Braid takes one.
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Deadline(std::chrono::milliseconds fromNow) : at_(Clock::now() + fromNow) {}
  bool expired() const { return Clock::now() >= at_; }
  // Milliseconds left, clamped to [0, cap]; handy for poll() and futex timeouts.
  int remainingMs(int cap = 1 << 30) const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at_ - Clock::now()).count();
    if (left < 0) return 0;
    return left > cap ? cap : static_cast<int>(left);
  }
  Clock::time_point at() const { return at_; }

 private:
  Clock::time_point at_;
};

}  // namespace braid
