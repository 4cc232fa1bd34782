#include "core/cuda/stream_sharing.h"

namespace braid {

bool streamsSerialise(StreamOrdering a, StreamOrdering b) {
  if (a == StreamOrdering::NonBlocking || b == StreamOrdering::NonBlocking) return false;
  return a == StreamOrdering::Legacy || b == StreamOrdering::Legacy;
}

const char* describe(StreamOrdering ordering) {
  switch (ordering) {
    case StreamOrdering::Legacy: return "the legacy default stream";
    case StreamOrdering::Blocking: return "a blocking stream";
    case StreamOrdering::NonBlocking: return "a non-blocking stream";
  }
  return "a stream";
}

StreamSharing& StreamSharing::process() {
  static auto* sharing = new StreamSharing;  // never destroyed: a stream may finish a call after exit starts
  return *sharing;
}

StreamSharing::Admission StreamSharing::admit(const StreamCall& call) {
  std::lock_guard<std::mutex> lock(mutex_);
  Admission refusal;
  for (const auto& [ticket, other] : unfinished_) {
    if (other.rank == call.rank || other.comm != call.comm || other.context != call.context) continue;
    const bool same = call.stream && other.stream == call.stream;
    if (!same && !streamsSerialise(call.ordering, other.ordering)) continue;
    if (refusal.rank < 0 || other.rank < refusal.rank) refusal = Admission{0, other.rank, other.ordering, same};
  }
  if (refusal.rank >= 0) return refusal;
  const std::uint64_t ticket = nextTicket_++;
  unfinished_.emplace(ticket, call);
  return Admission{ticket};
}

void StreamSharing::finish(std::uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mutex_);
  unfinished_.erase(ticket);
}

void StreamSharing::forget(const std::string& comm, const void* context, int rank) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = unfinished_.begin(); it != unfinished_.end();) {
    const StreamCall& c = it->second;
    it = c.rank == rank && c.comm == comm && c.context == context ? unfinished_.erase(it) : std::next(it);
  }
}

std::size_t StreamSharing::unfinished() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return unfinished_.size();
}

}  // namespace braid
