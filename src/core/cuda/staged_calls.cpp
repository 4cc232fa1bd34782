// CommunicatorImpl's side of calls on CUDA memory: stage them on the caller's stream
// (DeviceSide), then run them on the worker, in issue order with everything else.
#include "core/communicator_impl.h"
#include "core/log.h"

#include <thread>

namespace braid {

void CommunicatorImpl::runOnStream(const char* name, Stream stream, std::vector<CollectiveCall> calls,
                                   std::vector<P2POp> ops, std::vector<void*> buffers) {
  refuseIfBroken();  // as on the host: a broken communicator refuses at the call
  std::vector<StagedRegion> regions;
  std::vector<std::pair<int, int>> callRegions;
  std::vector<int> opRegions;
  for (const auto& c : calls)
    callRegions.push_back(
        addCollectiveRegions(regions, c.collective, c.send, c.recv, c.count, sizeOf(c.type), rank_, size_, c.root));
  for (std::size_t i = 0; i < ops.size(); ++i)
    opRegions.push_back(addPointToPointRegion(regions, ops[i].isSend, buffers[i], ops[i].bytes));

  // A lone large collective is cut into pieces whose copies overlap the collective; a
  // group's sends and receives (which differ from rank to rank) do not change that.
  std::vector<StagedPiece> pieces;
  if (calls.size() == 1) pieces = stagingPieces(calls[0].collective, calls[0].count, sizeOf(calls[0].type));
  auto work = std::make_shared<StagedWork>();
  try {
    work->batch = device_->enqueue(name, stream, regions, std::move(pieces));
  } catch (const SystemError& e) {
    // CUDA failed with part of the call possibly on the stream: this rank cannot take
    // part in it, and its peers must not wait for it until BRAID_TIMEOUT.
    failInBackground(e);
    throw;
  }
  const auto& staged = work->batch->staged;
  auto at = [&](int index) { return index < 0 ? nullptr : staged[static_cast<std::size_t>(index)]; };
  for (std::size_t i = 0; i < calls.size(); ++i) {
    calls[i].send = at(callRegions[i].first);
    calls[i].recv = at(callRegions[i].second);
  }
  for (std::size_t i = 0; i < ops.size(); ++i) buffers[i] = at(opRegions[i]);
  work->what = std::string(name) + " (on a CUDA stream)";
  work->calls = std::move(calls);
  work->ops = std::move(ops);
  work->buffers = std::move(buffers);
  const std::string what = work->what;
  enqueueWork(Queued{{}, std::make_shared<WorkState>(), [this, work] { runStaged(*work); }, what});
}

void CommunicatorImpl::runStaged(StagedWork& work) {
  std::lock_guard<std::mutex> exec(execMutex_);  // abort() waits for it, bounded
  // Aborted before the worker got here: abort() has released the stream and may have
  // freed the staging, which must not be touched now.
  if (aborted()) {
    work.batch.reset();
    return;
  }
  DeviceCompute* gpu = device_->compute();
  try {
    if (!work.batch->pieces.empty()) {
      runPieces(work);
    } else {
      work.batch->waitUntilStaged(work.what, stopRun_);
      deviceRun_ = gpu;
      for (const auto& call : work.calls) execute(call);
      if (!work.ops.empty()) runPointToPointLocked(work.ops, work.buffers);
      // The stream copies the results back once released: the GPU must have them.
      if (gpu) gpu->wait(gpu->last(), Deadline(Env::get().timeout()));
    }
  } catch (const Error& e) {
    failInBackground(e);
  } catch (const std::exception& e) {
    failInBackground(Error(ErrorKind::Internal, "rank " + std::to_string(rank_) + ": " + work.what + ": " + e.what(),
                           ErrorContext{rank_, -1, "", ""}));
  }
  deviceRun_ = nullptr;
  // Success or not, the stream goes on: with the results, or after a failure with
  // whatever the staging holds (the communicator is broken and says why).
  work.batch.reset();
}

// One collective per piece, each handed back to the stream as soon as it is done, so
// the stream copies its results out while the next piece runs; a group's sends and
// receives run after the last piece, which goes back with them. The staging is host
// memory here (DeviceSide::enqueue keeps GPU staging whole).
void CommunicatorImpl::runPieces(StagedWork& work) {
  const CollectiveCall& whole = work.calls.front();
  const std::size_t elem = sizeOf(whole.type);
  const std::size_t last = work.batch->pieces.size() - 1;
  for (std::size_t k = 0; k <= last; ++k) {
    const StagedPiece& piece = work.batch->pieces[k];
    work.batch->waitUntilStaged(work.what, stopRun_, k);
    CollectiveCall part = whole;
    if (whole.send) part.send = static_cast<const char*>(whole.send) + piece.firstByte;
    if (whole.recv) part.recv = static_cast<char*>(whole.recv) + piece.firstByte;
    part.count = piece.bytes / elem;
    execute(part);
    if (k < last) work.batch->release(k);
  }
  if (!work.ops.empty()) runPointToPointLocked(work.ops, work.buffers);
  work.batch->release(last);
}

Executor& CommunicatorImpl::deviceExecutor() {
  if (deviceExecutor_) return *deviceExecutor_;
  std::vector<Connection*> raw(static_cast<std::size_t>(size_), nullptr);
  {
    std::lock_guard<std::mutex> lock(ipcMutex_);
    ipcConnections_.resize(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r) {
      if (!connections_[r]) continue;
      ipcConnections_[r] = std::make_unique<CudaIpcConnection>(*connections_[r], *deviceRun_);
      if (connections_[r]->peerGoneFor(std::chrono::nanoseconds(0))) ipcConnections_[r]->markPeerGone();
      raw[r] = ipcConnections_[r].get();
    }
  }
  deviceExecutor_ = std::make_unique<Executor>(rank_, std::move(raw), doorbell_, oversubscribed_);
  deviceExecutor_->setAbortFlag(&stopRun_);
  return *deviceExecutor_;
}

void CommunicatorImpl::settleDeviceLinks(const Deadline& deadline, const char* what) {
  for (;;) {
    bool quiet = true;
    for (auto& c : ipcConnections_)
      if (c && !c->settle()) quiet = false;
    if (quiet) return;
    if (deadline.expired())
      throw TimeoutError("rank " + std::to_string(rank_) + ": " + what + ": the last control messages to the peers "
                         "(cudaipc) could not leave before BRAID_TIMEOUT", ErrorContext{rank_, -1, "", "cudaipc"});
    std::this_thread::yield();
  }
}

void CommunicatorImpl::failInBackground(const Error& e) {
  if (e.kind() == ErrorKind::Aborted && aborted()) return;  // abort() recorded it and told everyone
  if (recordFailure(e.kind(), e.what(), e.context(), false))
    BRAID_WARN("rank " + std::to_string(rank_) + ": a call on a CUDA stream failed; the communicator is broken: " +
               e.what());
  // Peers may be waiting for this rank in the same call; they stop now, naming it.
  notifyPeersOfFailureOnce();
}

}  // namespace braid
