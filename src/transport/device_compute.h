#pragma once
// What a run on GPU memory uses in place of memcpy and the CPU kernels: copies and
// reductions enqueued on the rank's own stream, each answered by a ticket that says
// when it is done, and the naming of buffers across processes (an export that a peer
// on the same host maps into its own address space).
//
// The cudaipc connections pull a peer's chunk with it; the executor runs its local
// steps with it; the communicator pre-multiplies and averages with it. Plain C++: the
// CUDA implementation is core/cuda/cuda_compute.*, and host tests use a memcpy fake.
#include "core/deadline.h"

#include <braid/types.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace braid {

// A range of one rank's GPU memory, as a peer on the same host can map it.
struct ExportedRange {
  // The exporting process, as a number it drew at random: the same process uses
  // `address` as is. Not its pid, which a process in another pid namespace may share.
  std::uint64_t process = 0;
  std::uint64_t address = 0;    // the range's start in the exporting process
  std::uint64_t offset = 0;     // of the range in its allocation
  std::array<unsigned char, 64> handle{};  // the allocation's IPC handle (cuIpcGetMemHandle)
};

class DeviceCompute {
 public:
  virtual ~DeviceCompute() = default;

  // The type and op that combine() uses from now on (one collective call).
  virtual void setReduction(DataType type, ReduceOp op) = 0;

  // Each returns the ticket of the work it enqueued; tickets grow, and work completes in
  // ticket order. SystemError when CUDA refuses.
  virtual std::uint64_t copy(void* dst, const void* src, std::size_t bytes) = 0;
  // dst[i] = a[i] (op) b[i] for i < count.
  virtual std::uint64_t combine(void* dst, const void* a, const void* b, std::size_t count) = 0;
  virtual std::uint64_t preMultiply(void* dst, const void* src, std::size_t count, const void* hostScalar) = 0;
  virtual std::uint64_t finishAvg(void* data, std::size_t count, std::uint64_t divisor) = 0;

  // Whether the work of `ticket` (and all before it) is done; ticket 0 always is.
  virtual bool done(std::uint64_t ticket) = 0;
  // Waits for `ticket`; TimeoutError once `deadline` passes.
  virtual void wait(std::uint64_t ticket, const Deadline& deadline) = 0;
  // The ticket of the last work enqueued (0: none yet).
  virtual std::uint64_t last() const = 0;
  // A descriptor for poll() that is readable while enqueued work may be outstanding, so
  // a rank with GPU work in flight polls done() rather than sleeping (-1: none).
  virtual int wakeFd() const = 0;

  // GPU memory of this rank that peers can map (export() works anywhere inside it),
  // `which` of a few independent buffers, kept and reused between calls.
  virtual void* scratch(int which, std::size_t bytes) = 0;
  // `ptr` must lie in memory this rank can export: staging or scratch.
  virtual ExportedRange exportRange(const void* ptr) = 0;
  // A peer's range in this process. Mappings are cached for the communicator's life.
  virtual const void* map(const ExportedRange& range) = 0;
};

}  // namespace braid
