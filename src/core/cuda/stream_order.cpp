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

void CUDA_CB markStaged(void* slot) {
  StagedSignal& signal = stagedSignal();
  {
    std::lock_guard<std::mutex> lock(signal.mutex);
    static_cast<StagingSlot*>(slot)->staged.store(true, std::memory_order_release);
  }
  signal.cv.notify_all();
}

class SlotBatch final : public StagedBatch {
 public:
  SlotBatch(TicketFlag& flag, StagingSlot& slot, int rank) : flag_(flag), slot_(slot), rank_(rank), ticket_(flag.issue()) {}
  ~SlotBatch() override { flag_.release(ticket_); }

  std::uint32_t ticket() const { return ticket_; }

  void waitUntilStaged(const std::string& what, const std::atomic<bool>& stop) override {
    const auto timeout = Env::get().timeout();
    const Deadline deadline(timeout);
    StagedSignal& signal = stagedSignal();
    std::unique_lock<std::mutex> lock(signal.mutex);
    while (!slot_.staged.load(std::memory_order_acquire)) {
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
  std::uint32_t ticket_;
};

}  // namespace

std::unique_ptr<StagedBatch> enqueueStaged(const cuda::Driver& driver, CUstream stream, StagingSlot& slot,
                                           TicketFlag& flag, CUdeviceptr flagOnDevice,
                                           const std::vector<StagedRegion>& regions, int rank, const char* call) {
  auto batch = std::make_unique<SlotBatch>(flag, slot, rank);
  for (int i = 0; i < static_cast<int>(regions.size()); ++i) batch->staged.push_back(stagedAddress(regions, i, slot.data));
  slot.staged.store(false);
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
  auto address = [](const void* p) { return reinterpret_cast<CUdeviceptr>(p); };
  for (std::size_t i = 0; i < regions.size(); ++i)
    if (regions[i].copyIn && regions[i].bytes > 0)
      check(driver.cuMemcpyAsync(address(batch->staged[i]), address(regions[i].user), regions[i].bytes, stream),
            "copying an input into staging on the stream (cuMemcpyAsync)");
  check(driver.cuLaunchHostFunc(stream, markStaged, &slot), "enqueueing the worker's start (cuLaunchHostFunc)");
  check(driver.cuStreamWaitValue32(stream, flagOnDevice, batch->ticket(), CU_STREAM_WAIT_VALUE_GEQ),
        "enqueueing the wait for the collective (cuStreamWaitValue32)");
  for (std::size_t i = 0; i < regions.size(); ++i)
    if (regions[i].copyOut && regions[i].bytes > 0)
      check(driver.cuMemcpyAsync(address(regions[i].user), address(batch->staged[i]), regions[i].bytes, stream),
            "copying a result back from staging on the stream (cuMemcpyAsync)");
  check(driver.cuEventRecord(slot.done, stream), "marking the end of the call on the stream (cuEventRecord)");
  return batch;
}

}  // namespace braid
