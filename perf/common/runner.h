#pragma once
// The benchmark driver shared by every *_perf tool. A tool describes its collective
// (buffer shapes, the call, its inputs and expected results, the bus-bandwidth factor)
// and hands it to benchmarkMain, which does what nccl-tests' common code does: sweep
// the sizes, time out-of-place and in-place runs, check a fresh run of each, report.
#include "common/data.h"

#include <braid/communicator.h>

#include <cstddef>

namespace perf {

// Element counts of one benchmark size.
struct Shape {
  std::size_t count = 0;        // the count argument of the call
  std::size_t sendCount = 0;    // elements the call reads at send
  std::size_t recvCount = 0;    // elements it writes at recv: the region checked
  std::size_t sendInPlace = 0;  // in place, send = base + sendInPlace * rank elements
  std::size_t recvInPlace = 0;  // in place, recv = base + recvInPlace * rank elements
};

// Everything a checked run's data depends on; identical on every rank but for `rank`.
struct CheckContext {
  DataSpec spec;
  int rank = 0;
  int root = 0;
  Shape shape;
  bool inPlace = false;
};

class Collective {
 public:
  virtual ~Collective() = default;
  virtual const char* name() const = 0;  // the tool's name, e.g. "all_reduce_perf"
  virtual bool reduces() const { return false; }  // loops over -o and prints the op
  virtual bool rooted() const { return false; }   // loops over -r and prints the root
  // The shape for `elements` = size / type size elements (nccl-tests' conventions).
  virtual Shape shape(std::size_t elements, int nranks) const = 0;
  // busbw = algbw * factor: what each rank's link must carry, relative to algbw.
  virtual double busFactor(int nranks) const = 0;
  // What all ranks together must at least read and write in their buffers per byte of
  // the size column (memory_bound.h): 2n where every rank reads and writes the size,
  // n + 1 where one side is the size and the other a rank's share (or the root's).
  virtual double memoryTraffic(int nranks) const = 0;
  // `stream` is the rank's CUDA stream when the buffers are on a GPU, else nullptr.
  virtual void run(braid::Communicator& comm, const void* send, void* recv, const Shape& s, braid::DataType type,
                   const braid::Reduction& op, int root, braid::Stream stream) const = 0;
  // Writes this rank's input at `send` (sendCount elements), or nothing where the call
  // does not read it: in place, a rank's send area lies inside its receive area, and
  // writing data the call never reads there would let a no-op pass the check.
  virtual void input(const CheckContext& c, void* send) const = 0;
  // Writes the result this rank must hold afterwards (recvCount elements) at `want`.
  virtual void expected(const CheckContext& c, void* want) const = 0;
  // True where the call promises not to touch recv (reduce off the root): then the
  // expected result is whatever recv held before the call.
  virtual bool leavesRecv(const CheckContext&) const { return false; }
  // False where in-place has no defined result, so that only its time is reported
  // (#wrong prints N/A, as nccl-tests does for its in-place alltoall).
  virtual bool checksInPlace() const { return true; }
};

// Parses the flags, creates the communicator from the launcher's environment, runs
// the sweep and returns the process exit status: 0 when every check passed, 1 on a
// wrong element or any error (printed with the rank), 2 on bad flags.
int benchmarkMain(int argc, char** argv, const Collective& coll);

}  // namespace perf
