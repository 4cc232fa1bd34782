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
  static auto* sharing = new StreamSharing;  // never destroyed: ranks may outlive static destructors
  return *sharing;
}

StreamSharing::Conflict StreamSharing::admit(const std::string& comm, const void* context, int rank,
                                             StreamOrdering ordering) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& ranks = latest_[Key{comm, context}];
  for (const auto& [other, theirs] : ranks)
    if (other != rank && streamsSerialise(ordering, theirs)) return Conflict{other, theirs};
  if (ordering == StreamOrdering::NonBlocking)
    ranks.erase(rank);  // the default: an entry only for the orderings that can conflict
  else
    ranks[rank] = ordering;
  if (ranks.empty()) latest_.erase(Key{comm, context});
  return {};
}

void StreamSharing::forget(const std::string& comm, const void* context, int rank) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = latest_.find(Key{comm, context});
  if (it == latest_.end()) return;
  it->second.erase(rank);
  if (it->second.empty()) latest_.erase(it);
}

}  // namespace braid
