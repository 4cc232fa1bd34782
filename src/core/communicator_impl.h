#pragma once
// The communicator's state: bootstrap, peers, connections, plan cache, executor, and
// the queue that runs asynchronous operations in issue order.
#include <braid/communicator.h>

#include "algorithms/algorithms.h"
#include "bootstrap/bootstrap.h"
#include "core/algorithm_choice.h"
#include "core/executor.h"
#include "transport/doorbell.h"
#include "transport/transport.h"

#include <array>
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

class CommunicatorImpl {
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

  // Throws the error that broke this communicator, if any.
  void checkUsable() const;
  [[noreturn]] void fail(const std::string& what) const;  // InvalidArgument naming rank

  // Group state, kept here so the public class stays a thin shell.
  int groupDepth = 0;
  std::vector<P2POp> groupOps;
  std::vector<void*> groupBuffers;
  std::vector<CollectiveCall> groupCollectives;

 private:
  void connectTransports();
  void execute(const CollectiveCall& call);
  // Runs `plan` on execBuffers_.base (filled by the caller: input, output, extras).
  void executePlan(const Plan& plan, std::size_t elemSize, reduce::BinaryFn combine, const char* what);
  const Plan& planFor(const CollectiveShape& shape);
  void logDecision(Collective c, std::size_t bytes, const Decision& d);
  void* scratch(std::size_t bytes);
  void drainAsync();
  void workerLoop();

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
  AlgorithmChoice choice_;
  std::array<int, 6> lastAlgorithm_{-1, -1, -1, -1, -1, -1};  // by Collective, for logDecision
  std::string brokenBy_;  // non-empty after a remote failure or timeout
  ErrorKind brokenKind_ = ErrorKind::Remote;

  std::mutex execMutex_;  // one plan runs at a time
  std::mutex queueMutex_;
  std::condition_variable queueCv_;
  std::deque<std::pair<CollectiveCall, std::shared_ptr<WorkState>>> queue_;
  bool workerBusy_ = false, stopping_ = false;
  std::thread worker_;
};

}  // namespace braid
