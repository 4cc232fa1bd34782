#include "transport/doorbell.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

namespace braid {
namespace {

// Shared (not FUTEX_PRIVATE) operations: the word lives in memory mapped by other processes.
long futex(std::atomic<std::uint32_t>* word, int op, std::uint32_t value, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op, value, timeout, nullptr, 0);
}

}  // namespace

void Doorbell::ring() {
  seq_.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) != 0) futex(&seq_, FUTEX_WAKE, 1 << 30, nullptr);
}

void Doorbell::wait(std::uint32_t seen, int timeoutMs) {
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  // The kernel compares seq_ with `seen` atomically with going to sleep: a ring that
  // happened after `seen` was read makes this return at once.
  if (seq_.load(std::memory_order_seq_cst) == seen) {
    timespec ts{timeoutMs / 1000, (timeoutMs % 1000) * 1000000L};
    futex(&seq_, FUTEX_WAIT, seen, &ts);
  }
  sleepers_.fetch_sub(1, std::memory_order_seq_cst);
}

}  // namespace braid
