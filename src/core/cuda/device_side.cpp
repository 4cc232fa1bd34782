#include "core/cuda/device_side.h"

#include "core/cuda/cuda_compute.h"
#include "core/cuda/cuda_driver.h"
#include "core/cuda/memory_kind.h"
#include "core/cuda/staging_pool.h"
#include "core/cuda/stream_order.h"
#include "core/cuda/stream_sharing.h"
#include "core/cuda/ticket_flag.h"
#include "core/log.h"
#include "reduce/cuda/device_reduce.h"

#include <array>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace braid {

struct DeviceSide::State {
  const cuda::Driver* driver = nullptr;
  CUcontext ctx = nullptr;  // the rank's context, bound at its first stream call
  int device = -1;
  int retainedPrimary = -1;  // the device whose primary context we retained, if we did
  std::uint32_t* word = nullptr;  // the ticket word, pinned and mapped for the GPU
  CUdeviceptr wordOnDevice = 0;
  std::unique_ptr<TicketFlag> flag;
  std::unique_ptr<StagingPool> pool;
  bool onDevice = false;  // staging in GPU memory, the collective run there
  std::string sharedComm;  // other ranks of the communicator are threads of this process: its tag
  std::unique_ptr<CudaCompute> compute;  // destroyed before the pool: its stream reads staging
  // abort() may run on another thread while the caller stages a call: binding, staging
  // and shutdown take turns.
  std::mutex mutex;
  std::atomic<bool> shut{false};
};

namespace {

std::string prefix(int rank, const char* call) { return "rank " + std::to_string(rank) + ": " + call + ": "; }

ErrorContext cudaContext(int rank) { return ErrorContext{rank, -1, "", "cuda"}; }

const cuda::Driver& driverFor(int rank, const char* call, const char* argument, const char* why) {
  try {
    return cuda::Driver::get();
  } catch (const std::runtime_error& e) {
    throw SystemError(prefix(rank, call) + "argument '" + argument + "' " + why + ", but CUDA cannot be used here: " +
                          e.what(), cudaContext(rank));
  }
}

// Ranks that share one context in this process share its hardware queues
// (CUDA_DEVICE_MAX_CONNECTIONS, 8 unless set before CUDA starts): streams beyond that
// share queues, and a stream that waits for a collective then holds up whatever is
// queued behind it, maybe another rank's copies that the collective needs, until
// BRAID_TIMEOUT. Each rank has two streams (the caller's and its worker's); said once,
// when the ranks of one context outgrow the queues.
void noteSharedContext(CUcontext ctx, int device) {
  static std::mutex mutex;
  static std::map<CUcontext, int> ranksOn;
  static bool said = false;
  std::lock_guard<std::mutex> lock(mutex);
  const int ranks = ++ranksOn[ctx];
  const char* set = std::getenv("CUDA_DEVICE_MAX_CONNECTIONS");
  const int queues = set && std::atoi(set) > 0 ? std::atoi(set) : 8;
  if (ranks < 2 || 2 * ranks + 1 <= queues || said) return;
  said = true;
  BRAID_WARN(std::to_string(ranks) + " ranks of this process use GPU " + std::to_string(device) + ": with their " +
             std::to_string(2 * ranks) + " streams on " + std::to_string(queues) + " hardware queues "
             "(CUDA_DEVICE_MAX_CONNECTIONS), a stream waiting for a collective can hold up another rank's copies "
             "until BRAID_TIMEOUT; set CUDA_DEVICE_MAX_CONNECTIONS to at least " + std::to_string(2 * ranks + 1) +
             " before CUDA starts");
}

// Throws UnsupportedError while `stream` (in context `ctx`) captures a CUDA graph: before
// anything is allocated, which capture forbids too.
void refuseGraphCapture(const cuda::Driver& d, int rank, const char* call, Stream stream, CUcontext ctx) {
  cuda::ContextScope scope(d, ctx);
  CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
  CUresult r = scope.status() != CUDA_SUCCESS ? scope.status()
                                              : d.cuStreamIsCapturing(static_cast<CUstream>(stream), &capture);
  const char* which = stream ? "argument 'stream'" : "the default stream (null 'stream')";
  if (r == CUDA_ERROR_STREAM_CAPTURE_IMPLICIT || (r == CUDA_SUCCESS && capture != CU_STREAM_CAPTURE_STATUS_NONE))
    throw UnsupportedError(prefix(rank, call) + which + " is capturing a CUDA graph (or another stream is, which "
                           "forbids the default stream): collectives in graph capture are not supported yet; issue "
                           "them outside the capture", ErrorContext{rank, -1, "", ""});
  if (r != CUDA_SUCCESS) cuda::throwCudaError(d, r, rank, call, std::string("checking ") + which + " for graph capture");
}

// Before the first stream of `ctx` waits on a collective, which the GPU work of any
// rank in the context may then be needed for (reduce/cuda/device_reduce.h says why).
void loadKernelsOnce(CUcontext ctx) {
  static std::mutex mutex;
  static std::set<CUcontext> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  if (loaded.count(ctx)) return;
  reduce::loadDeviceKernels();
  loaded.insert(ctx);
}

}  // namespace

DeviceSide::DeviceSide(int rank) : rank_(rank), state_(std::make_unique<State>()) {}

DeviceSide::~DeviceSide() { shutdown(std::chrono::milliseconds(0)); }

CallPath DeviceSide::route(const char* call, Stream stream, std::initializer_list<BufferArg> buffers) {
  // A process that never loaded the driver has no CUDA memory: host, at no cost.
  if (!stream && !cudaDriverLoaded()) return CallPath::Host;
  State& s = *state_;
  if (stream && !s.driver) s.driver = &driverFor(rank_, call, "stream", "is a CUDA stream");
  std::array<PointerInfo, 4> info{};
  if (buffers.size() > info.size()) throw Error(ErrorKind::Internal, prefix(rank_, call) + "too many buffers to route");
  bool onDevice = stream != nullptr;
  const BufferArg* firstDevice = nullptr;
  int firstDeviceOrdinal = -1;
  std::size_t i = 0;
  for (const BufferArg& b : buffers) {
    try {
      info[i] = inspectPointer(b.ptr);
    } catch (const std::runtime_error& e) {
      throw SystemError(prefix(rank_, call) + "cannot tell what memory argument '" + b.name + "' is: " + e.what(),
                        cudaContext(rank_));
    }
    if (info[i].kind == MemoryKind::Device || info[i].kind == MemoryKind::Managed) {
      onDevice = true;
      if (!firstDevice) firstDevice = &b, firstDeviceOrdinal = info[i].device;
    }
    ++i;
  }
  if (!onDevice) return CallPath::Host;
  if (s.shut) return CallPath::Stream;  // aborted: the call is refused before it is staged
  if (!s.driver) s.driver = &driverFor(rank_, call, firstDevice->name, "is CUDA memory");
  bind(call, stream, firstDeviceOrdinal);
  i = 0;
  for (const BufferArg& b : buffers) {
    const PointerInfo& p = info[i++];
    if (!b.ptr) continue;
    if (p.kind == MemoryKind::Host)
      throw InvalidArgument(prefix(rank_, call) + "argument '" + b.name + "' is pageable host memory, which a CUDA "
                            "stream cannot order: use device or managed memory, or host memory throughout with no "
                            "stream", ErrorContext{rank_, -1, "", ""});
    // The staging is pinned host memory too, and CUDA runs a copy between two host
    // buffers on the calling thread once the stream reaches it: behind this call's own
    // wait for its collective, which the worker starts only after this returns. The
    // caller would block, and two thread ranks deadlock (seen on an H100).
    if (p.kind == MemoryKind::HostPinned)
      throw InvalidArgument(prefix(rank_, call) + "argument '" + b.name + "' is pinned host memory, which calls on a "
                            "CUDA stream do not take yet: use device or managed memory, or host memory throughout "
                            "with no stream", ErrorContext{rank_, -1, "", ""});
    if (p.kind == MemoryKind::Device && p.device != s.device)
      throw InvalidArgument(prefix(rank_, call) + "argument '" + b.name + "' is device memory of GPU " +
                            std::to_string(p.device) + ", but this rank works on GPU " + std::to_string(s.device),
                            ErrorContext{rank_, -1, "", ""});
  }
  checkStream(call, stream);
  return CallPath::Stream;
}

bool DeviceSide::isCudaMemory(const char* call, const BufferArg& buffer) const {
  try {
    const MemoryKind kind = inspectPointer(buffer.ptr).kind;
    return kind == MemoryKind::Device || kind == MemoryKind::Managed;
  } catch (const std::runtime_error& e) {
    throw SystemError(prefix(rank_, call) + "cannot tell what memory argument '" + buffer.name + "' is: " + e.what(),
                      cudaContext(rank_));
  }
}

void DeviceSide::bind(const char* call, Stream stream, int deviceOfBuffer) {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.ctx) return;
  const cuda::Driver& d = *s.driver;
  CUcontext ctx = nullptr;
  if (stream) {
    CUresult r = d.cuStreamGetCtx(static_cast<CUstream>(stream), &ctx);
    if (r != CUDA_SUCCESS)
      throw InvalidArgument(prefix(rank_, call) + "argument 'stream' is not a usable CUDA stream: " + d.describe(r),
                            ErrorContext{rank_, -1, "", ""});
  } else {
    d.cuCtxGetCurrent(&ctx);
    // No context current on this thread: the buffer's GPU, if its primary context is
    // already active (retaining an active one creates nothing).
    unsigned int flags = 0;
    int active = 0;
    if (!ctx && deviceOfBuffer >= 0 && d.cuDevicePrimaryCtxGetState(deviceOfBuffer, &flags, &active) == CUDA_SUCCESS &&
        active && d.cuDevicePrimaryCtxRetain(&ctx, deviceOfBuffer) == CUDA_SUCCESS)
      s.retainedPrimary = deviceOfBuffer;
  }
  if (!ctx)
    throw InvalidUsage(prefix(rank_, call) + "CUDA memory without a stream needs a CUDA context current on the calling "
                       "thread (cudaSetDevice), or pass a stream", ErrorContext{rank_, -1, "", ""});
  refuseGraphCapture(d, rank_, call, stream, ctx);
  cuda::ContextScope scope(d, ctx);
  CUdevice device = -1;
  CUresult r = scope.status() != CUDA_SUCCESS ? scope.status() : d.cuCtxGetDevice(&device);
  if (r != CUDA_SUCCESS) cuda::throwCudaError(d, r, rank_, call, "finding the GPU of the rank's CUDA context");
  void* word = nullptr;
  r = d.cuMemHostAlloc(&word, 64, CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP);
  if (r != CUDA_SUCCESS) cuda::throwCudaError(d, r, rank_, call, "allocating the stream's ticket word");
  r = d.cuMemHostGetDevicePointer(&s.wordOnDevice, word, 0);
  if (r != CUDA_SUCCESS) {
    d.cuMemFreeHost(word);  // no stream has seen it
    cuda::throwCudaError(d, r, rank_, call, "mapping the stream's ticket word for the GPU");
  }
  s.word = static_cast<std::uint32_t*>(word);
  s.flag = std::make_unique<TicketFlag>(s.word);
  s.pool = std::make_unique<StagingPool>(d, rank_, s.onDevice);
  if (s.onDevice) {
    loadKernelsOnce(ctx);
    s.compute = std::make_unique<CudaCompute>(d, ctx, rank_);
  }
  s.ctx = ctx;
  s.device = device;
  noteSharedContext(ctx, device);
  BRAID_INFO("rank " + std::to_string(rank_) + ": device calls on GPU " + std::to_string(device) +
             (s.onDevice ? ", staged in GPU memory and run there, peers read through CUDA IPC"
                         : ", staged through pinned host memory"));
}

void DeviceSide::checkStream(const char* call, Stream stream) {
  State& s = *state_;
  const cuda::Driver& d = *s.driver;
  const ErrorContext ctx{rank_, -1, "", ""};
  if (stream) {
    CUcontext owner = nullptr;
    CUresult r = d.cuStreamGetCtx(static_cast<CUstream>(stream), &owner);
    if (r != CUDA_SUCCESS)
      throw InvalidArgument(prefix(rank_, call) + "argument 'stream' is not a usable CUDA stream: " + d.describe(r), ctx);
    if (owner != s.ctx)
      throw InvalidArgument(prefix(rank_, call) + "argument 'stream' belongs to another CUDA context than this rank's "
                            "(GPU " + std::to_string(s.device) + ")", ctx);
  }
  refuseGraphCapture(d, rank_, call, stream, s.ctx);
}

namespace {

// A host function at the end of a call: the stream is past it (user data: its ticket).
void CUDA_CB streamPastCall(void* ticket) {
  StreamSharing::process().finish(static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(ticket)));
}

}  // namespace

std::uint64_t DeviceSide::admitOnStream(const char* call, Stream stream) {
  State& s = *state_;
  const auto handle = static_cast<CUstream>(stream);
  StreamCall mine{s.sharedComm, s.ctx, rank_, orderingOf(*s.driver, handle, rank_, call), nullptr};
  // One handle, one stream; but the per-thread default stream is the calling thread's
  // own, known here by a variable of the thread's own.
  thread_local const char perThreadStream = 0;
  if (mine.ordering != StreamOrdering::Legacy)
    mine.stream = handle == CU_STREAM_PER_THREAD ? static_cast<const void*>(&perThreadStream) : handle;
  const auto admission = StreamSharing::process().admit(mine);
  if (admission.ticket > 0) return admission.ticket;
  const char* which = stream ? "argument 'stream'" : "the default stream (null 'stream')";
  const std::string theirs = admission.sameStream ? "that very stream" : describe(admission.ordering);
  throw InvalidArgument(prefix(rank_, call) + which + " is " + describe(mine.ordering) + ", and rank " +
                        std::to_string(admission.rank) + " of this communicator, in this process on the same GPU, has "
                        "a call on " + theirs + " that has not finished: each stream would wait for "
                        "the other's part of a collective until BRAID_TIMEOUT. Give every rank on a shared GPU a "
                        "stream of its own made with cudaStreamNonBlocking, or run the ranks as processes",
                        ErrorContext{rank_, -1, "", ""});
}

std::unique_ptr<StagedBatch> DeviceSide::enqueue(const char* call, Stream stream, std::vector<StagedRegion>& regions,
                                                 std::vector<StagedPiece> pieces) {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.shut)
    throw AbortedError(prefix(rank_, call) + "the communicator was aborted (Communicator::abort())",
                       ErrorContext{rank_, -1, "", ""});
  if (!s.ctx) throw Error(ErrorKind::Internal, prefix(rank_, call) + "staged without a bound GPU");
  const cuda::Driver& d = *s.driver;
  cuda::ContextScope scope(d, s.ctx);
  if (scope.status() != CUDA_SUCCESS) cuda::throwCudaError(d, scope.status(), rank_, call, "making the rank's context current");
  const std::uint64_t ticket = s.sharedComm.empty() ? 0 : admitOnStream(call, stream);
  try {
    const std::size_t bytes = layOut(regions);
    StagingSlot& slot = s.pool->acquire(bytes, call);
    if (s.onDevice) pieces.clear();
    auto batch = enqueueStaged(d, static_cast<CUstream>(stream), slot, *s.flag, s.wordOnDevice, regions, pieces,
                               rank_, call);
    if (ticket > 0) {
      // Fails only with the stream itself: the batch then goes, releasing the stream's waits.
      const CUresult r = d.cuLaunchHostFunc(static_cast<CUstream>(stream), streamPastCall,
                                            reinterpret_cast<void*>(static_cast<std::uintptr_t>(ticket)));
      if (r != CUDA_SUCCESS) cuda::throwCudaError(d, r, rank_, call, "marking the end of the call (cuLaunchHostFunc)");
    }
    return batch;
  } catch (...) {
    StreamSharing::process().finish(ticket);  // not on the stream, or not known to end there
    throw;
  }
}

void DeviceSide::shareStreamsWith(std::string comm) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->sharedComm = std::move(comm);
}

void DeviceSide::stageOnDevice() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (state_->ctx) return;  // bound already: too late to change where it stages
  state_->onDevice = true;
  // Load the kernels now if this thread has a context (a framework set its GPU before
  // creating the communicator): loading may wait for the context to be idle, and now
  // nothing on its streams waits for Braid. Otherwise bind() does it.
  if (!cudaDriverLoaded()) return;
  try {
    const cuda::Driver& d = cuda::Driver::get();
    CUcontext current = nullptr;
    if (d.cuCtxGetCurrent(&current) == CUDA_SUCCESS && current) loadKernelsOnce(current);
  } catch (const std::exception& e) {
    BRAID_INFO("rank " + std::to_string(rank_) + ": GPU kernels not loaded at init (" + e.what() +
               "); they load at the first call on a stream");
  }
}

std::string DeviceSide::currentGpuBusId() const {
  if (!cudaDriverLoaded()) return "";  // a host job: do not load CUDA to find no GPU
  try {
    const cuda::Driver& d = cuda::Driver::get();
    CUcontext current = nullptr;
    CUdevice device = -1;
    char bus[32] = {};
    if (d.cuCtxGetCurrent(&current) != CUDA_SUCCESS || !current || d.cuCtxGetDevice(&device) != CUDA_SUCCESS ||
        d.cuDeviceGetPCIBusId(bus, sizeof bus, device) != CUDA_SUCCESS)
      return "";
    return bus;
  } catch (const std::exception&) {
    return "";  // no usable driver: the rank has no GPU to place
  }
}

DeviceCompute* DeviceSide::compute() { return state_->compute.get(); }

void DeviceSide::shutdown(std::chrono::milliseconds bound) {
  State& s = *state_;
  const Deadline deadline(bound);
  // A caller staging a call (it may wait for staging memory) keeps it: the next
  // shutdown, from the destructor, finishes the job.
  std::unique_lock<std::mutex> lock(s.mutex, std::defer_lock);
  while (!lock.try_lock()) {
    if (deadline.expired()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Its streams wait for nobody now.
  if (s.ctx && !s.sharedComm.empty()) StreamSharing::process().forget(s.sharedComm, s.ctx, rank_);
  if (s.shut.exchange(true) || !s.ctx) return;
  s.flag->releaseAll();  // no stream waits on this rank any more
  const cuda::Driver& d = *s.driver;
  cuda::ContextScope scope(d, s.ctx);
  if (scope.status() != CUDA_SUCCESS) return;  // the context is gone, and its memory with it
  // The rank's own GPU work reads and writes staging too (it ends before the stream's
  // wait does, unless a run was cut short).
  std::size_t left = 0;
  if (s.compute) {
    try {
      s.compute->wait(s.compute->last(), deadline);
    } catch (const Error&) {
      left = 1;
    }
  }
  if (left == 0) left = s.pool->release(deadline);
  if (left == 0) {
    d.cuMemFreeHost(s.word);
    if (s.retainedPrimary >= 0) d.cuDevicePrimaryCtxRelease(s.retainedPrimary);
  } else {
    BRAID_WARN("rank " + std::to_string(rank_) + ": " + std::to_string(left >> 10) + " KiB of pinned staging memory "
               "stay allocated: a stream had not finished its last collective within " +
               std::to_string(bound.count()) + " ms (freeing it could corrupt what the stream still copies)");
  }
}

}  // namespace braid
