#include "core/communicator_impl.h"

#include "bootstrap/peer_table.h"
#include "core/algorithm_choice.h"

#include "core/env.h"
#include "core/host_identity.h"
#include "core/log.h"
#include "core/op_signature.h"
#include "core/rank_groups.h"
#include "core/setup_failure.h"
#include "core/shared_settings.h"
#include "core/status_report.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

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
    : rank_(rank), size_(size), root_(std::move(root)), device_(std::make_unique<DeviceSide>(rank)) {
  log::setRank(rank);
  const Env& env = Env::get();
  check_ = env.checkLevel();
  PeerInfo me;
  me.rank = rank;
  me.pid = static_cast<int>(getpid());
  std::strncpy(me.hostId, hostIdentity().c_str(), sizeof me.hostId - 1);
  std::strncpy(me.hostName, hostName().c_str(), sizeof me.hostName - 1);
  // What fails from here to the gather is told to the peers through it (SetupFailure).
  SetupFailure setup;
  TunerSettings settings;
  setup.attempt(me, [&] { env.requireValid(rank); });
  setup.attempt(me, [&] { settings = describeSharedSettings(me, rank); });
  setup.attempt(me, [&] { transports_ = makeTransports(); });
  describeRank(me, device_->currentGpuBusId());
  TransportContext ctx;
  ctx.rank = rank;
  ctx.size = size;
  try {
    bootstrap_ = std::make_unique<Bootstrap>(id, rank, size);
    ctx.commTag = bootstrap_->commTag();
    ctx.secret = bootstrap_->secret();
    ctx.bootstrap = bootstrap_.get();
    for (std::size_t t = 0; t < transports_.size(); ++t)
      setup.attempt(me, [&] { transports_[t]->publish(ctx, me.endpoint[t].data()); });
    // Decoded, not cast: a peer's strings and ids are checked before anything prints them.
    std::vector<unsigned char> gathered(static_cast<std::size_t>(size) * sizeof me);
    bootstrap_->allGather(&me, sizeof me, gathered.data());
    peers_ = decodePeerTable(gathered, size, rank);
  } catch (...) {
    setup.rethrowOwn();
    throw;
  }
  setup.raise(peers_, rank);
  ctx.peers = &peers_;
  bool gpuPeers = false;  // another rank in this very process, maybe on this rank's GPU
  for (int r = 0; r < size; ++r) {
    if (std::strncmp(peers_[r].hostId, me.hostId, sizeof me.hostId) != 0) continue;
    if (r < rank) ++localRank_;
    if (r == rank) continue;
    ++localSize_;
    if (peers_[r].pid == me.pid && (me.gpu < 0 || peers_[r].gpu < 0 || peers_[r].gpu == me.gpu)) gpuPeers = true;
  }
  // Their streams may wait for each other through the GPU's legacy default stream. Ranks
  // known at init to be on other GPUs (one thread per GPU) do not pay for the check.
  if (gpuPeers) device_->shareStreamsWith(ctx.commTag);
  requireSharedSettings(peers_, rank);
  choice_ = makeAlgorithmChoice(peers_, settings);

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
  executor_->setAbortFlag(&stopRun_);
  doorbell_ = ctx.doorbell;
  oversubscribed_ = oversubscribed;
  // Every rank decides the same from the same peer table: all on this host or not.
  if (localSize_ == size_ && env.cudaIpc()) device_->stageOnDevice();

  board_ = std::make_unique<StatusBoard>(*bootstrap_, bootstrap_->secret(), static_cast<StatusEvents&>(*this));
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
  // The worker has run (or given up on) every staged call; the streams copy their last
  // results back. A stream held up longer by other work keeps its staging (leaked).
  device_->shutdown(std::min<std::chrono::milliseconds>(Env::get().timeout(), std::chrono::seconds(10)));
  // The goodbye tells peers this rank left on purpose: they record no error.
  if (board_) board_->close(true);
}

std::string CommunicatorImpl::peerName(int r) const {
  std::string name = "rank " + std::to_string(r);
  if (r >= 0 && r < static_cast<int>(peers_.size()) && peers_[r].hostName[0])
    name += std::string(" (") + peers_[r].hostName + ")";
  return name;
}

RankRecord CommunicatorImpl::record() const { return board_ ? board_->record() : RankRecord{}; }

const char* CommunicatorImpl::transportTo(int peer) const {
  if (peer < 0 || peer >= size_) fail("transportTo: peer " + std::to_string(peer) + " is out of range");
  return transportNames_[peer];
}

void CommunicatorImpl::fail(const std::string& what) const {
  throw InvalidArgument("rank " + std::to_string(rank_) + ": " + what, ErrorContext{rank_, -1, "", ""});
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
                                   const char* what, const CallDesc* current) {
  ExecutionBuffers& eb = execBuffers_;
  if (eb.base.size() < plan.bufferCount) eb.base.resize(plan.bufferCount);
  eb.base[kScratch] = deviceRun_ ? deviceRun_->scratch(0, plan.scratchCount * elemSize)
                                 : scratch(plan.scratchCount * elemSize);
  eb.elemSize = elemSize;
  eb.combine = combine;
  eb.device = deviceRun_;
  const Deadline deadline(Env::get().timeout());
  try {
    if (!deviceRun_) {
      executor_->run(plan, eb, deadline, what);
    } else {
      deviceExecutor().run(plan, eb, deadline, what);
      settleDeviceLinks(deadline, what);
    }
  } catch (const Error& e) {
    failRun(e, what, current);
  }
}

void CommunicatorImpl::checkCallsMatch(const CallDesc& mine) {
  if (size_ == 1) return;
  calls_.resize(static_cast<std::size_t>(size_));
  CollectiveShape shape;
  shape.collective = Collective::AllGather;
  shape.rank = rank_;
  shape.size = size_;
  shape.count = 1;  // one CallDesc per rank; the default (ring) plan
  CallDesc sent = mine;
  execBuffers_.base.assign(3, nullptr);
  execBuffers_.base[kInput] = &sent;
  execBuffers_.base[kOutput] = calls_.data();
  // The swap itself is the same on every rank whatever they called: it goes unsigned.
  const std::uint32_t signature = execBuffers_.signature;
  execBuffers_.signature = 0;
  // The descriptions are host memory, also inside a call that runs on the GPU.
  DeviceCompute* const gpu = std::exchange(deviceRun_, nullptr);
  try {
    executePlan(planFor(shape), sizeof(CallDesc), nullptr, toString(static_cast<Collective>(mine.collective)), &mine);
  } catch (...) {
    deviceRun_ = gpu;
    throw;
  }
  deviceRun_ = gpu;
  execBuffers_.signature = signature;
  if (std::all_of(calls_.begin(), calls_.end(), [&](const CallDesc& d) { return d == mine; })) return;

  std::string who;
  for (const auto& [desc, ranks] : groupRanks(size_, [&](int r) { return calls_[r]; }))
    who += (who.empty() ? "" : "; ") + namedRanks(ranks) + " called " + toString(desc);
  int other = 0;
  while (calls_[other] == mine) ++other;  // some rank differs: not all matched above
  std::string message = "rank " + std::to_string(rank_) + ": ranks disagree on collective call #" +
                        std::to_string(mine.seq) + " (found by BRAID_CHECK=full before any data moved): " + who;
  ErrorContext ctx{rank_, other, peers_[other].hostName, ""};
  recordFailure(ErrorKind::Remote, message, ctx, false);  // every rank sees the same table: no notices
  throw RemoteError(message, ctx);
}

void CommunicatorImpl::execute(const CollectiveCall& call) {
  refuseIfBroken();
  const CallDesc desc = describeCall(++seq_, call.collective, call.type, call.op.op, call.count, call.root);
  board_->enterCollective(desc);
  try {
    executeCollective(call, desc);
  } catch (...) {
    board_->leave(aborted() ? CallState::Aborted : CallState::Failed);
    throw;
  }
  board_->leave(CallState::Idle);
}

void CommunicatorImpl::executeCollective(const CollectiveCall& call, const CallDesc& desc) {
  if (check_ == CheckLevel::Full) checkCallsMatch(desc);
  execBuffers_.signature =
      check_ == CheckLevel::Off ? 0 : opSignature(OpCall{desc.seq, call.collective, call.type, call.op.op, call.count, call.root});
  const std::size_t elem = sizeOf(call.type);
  CollectiveShape shape;
  shape.collective = call.collective;
  shape.rank = rank_;
  shape.size = size_;
  shape.count = call.count;
  shape.root = call.root;
  const Tuner& tuner = deviceRun_ ? *choice_.gpuTuner : *choice_.tuner;
  const Decision decision = tuner.choose(call.collective, callBytes(call.collective, call.count, elem, size_));
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
  if (deviceRun_) {
    deviceRun_->setReduction(call.type, call.op.op);
    // The GPU tuner never picks less; BRAID_CHUNK may ask for less, which would only add
    // control messages and kernel launches.
    shape.sliceElems = std::max(shape.sliceElems, Tuner::kGpuMinSliceBytes / elem);
  }

  // PreMulSum scales this rank's contribution first, into a private copy.
  if (reduces && call.op.op == ReduceOp::PreMulSum) {
    std::size_t inCount = call.collective == Collective::ReduceScatter ? call.count * n : call.count;
    if (deviceRun_) {
      void* copy = deviceRun_->scratch(1, inCount * elem);
      deviceRun_->wait(deviceRun_->preMultiply(copy, send, inCount, call.op.scalar), Deadline(Env::get().timeout()));
      send = static_cast<const char*>(copy);
    } else {
      if (preMultiplied_.size() < inCount * elem) preMultiplied_.resize(inCount * elem);
      reduce::preMultiply(preMultiplied_.data(), send, inCount, call.type, call.op.scalar);
      send = reinterpret_cast<const char*>(preMultiplied_.data());
    }
    shape.inPlace = false;
  }
  execBuffers_.base.resize(3);
  execBuffers_.base[kInput] = const_cast<char*>(send);
  execBuffers_.base[kOutput] = recv;
  executePlan(planFor(shape), elem, combine, toString(call.collective), &desc);

  if (reduces && call.op.op == ReduceOp::Avg && (call.collective != Collective::Reduce || rank_ == call.root)) {
    const auto ranks = static_cast<std::uint64_t>(size_);
    // Waited for: the next call of a group may offer this buffer to a peer, whose read
    // must see the division.
    if (deviceRun_) deviceRun_->wait(deviceRun_->finishAvg(recv, call.count, ranks), Deadline(Env::get().timeout()));
    else reduce::finishAvg(recv, call.count, call.type, ranks);
  }
}

void CommunicatorImpl::runPointToPoint(const std::vector<P2POp>& ops, const std::vector<void*>& buffers) {
  drainAsync();
  std::lock_guard<std::mutex> lock(execMutex_);
  runPointToPointLocked(ops, buffers);
}

void CommunicatorImpl::runPointToPointLocked(const std::vector<P2POp>& ops, const std::vector<void*>& buffers) {
  refuseIfBroken();
  board_->enterPointToPoint();
  try {
    runGroupedPointToPoint(ops, buffers);
  } catch (...) {
    board_->leave(aborted() ? CallState::Aborted : CallState::Failed);
    throw;
  }
  board_->leave(CallState::Idle);
}

void CommunicatorImpl::runGroupedPointToPoint(const std::vector<P2POp>& ops, const std::vector<void*>& buffers) {
  execBuffers_.signature = 0;  // send/recv have no common sequence to check
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
  executePlan(groupedPointToPoint(rank_, ops), 1, nullptr, "send/recv", nullptr);
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
  if (aborted()) {  // no worker to start: the communicator's threads are gone
    try {
      checkUsable();
    } catch (...) {
      state->finish(std::current_exception());
    }
    return state;
  }
  enqueueWork(Queued{call, state, nullptr, toString(call.collective)});
  return state;
}

void CommunicatorImpl::enqueueWork(Queued item) {
  {
    std::lock_guard<std::mutex> lock(queueMutex_);
    if (stopping_) {
      // abort() on another thread got here first; the item is dropped (staged work
      // releases its stream) and the caller hears why.
      item.state->finish(std::make_exception_ptr(AbortedError(
          "rank " + std::to_string(rank_) + ": " + item.what + " was never run: the communicator was aborted",
          ErrorContext{rank_, -1, "", ""})));
      return;
    }
    queue_.push_back(std::move(item));
    if (!worker_.joinable()) worker_ = std::thread([this] { workerLoop(); });
  }
  queueCv_.notify_all();
}

void CommunicatorImpl::workerLoop() {
  std::unique_lock<std::mutex> lock(queueMutex_);
  for (;;) {
    queueCv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    Queued item = std::move(queue_.front());
    queue_.pop_front();
    workerBusy_ = true;
    lock.unlock();
    std::exception_ptr error;
    try {
      if (item.staged) {
        item.staged();
      } else {
        std::lock_guard<std::mutex> exec(execMutex_);
        execute(item.call);
      }
    } catch (...) {
      error = std::current_exception();
    }
    item.state->finish(error);
    item = Queued{};  // staged work lets go of its stream before the queue looks idle
    lock.lock();
    workerBusy_ = false;
    queueCv_.notify_all();
  }
}

}  // namespace braid
