#include "core/communicator_impl.h"

#include "core/algorithm_choice.h"

#include "core/env.h"
#include "core/host_identity.h"
#include "core/log.h"
#include "core/rethrow.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace braid {

void WorkState::finish(std::exception_ptr e) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    error = std::move(e);
    done = true;
  }
  cv.notify_all();
}

CommunicatorImpl::CommunicatorImpl(const UniqueId& id, int rank, int size, std::unique_ptr<BootstrapRoot> root)
    : rank_(rank), size_(size), root_(std::move(root)) {
  log::setRank(rank);
  const Env& env = Env::get();
  transports_ = makeTransports();
  bootstrap_ = std::make_unique<Bootstrap>(id, rank, size);

  PeerInfo me;
  me.rank = rank;
  me.pid = static_cast<int>(getpid());
  std::strncpy(me.hostId, hostIdentity().c_str(), sizeof me.hostId - 1);
  std::strncpy(me.hostName, hostName().c_str(), sizeof me.hostName - 1);
  describePlacement(me);
  TransportContext ctx;
  ctx.rank = rank;
  ctx.size = size;
  ctx.commTag = bootstrap_->commTag();
  ctx.secret = bootstrap_->secret();
  ctx.bootstrap = bootstrap_.get();
  for (std::size_t t = 0; t < transports_.size(); ++t) transports_[t]->publish(ctx, me.endpoint[t].data());

  peers_.resize(static_cast<std::size_t>(size));
  bootstrap_->allGather(&me, sizeof me, peers_.data());
  ctx.peers = &peers_;
  for (int r = 0; r < size; ++r) {
    if (std::strncmp(peers_[r].hostId, me.hostId, sizeof me.hostId) != 0) continue;
    if (r < rank) ++localRank_;
    if (r != rank) ++localSize_;
  }
  choice_ = makeAlgorithmChoice(peers_, rank);

  // Each peer goes to the first transport, in priority order, that can reach it.
  connections_.resize(static_cast<std::size_t>(size));
  transportNames_.assign(static_cast<std::size_t>(size), "self");
  std::vector<std::vector<int>> peersOf(transports_.size());
  for (int r = 0; r < size; ++r) {
    if (r == rank) continue;
    auto t = std::find_if(transports_.begin(), transports_.end(),
                          [&](const auto& tr) { return tr->canConnect(me, peers_[r]); });
    if (t == transports_.end())
      throw InvalidArgument("rank " + std::to_string(rank) + ": no transport in BRAID_TRANSPORTS='" +
                                env.transports() + "' can reach rank " + std::to_string(r) + " on host " +
                                peers_[r].hostName, ErrorContext{rank, r, peers_[r].hostName, ""});
    peersOf[static_cast<std::size_t>(t - transports_.begin())].push_back(r);
  }
  // Collective: every rank connects every transport in the same order.
  for (std::size_t t = 0; t < transports_.size(); ++t) {
    auto made = transports_[t]->connect(ctx, static_cast<int>(t), peersOf[t]);
    for (std::size_t i = 0; i < made.size(); ++i) {
      int r = peersOf[t][i];
      transportNames_[r] = transports_[t]->name();
      connections_[r] = std::move(made[i]);
    }
  }
  std::vector<Connection*> raw;
  for (auto& c : connections_) raw.push_back(c.get());
  bool oversubscribed = localSize_ > usableCpus();
  // Without shared memory nobody rings a doorbell: the executor then sleeps in poll() only.
  executor_ = std::make_unique<Executor>(rank, std::move(raw), ctx.doorbell, oversubscribed);
  BRAID_INFO("communicator ready: " + std::to_string(size) + " ranks, " + std::to_string(localSize_) +
             " on this host" + (oversubscribed ? " (more ranks than cores: no spinning)" : ""));
}

CommunicatorImpl::~CommunicatorImpl() {
  {
    std::lock_guard<std::mutex> lock(queueMutex_);
    stopping_ = true;
  }
  queueCv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

const char* CommunicatorImpl::transportTo(int peer) const {
  if (peer < 0 || peer >= size_) fail("transportTo: peer " + std::to_string(peer) + " is out of range");
  return transportNames_[peer];
}

void CommunicatorImpl::fail(const std::string& what) const {
  throw InvalidArgument("rank " + std::to_string(rank_) + ": " + what, ErrorContext{rank_, -1, "", ""});
}

void CommunicatorImpl::checkUsable() const {
  if (!brokenBy_.empty())
    throwError(brokenKind_, "rank " + std::to_string(rank_) + ": communicator is unusable after an earlier failure: " +
                                 brokenBy_, ErrorContext{rank_, -1, "", ""});
}

void CommunicatorImpl::logDecision(Collective c, std::size_t bytes, const Decision& d) {
  // Once per change of algorithm per collective: enough to see the tuner's crossovers
  // in a size sweep without a line per call.
  auto& last = lastAlgorithm_[static_cast<std::size_t>(c)];
  if (last == static_cast<int>(d.algorithm) || Env::get().logLevel() < 2) return;
  last = static_cast<int>(d.algorithm);
  char line[200];
  std::snprintf(line, sizeof line, "%s of %zu bytes per rank: %s, slice %zu bytes (%s, predicted %.1f us)",
                toString(c), bytes, toString(d.algorithm), d.sliceBytes, d.reason, d.predictedUs);
  BRAID_INFO(line);
}

const Plan& CommunicatorImpl::planFor(const CollectiveShape& shape) {
  auto it = plans_.find(shape);
  if (it != plans_.end()) return it->second;
  if (plans_.size() >= 256) plans_.clear();  // bound memory; a working set is a few shapes
  return plans_.emplace(shape, buildPlan(shape)).first->second;
}

void* CommunicatorImpl::scratch(std::size_t bytes) {
  if (scratch_.size() < bytes) scratch_.resize(bytes);
  return scratch_.data();
}

void CommunicatorImpl::executePlan(const Plan& plan, std::size_t elemSize, reduce::BinaryFn combine,
                                   const char* what) {
  ExecutionBuffers& eb = execBuffers_;
  if (eb.base.size() < plan.bufferCount) eb.base.resize(plan.bufferCount);
  eb.base[kScratch] = scratch(plan.scratchCount * elemSize);
  eb.elemSize = elemSize;
  eb.combine = combine;
  try {
    executor_->run(plan, eb, Deadline(Env::get().timeout()), what);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Remote || e.kind() == ErrorKind::Timeout) {
      brokenBy_ = e.what();
      brokenKind_ = e.kind();
    }
    throw;
  }
}

void CommunicatorImpl::execute(const CollectiveCall& call) {
  checkUsable();
  const std::size_t elem = sizeOf(call.type);
  CollectiveShape shape;
  shape.collective = call.collective;
  shape.rank = rank_;
  shape.size = size_;
  shape.count = call.count;
  shape.root = call.root;
  const Decision decision = choice_.tuner->choose(call.collective, callBytes(call.collective, call.count, elem, size_));
  shape.algorithm = decision.algorithm;
  shape.sliceElems = std::max<std::size_t>(1, decision.sliceBytes / elem);
  if (decision.algorithm == Algorithm::Hierarchical) shape.nodes = choice_.nodes;
  logDecision(call.collective, call.count * elem, decision);
  const auto* send = static_cast<const char*>(call.send);
  auto* recv = static_cast<char*>(call.recv);
  const std::size_t n = static_cast<std::size_t>(size_);
  switch (call.collective) {
    case Collective::AllGather: shape.inPlace = send == recv + static_cast<std::size_t>(rank_) * call.count * elem; break;
    case Collective::ReduceScatter: shape.inPlace = recv == send + static_cast<std::size_t>(rank_) * call.count * elem; break;
    default: shape.inPlace = send == recv; break;
  }
  bool reduces = call.collective == Collective::AllReduce || call.collective == Collective::ReduceScatter ||
                 call.collective == Collective::Reduce;
  reduce::BinaryFn combine = reduces ? reduce::binary(call.type, call.op.op) : nullptr;

  // PreMulSum scales this rank's contribution first, into a private copy.
  std::vector<unsigned char> scaled;
  if (reduces && call.op.op == ReduceOp::PreMulSum) {
    std::size_t inCount = call.collective == Collective::ReduceScatter ? call.count * n : call.count;
    scaled.resize(inCount * elem);
    reduce::preMultiply(scaled.data(), send, inCount, call.type, call.op.scalar);
    send = reinterpret_cast<const char*>(scaled.data());
    shape.inPlace = false;
  }
  execBuffers_.base.resize(3);
  execBuffers_.base[kInput] = const_cast<char*>(send);
  execBuffers_.base[kOutput] = recv;
  executePlan(planFor(shape), elem, combine, toString(call.collective));

  if (reduces && call.op.op == ReduceOp::Avg && (call.collective != Collective::Reduce || rank_ == call.root))
    reduce::finishAvg(recv, call.count, call.type, static_cast<std::uint64_t>(size_));
}

void CommunicatorImpl::runPointToPoint(const std::vector<P2POp>& ops, const std::vector<void*>& buffers) {
  drainAsync();
  std::lock_guard<std::mutex> lock(execMutex_);
  checkUsable();
  execBuffers_.base.assign(3, nullptr);
  execBuffers_.base.insert(execBuffers_.base.end(), buffers.begin(), buffers.end());
  // A send whose bytes a receive of the same group overwrites (in-place send/recv)
  // goes from a copy: ordering the receive after the send instead could deadlock, as a
  // large send completes only when its peer receives.
  std::vector<std::vector<unsigned char>> staged;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (!ops[i].isSend || ops[i].bytes == 0) continue;
    auto* s = static_cast<unsigned char*>(buffers[i]);
    for (std::size_t j = 0; j < ops.size(); ++j) {
      auto* d = static_cast<unsigned char*>(buffers[j]);
      if (ops[j].isSend || s >= d + ops[j].bytes || d >= s + ops[i].bytes) continue;
      staged.emplace_back(s, s + ops[i].bytes);
      execBuffers_.base[3 + i] = staged.back().data();
      break;
    }
  }
  executePlan(groupedPointToPoint(rank_, ops), 1, nullptr, "send/recv");
}

void CommunicatorImpl::run(const CollectiveCall& call) {
  drainAsync();
  std::lock_guard<std::mutex> lock(execMutex_);
  execute(call);
}

void CommunicatorImpl::drainAsync() {
  std::unique_lock<std::mutex> lock(queueMutex_);
  // Each queued operation has its own deadline, so this wait is bounded too.
  queueCv_.wait(lock, [&] { return queue_.empty() && !workerBusy_; });
}

std::shared_ptr<WorkState> CommunicatorImpl::runAsync(const CollectiveCall& call) {
  auto state = std::make_shared<WorkState>();
  {
    std::lock_guard<std::mutex> lock(queueMutex_);
    queue_.emplace_back(call, state);
    if (!worker_.joinable()) worker_ = std::thread([this] { workerLoop(); });
  }
  queueCv_.notify_all();
  return state;
}

void CommunicatorImpl::workerLoop() {
  std::unique_lock<std::mutex> lock(queueMutex_);
  for (;;) {
    queueCv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    auto [call, state] = queue_.front();
    queue_.pop_front();
    workerBusy_ = true;
    lock.unlock();
    std::exception_ptr error;
    try {
      std::lock_guard<std::mutex> exec(execMutex_);
      execute(call);
    } catch (...) {
      error = std::current_exception();
    }
    state->finish(error);
    lock.lock();
    workerBusy_ = false;
    queueCv_.notify_all();
  }
}

}  // namespace braid
