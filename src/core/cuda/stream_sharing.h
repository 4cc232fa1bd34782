#pragma once
// Ranks of one communicator that are threads of one process on one GPU share its legacy
// default stream, and the legacy stream orders every blocking stream of the context
// behind it and itself behind them. A call on a stream waits, on that stream, for its
// collective, which needs the other ranks' copies into staging; if those copies sit on
// a stream that waits for this one, neither ever runs: both ranks would only learn it at
// BRAID_TIMEOUT. StreamSharing remembers, per communicator and context, how each rank's
// latest call is ordered with the legacy stream, so that the call that would close such
// a loop is refused at once, naming the rank it would wait for.
//
// Pure logic (no CUDA), tested on the host; DeviceSide classifies the streams.
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace braid {

// How a stream is ordered with the legacy default stream of its context.
enum class StreamOrdering {
  Legacy,       // the legacy default stream itself (a null stream, CU_STREAM_LEGACY)
  Blocking,     // a stream created without CU_STREAM_NON_BLOCKING, or a per-thread default stream
  NonBlocking,  // created with CU_STREAM_NON_BLOCKING: independent of it
};

// Whether work on two streams ordered so waits for the other's earlier work: true when
// one is the legacy stream and the other is not non-blocking.
bool streamsSerialise(StreamOrdering a, StreamOrdering b);

// "the legacy default stream", "a blocking stream", "a non-blocking stream".
const char* describe(StreamOrdering ordering);

class StreamSharing {
 public:
  // The one registry of this process (thread ranks meet only here).
  static StreamSharing& process();

  // Another rank's latest call, on a stream that serialises with the one asked about.
  struct Conflict {
    int rank = -1;  // -1: none
    StreamOrdering ordering = StreamOrdering::NonBlocking;
  };
  // `rank` of communicator `comm` (its unique id) issues a call on a stream ordered as
  // `ordering` in CUDA context `context`. Returns the lowest other rank of the same
  // communicator and context whose latest call is on a stream that serialises with this
  // one, and records nothing; else records the call and returns no conflict.
  Conflict admit(const std::string& comm, const void* context, int rank, StreamOrdering ordering);
  // The rank is gone (its communicator was destroyed or aborted).
  void forget(const std::string& comm, const void* context, int rank);

 private:
  using Key = std::pair<std::string, const void*>;
  std::mutex mutex_;
  std::map<Key, std::map<int, StreamOrdering>> latest_;
};

}  // namespace braid
