#include "core/cuda/stream_order.h"

#include "core/deadline.h"
#include "core/env.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string>

namespace braid {
namespace {

// The driver runs host functions on a thread of its own; they only raise a flag and
// wake the workers. One process-wide condition serves every communicator: it is never
// destroyed, so a host function that runs late (a leaked slot) still finds it.
struct StagedSignal {
  std::mutex mutex;
  std::condition_variable cv;
};

StagedSignal& stagedSignal() {
  static auto* signal = new StagedSignal;
  return *signal;
}

// Runs once per piece, in stream order: the count is the number of pieces staged.
void CUDA_CB markStaged(void* slot) {
  StagedSignal& signal = stagedSignal();
  {
    std::lock_guard<std::mutex> lock(signal.mutex);
    static_cast<StagingSlot*>(slot)->staged.fetch_add(1, std::memory_order_release);
  }
  signal.cv.notify_all();
}

class SlotBatch final : public StagedBatch {
 public:
  // One ticket per piece (one for a whole call), issued in order: the stream waits for
  // each before copying back that piece's results.
  SlotBatch(TicketFlag& flag, StagingSlot& slot, int rank, std::size_t tickets) : flag_(flag), slot_(slot), rank_(rank) {
    for (std::size_t i = 0; i < tickets; ++i) tickets_.push_back(flag.issue());
  }
  ~SlotBatch() override {
    for (std::uint32_t t : tickets_) flag_.release(t);
  }

  std::uint32_t ticket(std::size_t piece) const { return tickets_[piece]; }

  void release(std::size_t piece) override {
    if (piece < tickets_.size()) flag_.release(tickets_[piece]);
  }

  void waitUntilStaged(const std::string& what, const std::atomic<bool>& stop, std::size_t piece) override {
    const auto timeout = Env::get().timeout();
    const Deadline deadline(timeout);
    StagedSignal& signal = stagedSignal();
    std::unique_lock<std::mutex> lock(signal.mutex);
    while (slot_.staged.load(std::memory_order_acquire) <= piece) {
      const ErrorContext ctx{rank_, -1, "", "cuda"};
      if (stop.load())
        throw AbortedError("rank " + std::to_string(rank_) + ": " + what + " was stopped while waiting for its stream", ctx);
      if (deadline.expired())
        throw TimeoutError("rank " + std::to_string(rank_) + ": " + what + ": its stream did not reach the call within "
                           "BRAID_TIMEOUT (" + std::to_string(timeout.count()) + " ms): work enqueued before it on the "
                           "stream has not finished, or failed", ctx);
      // Short slices: `stop` is raised without a notification.
      signal.cv.wait_for(lock, std::chrono::milliseconds(std::min(deadline.remainingMs(), 50)));
    }
  }

 private:
  TicketFlag& flag_;
  StagingSlot& slot_;
  int rank_;
  std::vector<std::uint32_t> tickets_;
};

}  // namespace

StreamOrdering orderingOf(const cuda::Driver& driver, CUstream stream, int rank, const char* call) {
  if (!stream || stream == CU_STREAM_LEGACY) return StreamOrdering::Legacy;
  // The per-thread default stream does not wait for other threads' streams, but it
  // does wait for the legacy one, as a blocking stream does.
  if (stream == CU_STREAM_PER_THREAD) return StreamOrdering::Blocking;
  unsigned int flags = 0;
  const CUresult r = driver.cuStreamGetFlags(stream, &flags);
  if (r != CUDA_SUCCESS) throwCudaError(driver, r, rank, call, "reading the flags of argument 'stream' (cuStreamGetFlags)");
  return (flags & CU_STREAM_NON_BLOCKING) ? StreamOrdering::NonBlocking : StreamOrdering::Blocking;
}

std::unique_ptr<StagedBatch> enqueueStaged(const cuda::Driver& driver, CUstream stream, StagingSlot& slot,
                                           TicketFlag& flag, CUdeviceptr flagOnDevice,
                                           const std::vector<StagedRegion>& regions,
                                           const std::vector<StagedPiece>& pieces, int rank, const char* call) {
  if (!pieces.empty()) {
    // Every cut region must hold the whole range the pieces cover, from its start.
    const std::size_t total = pieces.back().firstByte + pieces.back().bytes;
    for (const StagedRegion& r : regions)
      if (!r.whole && (r.bytes != total || (r.within >= 0 && r.offset != 0)))
        throw Error(ErrorKind::Internal, "rank " + std::to_string(rank) + ": " + call + ": a region of " +
                    std::to_string(r.bytes) + " bytes cannot be staged in pieces of a " + std::to_string(total) +
                    "-byte call", ErrorContext{rank, -1, "", "cuda"});
  }
  auto batch = std::make_unique<SlotBatch>(flag, slot, rank, std::max<std::size_t>(1, pieces.size()));
  for (int i = 0; i < static_cast<int>(regions.size()); ++i) batch->staged.push_back(stagedAddress(regions, i, slot.data));
  batch->pieces = pieces;
  slot.staged.store(0);
  bool enqueued = false;  // from the first success on, the stream may touch the slot
  auto check = [&](CUresult r, const char* what) {
    if (r == CUDA_SUCCESS) {
      enqueued = true;
      return;
    }
    // What was enqueued may still touch the slot: it is free again once the stream is
    // past it, if the stream can still say when.
    if (enqueued) slot.poisoned = driver.cuEventRecord(slot.done, stream) != CUDA_SUCCESS;
    throwCudaError(driver, r, rank, call, what);
  };
  const std::size_t count = std::max<std::size_t>(1, pieces.size());
  // Piece k's range of region i, as (offset, bytes). A region staged whole goes in with
  // the first piece and out with the last.
  auto range = [&](std::size_t i, std::size_t k, bool in) -> std::pair<std::size_t, std::size_t> {
    if (pieces.empty()) return {0, regions[i].bytes};
    if (regions[i].whole) return {0, k == (in ? 0 : count - 1) ? regions[i].bytes : 0};
    return {pieces[k].firstByte, pieces[k].bytes};
  };
  auto address = [](const void* p, std::size_t offset) { return reinterpret_cast<CUdeviceptr>(p) + offset; };
  for (std::size_t k = 0; k < count; ++k) {
    for (std::size_t i = 0; i < regions.size(); ++i) {
      const auto [offset, bytes] = range(i, k, true);
      if (regions[i].copyIn && bytes > 0)
        check(driver.cuMemcpyAsync(address(batch->staged[i], offset), address(regions[i].user, offset), bytes, stream),
              "copying an input into staging on the stream (cuMemcpyAsync)");
    }
    check(driver.cuLaunchHostFunc(stream, markStaged, &slot), "enqueueing the worker's start (cuLaunchHostFunc)");
  }
  for (std::size_t k = 0; k < count; ++k) {
    check(driver.cuStreamWaitValue32(stream, flagOnDevice, batch->ticket(k), CU_STREAM_WAIT_VALUE_GEQ),
          "enqueueing the wait for the collective (cuStreamWaitValue32)");
    for (std::size_t i = 0; i < regions.size(); ++i) {
      const auto [offset, bytes] = range(i, k, false);
      if (regions[i].copyOut && bytes > 0)
        check(driver.cuMemcpyAsync(address(regions[i].user, offset), address(batch->staged[i], offset), bytes, stream),
              "copying a result back from staging on the stream (cuMemcpyAsync)");
    }
  }
  check(driver.cuEventRecord(slot.done, stream), "marking the end of the call on the stream (cuEventRecord)");
  return batch;
}

}  // namespace braid
