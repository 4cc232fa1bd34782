#pragma once
// The communicator's state: bootstrap, peers, connections, plan cache, executor, the
// queue that runs asynchronous operations in issue order, and what keeps calls from
// hanging silently: sequence numbers and call signatures (BRAID_CHECK), the status
// board (timeout reports, failure notices, keep-alive), and abort.
#include <braid/communicator.h>

#include "algorithms/algorithms.h"
#include "bootstrap/bootstrap.h"
#include "core/algorithm_choice.h"
#include "core/call_record.h"
#include "core/cuda/device_side.h"
#include "core/env.h"
#include "core/executor.h"
#include "core/status_board.h"
#include "transport/doorbell.h"
#include "transport/cudaipc/cudaipc_connection.h"
#include "transport/transport.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace braid {

struct WorkState {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::exception_ptr error;
  void finish(std::exception_ptr e);
};

// One collective call after argument checks, in the terms the executor needs.
struct CollectiveCall {
  Collective collective;
  const void* send;
  void* recv;
  std::size_t count;  // as CollectiveShape::count
  DataType type;
  Reduction op;
  int root;
};

class CommunicatorImpl final : private StatusEvents {
 public:
  CommunicatorImpl(const UniqueId& id, int rank, int size, std::unique_ptr<BootstrapRoot> root = nullptr);
  ~CommunicatorImpl();

  int rank() const { return rank_; }
  int size() const { return size_; }
  int localRank() const { return localRank_; }
  int localSize() const { return localSize_; }
  const char* transportTo(int peer) const;

  // Runs now, or after earlier asynchronous work, on the calling thread's behalf.
  void run(const CollectiveCall& call);
  std::shared_ptr<WorkState> runAsync(const CollectiveCall& call);
  void runPointToPoint(const std::vector<P2POp>& ops, const std::vector<void*>& buffers);
  // Calls on CUDA memory or a stream (core/cuda/): enqueues them on `stream` and
  // returns; the worker runs them in issue order on pinned staging copies.
  void runOnStream(const char* name, Stream stream, std::vector<CollectiveCall> calls, std::vector<P2POp> ops,
                   std::vector<void*> buffers);
  DeviceSide& device() { return *device_; }

  // Throws the error that broke this communicator, if any.
  void checkUsable() const;
  // checkUsable() for a call about to run: also tells the peers, once, of a failure this
  // rank saw between calls.
  void refuseIfBroken();
  // Any thread: ends the call in flight (AbortedError), fails queued work, frees the
  // connections, segments and threads. Returns within about a second whatever peers do.
  void abort();
  // Any thread: the error that broke this communicator (own, a peer's notice, a peer
  // gone while idle), AbortedError after abort(), or null while healthy.
  std::exception_ptr asyncError() const;
  // What this rank's status board answers peers (tests watch a call start with it).
  RankRecord record() const;
  [[noreturn]] void fail(const std::string& what) const;  // InvalidArgument naming rank

  // Group state, kept here so the public class stays a thin shell.
  int groupDepth = 0;
  std::vector<P2POp> groupOps;
  std::vector<void*> groupBuffers;
  std::vector<CollectiveCall> groupCollectives;
  CallPath groupPath = CallPath::Host;  // a group runs on the host or on one stream, not both
  Stream groupStream = nullptr;

 private:
  void connectTransports();
  void execute(const CollectiveCall& call);
  void executeCollective(const CollectiveCall& call, const CallDesc& desc);
  void runGroupedPointToPoint(const std::vector<P2POp>& ops, const std::vector<void*>& buffers);
  bool aborted() const {
    std::lock_guard<std::mutex> lock(failureMutex_);
    return aborted_;
  }
  // Runs `plan` on execBuffers_.base (filled by the caller: input, output, extras).
  // `current` is the collective being run (null for send/recv), for error reports.
  void executePlan(const Plan& plan, std::size_t elemSize, reduce::BinaryFn combine, const char* what,
                   const CallDesc* current);
  // Turns a failed run into the error the caller sees, marks the communicator broken
  // and tells the peers.
  [[noreturn]] void failRun(const Error& e, const char* what, const CallDesc* current);
  std::string timeoutReport(const CallDesc* current);
  // BRAID_CHECK=full: all ranks swap `mine` and throw RemoteError listing who called what.
  void checkCallsMatch(const CallDesc& mine);
  // Records the first failure; true if this one is it.
  bool recordFailure(ErrorKind kind, const std::string& what, const ErrorContext& ctx, bool fromPeer);
  void releaseResources();
  std::string peerName(int r) const;  // "rank 3 (host-b)"
  // StatusEvents, on the status board's thread.
  void onPeerGone(int peer, const std::string& why) override;
  void onPeerNotice(int peer, int culprit, ErrorKind kind, const std::string& text) override;
  const Plan& planFor(const CollectiveShape& shape);
  void logDecision(Collective c, std::size_t bytes, const Decision& d);
  void* scratch(std::size_t bytes);
  void drainAsync();
  void workerLoop();
  // One call or group on CUDA memory, staged: the worker's part.
  struct StagedWork {
    std::string what;
    std::vector<CollectiveCall> calls;  // pointing into the staging
    std::vector<P2POp> ops;
    std::vector<void*> buffers;
    std::unique_ptr<StagedBatch> batch;
  };
  void runStaged(StagedWork& work);
  void runPieces(StagedWork& work);  // a call cut into pieces (stagingPieces())
  void runPointToPointLocked(const std::vector<P2POp>& ops, const std::vector<void*>& buffers);
  // A failure no caller is waiting for (staged work): breaks the communicator with it
  // (asyncError(), the next call) and tells the peers.
  void failInBackground(const Error& e);
  // Tells the peers, once, why this rank is broken (they may wait on it in a call of
  // their own); not when a peer's notice broke it (they heard it) or after abort().
  void notifyPeersOfFailureOnce();
  // An operation for the worker: a host asynchronous collective (`state` gets its
  // result), or staged device work that runs itself.
  struct Queued {
    CollectiveCall call{};
    std::shared_ptr<WorkState> state;
    std::function<void()> staged;
    std::string what;  // for the message if abort() drops it
  };
  void enqueueWork(Queued item);

  int rank_, size_, localRank_ = 0, localSize_ = 1;
  std::unique_ptr<BootstrapRoot> root_;
  std::unique_ptr<Bootstrap> bootstrap_;
  std::vector<PeerInfo> peers_;
  std::vector<std::unique_ptr<Transport>> transports_;
  std::vector<std::unique_ptr<Connection>> connections_;  // by rank; null for self
  std::vector<const char*> transportNames_;
  std::unique_ptr<Executor> executor_;
  std::unordered_map<CollectiveShape, Plan, CollectiveShapeHash> plans_;
  std::vector<unsigned char> scratch_;
  ExecutionBuffers execBuffers_;  // reused, so a warmed-up call allocates nothing
  // PreMulSum's scaled copy of the input on the host, kept at its largest: a fresh one
  // per call was zero-filled and page-faulted in, which made a 64 MiB call 40x slower.
  std::vector<unsigned char> preMultiplied_;
  AlgorithmChoice choice_;
  std::array<int, 6> lastAlgorithm_{-1, -1, -1, -1, -1, -1};  // by Collective, for logDecision
  CheckLevel check_ = CheckLevel::On;
  std::uint64_t seq_ = 0;         // collectives entered so far
  std::vector<CallDesc> calls_;   // BRAID_CHECK=full: every rank's description
  std::unique_ptr<StatusBoard> board_;

  // The executor's abort flag: raised by abort().
  std::atomic<bool> stopRun_{false};
  mutable std::mutex failureMutex_;
  bool failed_ = false;         // broken: every later call throws failure_
  bool aborted_ = false;        // abort() was called
  bool failedByPeer_ = false;   // failure_ came from a peer's notice (it told everyone)
  bool notified_ = false;       // this rank has sent its failure notice
  ErrorKind failureKind_ = ErrorKind::Remote;
  std::string failure_;
  ErrorContext failureCtx_;

  std::mutex execMutex_;  // one plan runs at a time; abort() waits for it, bounded
  std::mutex queueMutex_;
  std::condition_variable queueCv_;
  std::deque<Queued> queue_;
  bool workerBusy_ = false, stopping_ = false;
  std::thread worker_;
  std::unique_ptr<DeviceSide> device_;  // no CUDA call until a call names CUDA memory

  // Staged calls run on the GPU (DeviceSide::stageOnDevice): the executor over cudaipc
  // connections, which carry their control messages over connections_. Made at the
  // first such call; the board's thread marks peers gone on them too.
  Executor& deviceExecutor();
  // After a run on the GPU: the control messages still leaving are sent, so that the
  // next host run starts on quiet connections.
  void settleDeviceLinks(const Deadline& deadline, const char* what);
  DeviceCompute* deviceRun_ = nullptr;  // set while the worker runs a call on the GPU
  Doorbell* doorbell_ = nullptr;
  bool oversubscribed_ = false;
  std::mutex ipcMutex_;
  std::vector<std::unique_ptr<CudaIpcConnection>> ipcConnections_;  // by rank; null for self
  std::unique_ptr<Executor> deviceExecutor_;
};

}  // namespace braid
