#include "core/cuda/cuda_compute.h"

#include "reduce/cuda/device_reduce.h"

#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

namespace braid {
namespace {

CUdeviceptr address(const void* p) { return reinterpret_cast<CUdeviceptr>(p); }

// Names this process in its exports (ExportedRange::process): random, so that a process
// in another pid namespace with the same pid differs; the pid mixed in, so that a child
// forked after the draw differs from its parent.
std::uint64_t processId() {
  static const std::uint64_t drawn = [] {
    try {
      std::random_device random;
      return std::uint64_t{random()} << 32 | random();
    } catch (const std::exception&) {  // no entropy source: the clock still tells processes apart
      return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) * 0x9e3779b97f4a7c15u;
    }
  }();
  return drawn ^ static_cast<std::uint64_t>(::getpid());
}

}  // namespace

CudaCompute::CudaCompute(const cuda::Driver& driver, CUcontext ctx, int rank) : d_(driver), ctx_(ctx), rank_(rank) {
  cuda::ContextScope scope(d_, ctx_);
  try {
    wakeFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd_ < 0)
      throw SystemError("rank " + std::to_string(rank_) + ": eventfd for GPU completions failed: " +
                        std::strerror(errno), ErrorContext{rank_, -1, "", "cuda"});
    CUresult r = d_.cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING);
    if (r != CUDA_SUCCESS) fail(r, "creating the rank's GPU work stream (cuStreamCreate)");
    for (auto& e : events_) {
      r = d_.cuEventCreate(&e, CU_EVENT_DISABLE_TIMING);
      if (r != CUDA_SUCCESS) fail(r, "creating the events of GPU work (cuEventCreate)");
    }
    // Allocated here, before this rank's stream waits on anything: the first runs then
    // allocate nothing while streams wait (an allocation may be a point of implicit
    // synchronisation). Larger needs still grow them on the worker.
    scratch(0, 1);
    scratch(1, 1);
  } catch (...) {
    release();  // no destructor runs for a half-made object
    throw;
  }
}

CudaCompute::~CudaCompute() {
  cuda::ContextScope scope(d_, ctx_);
  release();
}

void CudaCompute::release() {
  bool idle = true;
  try {
    wait(issued_, Deadline(std::chrono::seconds(5)));
  } catch (const Error&) {
    idle = false;  // the stream may still touch scratch: leave the GPU side allocated
  }
  if (idle) {
    for (auto& [base, ptr] : mapped_) d_.cuIpcCloseMemHandle(ptr);
    for (auto& s : scratch_)
      if (s.ptr) d_.cuMemFree(s.ptr);
    for (CUdeviceptr p : outgrown_) d_.cuMemFree(p);
    for (auto& e : events_)
      if (e) d_.cuEventDestroy(e);
    if (stream_) d_.cuStreamDestroy(stream_);
  }
  if (wakeFd_ >= 0) ::close(wakeFd_);  // only this object's calls touch it, on either path
}

void CudaCompute::fail(CUresult r, const std::string& what) const {
  cuda::throwCudaError(d_, r, rank_, "GPU collective", what);
}

void CudaCompute::setReduction(DataType type, ReduceOp op) {
  type_ = type;
  op_ = op;
}

std::uint64_t CudaCompute::issue(const char* what) {
  // A ticket's event is reused kEvents tickets later: that one must be done by then.
  if (issued_ + 1 > kEvents) wait(issued_ + 1 - kEvents, Deadline(std::chrono::seconds(60)));
  const std::uint64_t ticket = issued_ + 1;
  CUresult r = d_.cuEventRecord(events_[ticket % kEvents], stream_);
  if (r != CUDA_SUCCESS) fail(r, std::string("recording the end of ") + what + " (cuEventRecord)");
  issued_ = ticket;
  keepAwake();
  return ticket;
}

void CudaCompute::keepAwake() const {
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wakeFd_, &one, sizeof one);  // a full counter is still readable
}

std::uint64_t CudaCompute::copy(void* dst, const void* src, std::size_t bytes) {
  cuda::ContextScope scope(d_, ctx_);
  reduce::copyOnDevice(dst, src, bytes, stream_);
  return issue("a copy");
}

std::uint64_t CudaCompute::combine(void* dst, const void* a, const void* b, std::size_t count) {
  cuda::ContextScope scope(d_, ctx_);
  reduce::reduceOnDevice(dst, a, b, count, type_, op_, stream_);
  return issue("a reduction");
}

std::uint64_t CudaCompute::preMultiply(void* dst, const void* src, std::size_t count, const void* hostScalar) {
  cuda::ContextScope scope(d_, ctx_);
  reduce::preMultiplyOnDevice(dst, src, count, type_, hostScalar, stream_);
  return issue("a pre-multiplication");
}

std::uint64_t CudaCompute::finishAvg(void* data, std::size_t count, std::uint64_t divisor) {
  cuda::ContextScope scope(d_, ctx_);
  reduce::finishAvgOnDevice(data, count, type_, divisor, stream_);
  return issue("an average's division");
}

bool CudaCompute::done(std::uint64_t ticket) {
  if (ticket <= completed_) return true;
  if (ticket > issued_) throw Error(ErrorKind::Internal, "rank " + std::to_string(rank_) + ": GPU ticket not issued");
  cuda::ContextScope scope(d_, ctx_);
  const CUresult r = d_.cuEventQuery(events_[ticket % kEvents]);
  if (r == CUDA_ERROR_NOT_READY) return false;
  if (r != CUDA_SUCCESS) fail(r, "GPU work of a collective (a copy or reduction kernel)");
  completed_ = ticket;  // one stream: everything before it is done too
  if (completed_ == issued_) {  // nothing left to look for: poll() may sleep again
    std::uint64_t drained = 0;
    [[maybe_unused]] ssize_t n = ::read(wakeFd_, &drained, sizeof drained);
  }
  return true;
}

void CudaCompute::wait(std::uint64_t ticket, const Deadline& deadline) {
  // Nothing signals completion (no host function): yield for the first few looks, as a
  // short kernel is done within microseconds, then look every 20 us, leaving the core.
  for (int looks = 0; !done(ticket); ++looks) {
    if (deadline.expired())
      throw TimeoutError("rank " + std::to_string(rank_) + ": the GPU did not finish a copy or reduction of this rank's "
                         "collective before the deadline (BRAID_TIMEOUT)", ErrorContext{rank_, -1, "", "cuda"});
    if (looks < 64) sched_yield();
    else std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

void* CudaCompute::scratch(int which, std::size_t bytes) {
  Scratch& s = scratch_.at(static_cast<std::size_t>(which));
  if (s.bytes >= bytes && s.ptr) return reinterpret_cast<void*>(s.ptr);
  cuda::ContextScope scope(d_, ctx_);
  std::size_t size = std::max<std::size_t>(bytes, std::size_t{1} << 20);
  size = std::max(size, s.bytes * 2);
  CUdeviceptr p = 0;
  CUresult r = d_.cuMemAlloc(&p, size);
  if (r != CUDA_SUCCESS) fail(r, "allocating " + std::to_string(size) + " bytes of GPU scratch (cuMemAlloc)");
  if (s.ptr) outgrown_.push_back(s.ptr);  // peers may have it mapped: freed at the end
  s.ptr = p;
  s.bytes = size;
  return reinterpret_cast<void*>(p);
}

ExportedRange CudaCompute::exportRange(const void* ptr) {
  cuda::ContextScope scope(d_, ctx_);
  CUdeviceptr base = 0;
  std::size_t size = 0;
  CUresult r = d_.cuMemGetAddressRange(&base, &size, address(ptr));
  if (r != CUDA_SUCCESS) fail(r, "finding the allocation of a buffer to share with a peer (cuMemGetAddressRange)");
  auto it = exported_.find(base);
  if (it == exported_.end()) {
    CUipcMemHandle h;
    r = d_.cuIpcGetMemHandle(&h, base);
    if (r != CUDA_SUCCESS) fail(r, "exporting a buffer to a peer (cuIpcGetMemHandle)");
    it = exported_.emplace(base, h).first;
  }
  ExportedRange out;
  out.process = processId();
  out.address = address(ptr);
  out.offset = address(ptr) - base;
  static_assert(sizeof(CUipcMemHandle) == sizeof(out.handle));
  std::memcpy(out.handle.data(), &it->second, sizeof(CUipcMemHandle));
  return out;
}

const void* CudaCompute::map(const ExportedRange& range) {
  if (range.process == processId()) return reinterpret_cast<const void*>(range.address);
  auto it = mapped_.find(range.handle);
  if (it == mapped_.end()) {
    cuda::ContextScope scope(d_, ctx_);
    CUipcMemHandle h;
    std::memcpy(&h, range.handle.data(), sizeof h);
    CUdeviceptr base = 0;
    CUresult r = d_.cuIpcOpenMemHandle(&base, h, CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS);
    if (r != CUDA_SUCCESS)
      fail(r, "mapping a peer's GPU buffer (cuIpcOpenMemHandle; GPUs without peer access cannot share memory: "
              "BRAID_CUDA_IPC=0 stages through host memory instead)");
    it = mapped_.emplace(range.handle, base).first;
  }
  return reinterpret_cast<const void*>(it->second + range.offset);
}

}  // namespace braid
