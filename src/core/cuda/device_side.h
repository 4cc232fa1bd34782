#pragma once
// Calls on CUDA memory and streams: where a call runs, and the staged data path.
//
// A call with a null stream and host memory only (pageable or pinned) runs on the host,
// as always. Any other call is stream-ordered, as NCCL's are: on the caller's thread
// the stream gets a copy of the inputs into pinned host staging, a host function that
// tells the communicator's worker the inputs are there, a wait on a ticket word in
// pinned device-mapped memory (cuStreamWaitValue32: the GPU's front end waits, no SM
// spins), and the copies of the results back; the call returns at once. The worker,
// in issue order with the communicator's other work, runs the host collective on the
// staging and releases the ticket; on any failure it still releases it (and the
// communicator is broken with that error), so a stream never waits forever. A large
// elementwise call is staged in pieces, each with its own host function and ticket, so
// the stream's copies overlap the collective (stagingPieces()).
//
// When every rank of the communicator is on this host and BRAID_CUDA_IPC=1 (experimental:
// it has yet to run through on a GPU), the staging is GPU memory instead: the stream copies device to device, and the worker
// runs the collective on the GPU, reading the peers' staging through CUDA IPC
// (transport/cudaipc/) with the kernels of reduce/cuda/ (compute()).
//
// Nothing assumes one rank per GPU: each rank has its own streams, staging and ticket
// word, whether its peers on the GPU are threads of this process or other processes.
// A null stream with device memory means the legacy default stream (NCCL's stream 0);
// ranks that are threads of one process on one GPU share it, so a call on it (or on a
// blocking stream, or on another rank's stream) while another rank's call that it would
// wait for is unfinished is refused (stream_sharing.h).
#include <braid/communicator.h>

#include "core/cuda/staging_plan.h"
#include "transport/device_compute.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace braid {

// A buffer argument as the API names it ("sendbuff", "recvbuff").
struct BufferArg {
  const char* name;
  const void* ptr;
};

enum class CallPath { Host, Stream };

// The worker's half of one staged call (or fused group).
class StagedBatch {
 public:
  virtual ~StagedBatch() = default;  // releases what is left: the stream's waits end, the copies back run
  // Blocks until the stream has copied the inputs (of piece `piece`, for a call cut into
  // pieces) into staging. Throws TimeoutError after BRAID_TIMEOUT (work before the call
  // on the stream never finished), or AbortedError once `stop` is raised (abort, a
  // peer's failure).
  virtual void waitUntilStaged(const std::string& what, const std::atomic<bool>& stop, std::size_t piece = 0) = 0;
  // The worker is done with piece `piece`: the stream copies its results back while the
  // worker goes on with the next. Releasing a piece twice does nothing.
  virtual void release(std::size_t piece) = 0;
  std::vector<void*> staged;        // the copy of each region, by index
  std::vector<StagedPiece> pieces;  // empty: the call is staged whole
};

class DeviceSide {
 public:
  explicit DeviceSide(int rank);  // no CUDA call: a host job never pays for this
  ~DeviceSide();
  DeviceSide(const DeviceSide&) = delete;
  DeviceSide& operator=(const DeviceSide&) = delete;

  // Where a call runs. The first Stream call binds the rank to a GPU: the stream's
  // context, else the caller's current one. Throws, naming the argument and the rank:
  // InvalidArgument for pageable host memory on a stream, device memory of another
  // GPU, a stream of another context; UnsupportedError for a stream that captures a
  // CUDA graph; SystemError where CUDA cannot be used (no driver, no GPU) and why.
  CallPath route(const char* call, Stream stream, std::initializer_list<BufferArg> buffers);
  // The PCI bus id of the GPU whose context is current on this thread ("0000:3B:00.0"),
  // "" where there is none or CUDA is not in use in this process. Creates no context.
  std::string currentGpuBusId() const;
  // Whether `buffer` is device or managed memory (for calls that take host memory only).
  bool isCudaMemory(const char* call, const BufferArg& buffer) const;
  // The caller's thread, after route() said Stream: lays the regions out in a staging
  // slot and enqueues the copies and the waits on `stream`, piece by piece where the
  // staging is host memory and `pieces` cut the call (see stagingPieces()); staging on
  // the GPU copies at memory speed, so it stays whole. SystemError on a CUDA failure;
  // InvalidArgument, with nothing enqueued, for a stream that would wait for another rank
  // of the communicator on this GPU and process that waits for it (shareStreamsWith()).
  std::unique_ptr<StagedBatch> enqueue(const char* call, Stream stream, std::vector<StagedRegion>& regions,
                                       std::vector<StagedPiece> pieces = {});
  // Before the first call, when other ranks of the communicator (tagged `comm`) are threads
  // of this process: from then on each call is admitted by StreamSharing, and is known
  // to it until its stream is past it (a host function at its end).
  void shareStreamsWith(std::string comm);
  // Before the first call: stage in GPU memory and compute there.
  void stageOnDevice();
  // The rank's GPU work, once bound, when staging is on the GPU; null otherwise.
  DeviceCompute* compute();
  // Releases every stream still waiting and frees the staging once the streams are
  // past it, waiting at most `bound`; what a stream may still touch stays allocated.
  void shutdown(std::chrono::milliseconds bound);

 private:
  void bind(const char* call, Stream stream, int deviceOfBuffer);
  void checkStream(const char* call, Stream stream);
  std::uint64_t admitOnStream(const char* call, Stream stream);

  struct State;
  int rank_;
  std::unique_ptr<State> state_;
};

}  // namespace braid
