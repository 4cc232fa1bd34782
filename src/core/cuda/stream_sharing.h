#pragma once
// Ranks of one communicator that are threads of one process on one GPU share its legacy
// default stream, and the legacy stream orders every blocking stream of the context
// behind it and itself behind them. A call on a stream waits, on that stream, for its
// collective, which needs the other ranks' copies into staging; if those copies sit on
// a stream that waits for this one (or on this very stream), neither ever runs, and both
// ranks would only learn it at BRAID_TIMEOUT. StreamSharing knows, per communicator and
// context, which calls of which rank are still on their streams and how those streams
// are ordered, so that the call that would close such a loop is refused before it is
// enqueued, naming the rank it would wait for.
//
// It sees one communicator at a time: a loop through another communicator, or through a
// thread that synchronises with a stream, stays the caller's to avoid.
//
// Pure logic (no CUDA), tested on the host; DeviceSide classifies the streams and tells
// it when a stream is past a call.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

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

// A call about to be enqueued.
struct StreamCall {
  std::string comm;              // the communicator (its tag, the same on all its ranks)
  const void* context = nullptr;  // the CUDA context
  int rank = -1;
  StreamOrdering ordering = StreamOrdering::NonBlocking;
  const void* stream = nullptr;  // what tells the stream from others (null: the legacy stream)
};

class StreamSharing {
 public:
  // The one registry of this process (thread ranks meet only here).
  static StreamSharing& process();

  struct Admission {
    std::uint64_t ticket = 0;  // > 0: admitted; finish() it once the stream is past the call
    int rank = -1;             // else: the lowest other rank with an unfinished call it would wait for
    StreamOrdering ordering = StreamOrdering::NonBlocking;  // how that call's stream is ordered
    bool sameStream = false;   // that call is on the very same stream
  };
  // Admits the call unless another rank of the same communicator and context has an
  // unfinished call on a stream that serialises with this one, or on the same stream.
  Admission admit(const StreamCall& call);
  // The stream is past the call, or it was never enqueued. Unknown tickets are ignored
  // (the rank was forgotten first).
  void finish(std::uint64_t ticket);
  // The rank is gone (destroyed or aborted: its streams wait for nobody now).
  void forget(const std::string& comm, const void* context, int rank);
  // Unfinished calls of all ranks.
  std::size_t unfinished() const;

 private:
  mutable std::mutex mutex_;
  std::uint64_t nextTicket_ = 1;
  std::map<std::uint64_t, StreamCall> unfinished_;  // by ticket
};

}  // namespace braid
