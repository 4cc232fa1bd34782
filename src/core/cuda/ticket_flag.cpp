#include "core/cuda/ticket_flag.h"

#include <atomic>

namespace braid {

TicketFlag::TicketFlag(std::uint32_t* word) : word_(word) { publish(0); }

std::uint32_t TicketFlag::issue() {
  std::lock_guard<std::mutex> lock(mutex_);
  released_.push_back(false);
  return ++issued_;
}

void TicketFlag::release(std::uint32_t ticket) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Unsigned distance from the published word: wraps as the tickets do.
  const std::uint32_t index = ticket - published_ - 1;
  if (index >= released_.size()) return;
  released_[index] = true;
  std::uint32_t value = published_;
  while (!released_.empty() && released_.front()) {
    released_.pop_front();
    ++value;
  }
  if (value != published_) publish(value);
}

void TicketFlag::releaseAll() {
  std::lock_guard<std::mutex> lock(mutex_);
  released_.clear();
  if (issued_ != published_) publish(issued_);
}

std::uint32_t TicketFlag::published() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return published_;
}

void TicketFlag::publish(std::uint32_t value) {
  published_ = value;
  // Release order: the staged results written before this store are visible to the
  // copy engine that the stream starts once it reads the new value.
  std::atomic_ref<std::uint32_t>(*word_).store(value, std::memory_order_release);
}

}  // namespace braid
