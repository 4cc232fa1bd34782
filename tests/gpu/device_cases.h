#pragma once
// One collective case, run by every rank twice on the same inputs: on GPU buffers with
// the rank's stream, and on host buffers. Both results are checked exactly against the
// values known in advance (tests/programs/expected_values.h) and the two against each
// other byte for byte, the parts a call must leave alone included.
#include "gpu_support.h"

#include <braid/braid.h>

#include <cstddef>
#include <string>
#include <vector>

namespace braid::gpu_test {

enum class CaseOp { AllReduce, AllGather, ReduceScatter, Broadcast, Reduce, AllToAll, SendRecv };

struct Case {
  CaseOp op;
  DataType type;
  ReduceOp red = ReduceOp::Sum;  // reductions only
  bool inPlace = false;
  std::size_t count = 0;  // elements per block, as the API counts them
  std::string name() const;
};

// Every collective (and a ring of grouped send/recv) x every datatype x every op, plus
// the in-place layouts of each collective that has one.
std::vector<Case> everyCase(std::size_t count);
// The largest buffer a case needs on a communicator of `size` ranks.
std::size_t caseBytes(const Case& c, int size);

// A page-locked host buffer (so stream copies to and from it never block the host).
class PinnedBuffer {
 public:
  explicit PinnedBuffer(std::size_t bytes);
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  unsigned char* get() const { return data_; }

 private:
  unsigned char* data_ = nullptr;
};

// A rank's GPU side for a run of cases: GPU 0, its own stream, buffers allocated once.
// (Allocating or freeing device memory may wait for the whole GPU, peers' streams
// included, and a peer's stream may be waiting for this rank's next call.)
struct RankDevice {
  explicit RankDevice(std::size_t maxBytes);
  std::size_t maxBytes;
  Stream stream;
  DeviceBuffer a, b;        // send and recv (one of them alone in place)
  PinnedBuffer upA, upB;    // inputs on their way up
  PinnedBuffer downA, downB;  // results on their way down
};

// Runs `c` on this rank (every rank of `comm` must run the same cases in the same
// order); failures are reported with EXPECT naming the rank and the case.
void runCase(Communicator& comm, RankDevice& device, const Case& c, unsigned seed);

}  // namespace braid::gpu_test
