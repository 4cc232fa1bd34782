#include "core/cuda/staging_pool.h"

#include "core/env.h"

#include <algorithm>
#include <string>
#include <thread>

namespace braid {
namespace {

std::size_t slotSize(std::size_t bytes) {
  std::size_t size = StagingPool::kMinSlotBytes;
  while (size < bytes) size *= 2;
  return size;
}

}  // namespace

StagingPool::~StagingPool() {
  // release() freed the slots, or decided they must stay: a stream may still copy into
  // them and a host function may still set their flag. Either way, never free here.
  for (auto& slot : slots_) slot.release();
}

bool StagingPool::idle(const StagingSlot& slot, const char* call) const {
  if (slot.poisoned) return false;
  const CUresult r = driver_.cuEventQuery(slot.done);  // never recorded: CUDA_SUCCESS
  if (r == CUDA_SUCCESS) return true;
  if (r == CUDA_ERROR_NOT_READY) return false;
  throwCudaError(driver_, r, rank_, call, "checking whether a stream is done with its staging (cuEventQuery)");
}

void StagingPool::free(StagingSlot& slot) {
  if (onDevice_) driver_.cuMemFree(reinterpret_cast<CUdeviceptr>(slot.data));
  else driver_.cuMemFreeHost(slot.data);
}

StagingSlot& StagingPool::grow(std::size_t bytes, const char* call) {
  auto slot = std::make_unique<StagingSlot>();
  const std::size_t size = slotSize(bytes);
  void* data = nullptr;
  CUdeviceptr onGpu = 0;
  CUresult r = onDevice_ ? driver_.cuMemAlloc(&onGpu, size) : driver_.cuMemHostAlloc(&data, size, CU_MEMHOSTALLOC_PORTABLE);
  if (r != CUDA_SUCCESS)
    throwCudaError(driver_, r, rank_, call,
                   "allocating " + std::to_string(size) + " bytes of " + (onDevice_ ? "GPU" : "pinned") +
                       " staging memory");
  if (onDevice_) data = reinterpret_cast<void*>(onGpu);
  slot->data = static_cast<unsigned char*>(data);
  slot->capacity = size;
  r = driver_.cuEventCreate(&slot->done, CU_EVENT_DISABLE_TIMING);
  if (r != CUDA_SUCCESS) {
    free(*slot);  // never handed to a stream
    throwCudaError(driver_, r, rank_, call, "creating a staging event");
  }
  totalBytes_ += size;
  slots_.push_back(std::move(slot));
  return *slots_.back();
}

StagingSlot& StagingPool::acquire(std::size_t bytes, const char* call) {
  StagingSlot* best = nullptr;
  bool busyFits = false;
  for (auto& slot : slots_) {
    if (slot->capacity < bytes || slot->poisoned) continue;
    if (!idle(*slot, call)) {
      busyFits = true;
      continue;
    }
    if (!best || slot->capacity < best->capacity) best = slot.get();
  }
  if (best) return *best;
  if (!busyFits || totalBytes_ + slotSize(bytes) <= kSoftCapBytes) return grow(bytes, call);
  // Past the cap: an earlier call's slot is free once its stream has copied back.
  const auto timeout = Env::get().timeout();
  const Deadline deadline(timeout);
  for (auto pause = std::chrono::microseconds(20);; pause = std::min(pause * 2, std::chrono::microseconds(1000))) {
    for (auto& slot : slots_)
      if (slot->capacity >= bytes && idle(*slot, call)) return *slot;
    if (deadline.expired())
      throw TimeoutError("rank " + std::to_string(rank_) + ": " + call + ": waited BRAID_TIMEOUT (" +
                             std::to_string(timeout.count()) + " ms) for staging memory: the calls already on " +
                             "this rank's streams hold " + std::to_string(totalBytes_ >> 20) + " MiB and none has finished",
                         ErrorContext{rank_, -1, "", "cuda"});
    std::this_thread::sleep_for(pause);
  }
}

std::size_t StagingPool::release(const Deadline& deadline) {
  // A poisoned slot never becomes free: nothing is, and there is nothing to wait for.
  if (std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return s->poisoned; })) return totalBytes_;
  auto allIdle = [&] {
    return std::all_of(slots_.begin(), slots_.end(), [&](const auto& s) {
      try {
        return idle(*s, "shutdown");
      } catch (const Error&) {
        return false;  // cannot tell (the context is gone, say): keep it
      }
    });
  };
  while (!allIdle()) {
    if (deadline.expired()) return totalBytes_;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (auto& slot : slots_) {
    driver_.cuEventDestroy(slot->done);
    free(*slot);
  }
  slots_.clear();
  totalBytes_ = 0;
  return 0;
}

}  // namespace braid
