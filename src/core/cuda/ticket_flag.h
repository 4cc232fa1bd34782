#pragma once
// The word a CUDA stream waits on (cuStreamWaitValue32, "until word >= ticket") while
// the communicator's worker runs a staged call. Each staged call (each piece of one cut
// into pieces) takes the next ticket; the worker releases it when its part is done,
// failed or was dropped. A stream waits
// for "all tickets up to mine are released", so the word may only move past a ticket
// once every earlier one is released too: a call that fails early must not let an
// earlier call's stream copy out results that are not there yet.
//
// Pure host logic over a plain 32-bit word, so it is tested without a GPU; on the
// device path the word lives in pinned, device-mapped memory.
#include <cstdint>
#include <deque>
#include <mutex>

namespace braid {

class TicketFlag {
 public:
  // `word` must stay valid (and 4-byte aligned) while any stream may still wait on it.
  explicit TicketFlag(std::uint32_t* word);

  // The next ticket: 1, 2, ... (wrapping; the stream's comparison is cyclic).
  std::uint32_t issue();
  // Marks `ticket` done. The word advances over every consecutive released ticket.
  // Releasing a ticket twice, or one never issued, is ignored.
  void release(std::uint32_t ticket);
  // Releases every ticket issued so far (shutdown: no stream may wait forever).
  void releaseAll();
  // What the word says now: every ticket up to it is released.
  std::uint32_t published() const;

 private:
  void publish(std::uint32_t value);

  mutable std::mutex mutex_;
  std::uint32_t* word_;
  std::uint32_t issued_ = 0;     // last ticket handed out
  std::uint32_t published_ = 0;  // last ticket written to the word
  std::deque<bool> released_;    // tickets published_+1 .. issued_: released early?
};

}  // namespace braid
