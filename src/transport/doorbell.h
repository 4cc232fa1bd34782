#pragma once
// A futex word in shared memory that a rank sleeps on when none of its connections can
// move. Peers ring it after they publish data for this rank or free space it waits for,
// so a rank with nothing to do costs no CPU (ranks may outnumber cores).
#include <atomic>
#include <cstdint>

namespace braid {

class Doorbell {
 public:
  // The value to pass to wait(); read it before checking for work, so that a ring
  // between the check and the sleep is not lost.
  std::uint32_t read() const { return seq_.load(std::memory_order_seq_cst); }
  // Wakes the owner if it sleeps. Cheap when it does not: one atomic add, one load.
  void ring();
  // Sleeps until ring() is called after `seen` was read, or `timeoutMs` passes.
  void wait(std::uint32_t seen, int timeoutMs);

 private:
  std::atomic<std::uint32_t> seq_{0};
  std::atomic<std::uint32_t> sleepers_{0};
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "futex words must be lock-free");

}  // namespace braid
