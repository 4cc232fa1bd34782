#pragma once
// Staging for calls on CUDA memory, cached per communicator: pinned host memory, or GPU
// memory when every rank is on this host (the cudaipc connections then read it from
// the peers' GPUs; see device_side.h). A slot is reused once
// the stream has copied its results back (its event has completed); the pool grows by
// powers of two and frees nothing until shutdown, because freeing pinned memory may
// synchronise the device, and a rank that waits for the GPU while a peer's stream
// waits for it would stall both until BRAID_TIMEOUT.
#include "core/cuda/cuda_driver.h"
#include "core/deadline.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace braid {

struct StagingSlot {
  unsigned char* data = nullptr;
  std::size_t capacity = 0;
  CUevent done = nullptr;           // recorded on the stream after the slot's last copy back
  bool poisoned = false;            // an enqueue failed half-way: never reused, never freed
  std::atomic<std::uint32_t> staged{0};  // counted by the stream's host functions: pieces whose inputs are in
};

class StagingPool {
 public:
  // More pinned memory than this in flight makes a caller wait for an earlier call's
  // slot (when one is big enough) instead of allocating more.
  static constexpr std::size_t kSoftCapBytes = std::size_t{1} << 30;
  static constexpr std::size_t kMinSlotBytes = std::size_t{64} << 10;

  StagingPool(const cuda::Driver& driver, int rank, bool onDevice)
      : driver_(driver), rank_(rank), onDevice_(onDevice) {}
  ~StagingPool();

  // The caller's thread, with the rank's context current. Returns a slot the streams
  // are done with, of at least `bytes`. Blocks only past kSoftCapBytes, bounded by
  // BRAID_TIMEOUT. SystemError on a CUDA failure (out of pinned memory, say).
  StagingSlot& acquire(std::size_t bytes, const char* call);
  // Waits until every slot is done (at most until `deadline`), then frees them all and
  // returns 0; otherwise frees nothing (a stream or a host function may still touch a
  // slot) and returns the bytes left allocated.
  std::size_t release(const Deadline& deadline);

 private:
  bool idle(const StagingSlot& slot, const char* call) const;
  StagingSlot& grow(std::size_t bytes, const char* call);

  const cuda::Driver& driver_;
  void free(StagingSlot& slot);

  int rank_;
  bool onDevice_;
  std::vector<std::unique_ptr<StagingSlot>> slots_;
  std::size_t totalBytes_ = 0;
};

}  // namespace braid
