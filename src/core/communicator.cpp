// The public Communicator: checks every argument before anything is sent, then hands
// the call to CommunicatorImpl (now, inside a group, or asynchronously).
#include <braid/communicator.h>

#include "core/communicator_impl.h"
#include "core/env.h"

namespace braid {
namespace {

void checkType(const CommunicatorImpl& c, const char* call, DataType t) {
  if (!isValid(t))
    c.fail(std::string(call) + ": argument 'datatype' has value " + std::to_string(static_cast<int>(t)) +
           ", which is not a valid DataType (0.." + std::to_string(kNumDataTypes - 1) + ")");
}

void checkOp(const CommunicatorImpl& c, const char* call, const Reduction& op) {
  if (!isValid(op.op))
    c.fail(std::string(call) + ": argument 'op' has value " + std::to_string(static_cast<int>(op.op)) +
           ", which is not a valid ReduceOp (0.." + std::to_string(kNumReduceOps - 1) + ")");
}

void checkBuffer(const CommunicatorImpl& c, const char* call, const char* name, const void* p, std::size_t count) {
  if (!p && count > 0)
    c.fail(std::string(call) + ": argument '" + name + "' is null but count is " + std::to_string(count));
}

void checkRank(const CommunicatorImpl& c, const char* call, const char* name, int value) {
  if (value < 0 || value >= c.size())
    c.fail(std::string(call) + ": argument '" + name + "' is " + std::to_string(value) + ", outside [0, " +
           std::to_string(c.size()) + ")");
}

// A group runs on the host or on one CUDA stream: its members must agree.
void joinGroup(CommunicatorImpl& c, const char* call, CallPath path, Stream stream) {
  if (c.groupCollectives.empty() && c.groupOps.empty()) {
    c.groupPath = path;
    c.groupStream = stream;
    return;
  }
  const std::string me = "rank " + std::to_string(c.rank()) + ": " + call + ": ";
  if (path != c.groupPath)
    throw UnsupportedError(me + "a group cannot mix calls on host memory with calls on CUDA memory or a stream; "
                           "group them separately", ErrorContext{c.rank(), -1, "", ""});
  if (path == CallPath::Stream && stream != c.groupStream)
    throw UnsupportedError(me + "argument 'stream' differs from the stream of the group's earlier calls; every call "
                           "of a group must use the same stream", ErrorContext{c.rank(), -1, "", ""});
}

}  // namespace

void Work::wait() {
  if (!state_) return;
  std::unique_lock<std::mutex> lock(state_->mutex);
  state_->cv.wait(lock, [&] { return state_->done; });  // the operation itself has a deadline
  if (state_->error) std::rethrow_exception(state_->error);
}

bool Work::test() const {
  if (!state_) return true;
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->done;
}

Communicator::Communicator(const UniqueId& id, int rank, int size)
    : impl_(std::make_unique<CommunicatorImpl>(id, rank, size)) {}
Communicator::Communicator(std::unique_ptr<CommunicatorImpl> impl) : impl_(std::move(impl)) {}
Communicator::~Communicator() = default;
Communicator::Communicator(Communicator&&) noexcept = default;
Communicator& Communicator::operator=(Communicator&&) noexcept = default;

int Communicator::rank() const { return impl_->rank(); }
int Communicator::size() const { return impl_->size(); }
int Communicator::localRank() const { return impl_->localRank(); }
int Communicator::localSize() const { return impl_->localSize(); }
const char* Communicator::transportTo(int peer) const { return impl_->transportTo(peer); }
void Communicator::abort() { impl_->abort(); }
std::exception_ptr Communicator::asyncError() const { return impl_->asyncError(); }

namespace {

bool reduces(Collective c) {
  return c == Collective::AllReduce || c == Collective::ReduceScatter || c == Collective::Reduce;
}

// The checks every collective shares; `name` is the API call, for the message. Returns
// where the call runs: on the host, or staged on a CUDA stream.
CallPath validate(CommunicatorImpl& c, const char* name, const CollectiveCall& call, Stream stream) {
  checkType(c, name, call.type);
  if (reduces(call.collective)) checkOp(c, name, call.op);
  bool rooted = call.collective == Collective::Broadcast || call.collective == Collective::Reduce;
  if (rooted) checkRank(c, name, "root", call.root);
  // Broadcast reads sendbuff on the root only; reduce writes recvbuff on the root only.
  bool readsSend = call.collective != Collective::Broadcast || c.rank() == call.root;
  bool writesRecv = call.collective != Collective::Reduce || c.rank() == call.root;
  if (readsSend) checkBuffer(c, name, "sendbuff", call.send, call.count);
  if (writesRecv) checkBuffer(c, name, "recvbuff", call.recv, call.count);
  return c.device().route(name, stream, {{"sendbuff", readsSend ? call.send : nullptr},
                                         {"recvbuff", writesRecv ? call.recv : nullptr}});
}

void submit(CommunicatorImpl& c, const char* name, const CollectiveCall& call, Stream stream) {
  const CallPath path = validate(c, name, call, stream);
  if (c.groupDepth > 0) {
    joinGroup(c, name, path, stream);
    c.groupCollectives.push_back(call);
  } else if (path == CallPath::Stream) {
    c.runOnStream(name, stream, {call}, {}, {});
  } else {
    c.run(call);
  }
}

// The asynchronous forms take host memory: Work::wait() is their only completion.
Work submitAsync(CommunicatorImpl& c, const char* name, const CollectiveCall& call) {
  for (BufferArg b : {BufferArg{"sendbuff", call.send}, BufferArg{"recvbuff", call.recv}})
    if (c.device().isCudaMemory(name, b))
      c.fail(std::string(name) + ": argument '" + b.name + "' is CUDA memory; the asynchronous forms take host "
             "memory: for CUDA memory pass a stream to the blocking form, which returns at once");
  validate(c, name, call, nullptr);
  return Work(c.runAsync(call));
}

}  // namespace

void Communicator::allReduce(const void* send, void* recv, std::size_t count, DataType type, Reduction op,
                             Stream stream) {
  submit(*impl_, "allReduce", {Collective::AllReduce, send, recv, count, type, op, 0}, stream);
}

void Communicator::allGather(const void* send, void* recv, std::size_t sendCount, DataType type, Stream stream) {
  submit(*impl_, "allGather", {Collective::AllGather, send, recv, sendCount, type, ReduceOp::Sum, 0}, stream);
}

void Communicator::reduceScatter(const void* send, void* recv, std::size_t recvCount, DataType type, Reduction op,
                                 Stream stream) {
  submit(*impl_, "reduceScatter", {Collective::ReduceScatter, send, recv, recvCount, type, op, 0}, stream);
}

void Communicator::broadcast(const void* send, void* recv, std::size_t count, DataType type, int root,
                             Stream stream) {
  submit(*impl_, "broadcast", {Collective::Broadcast, send, recv, count, type, ReduceOp::Sum, root}, stream);
}

void Communicator::reduce(const void* send, void* recv, std::size_t count, DataType type, Reduction op, int root,
                          Stream stream) {
  submit(*impl_, "reduce", {Collective::Reduce, send, recv, count, type, op, root}, stream);
}

void Communicator::allToAll(const void* send, void* recv, std::size_t count, DataType type, Stream stream) {
  submit(*impl_, "allToAll", {Collective::AllToAll, send, recv, count, type, ReduceOp::Sum, 0}, stream);
}

namespace {

// send() and recv(): the same checks, then a group of one (or a member of the open group).
void pointToPoint(Communicator& self, CommunicatorImpl& c, bool isSend, void* buf, std::size_t count, DataType type,
                  int peer, Stream stream) {
  const char* name = isSend ? "send" : "recv";
  checkType(c, name, type);
  checkRank(c, name, "peer", peer);
  const char* argument = isSend ? "sendbuff" : "recvbuff";
  checkBuffer(c, name, argument, buf, count);
  if (peer == c.rank() && c.groupDepth == 0)
    c.fail(std::string(name) + ": with itself outside groupStart()/groupEnd() would never complete; group the send "
           "with its recv");
  const CallPath path = c.device().route(name, stream, {{argument, count > 0 ? buf : nullptr}});
  joinGroup(c, name, path, stream);
  self.groupStart();
  c.groupOps.push_back({isSend, peer, count * sizeOf(type)});
  c.groupBuffers.push_back(buf);
  self.groupEnd();
}

}  // namespace

void Communicator::send(const void* buf, std::size_t count, DataType type, int peer, Stream stream) {
  pointToPoint(*this, *impl_, true, const_cast<void*>(buf), count, type, peer, stream);
}

void Communicator::recv(void* buf, std::size_t count, DataType type, int peer, Stream stream) {
  pointToPoint(*this, *impl_, false, buf, count, type, peer, stream);
}

void Communicator::groupStart() { ++impl_->groupDepth; }

void Communicator::groupEnd() {
  auto& c = *impl_;
  if (c.groupDepth == 0)
    throw InvalidUsage("rank " + std::to_string(c.rank()) + ": groupEnd without a matching groupStart",
                       ErrorContext{c.rank(), -1, "", ""});
  if (--c.groupDepth > 0) return;
  auto collectives = std::move(c.groupCollectives);
  auto ops = std::move(c.groupOps);
  auto buffers = std::move(c.groupBuffers);
  const CallPath path = c.groupPath;
  const Stream stream = c.groupStream;
  c.groupCollectives.clear();
  c.groupOps.clear();
  c.groupBuffers.clear();
  c.groupPath = CallPath::Host;
  c.groupStream = nullptr;
  int selfSends = 0, selfRecvs = 0;
  for (const auto& op : ops)
    if (op.peer == c.rank()) (op.isSend ? selfSends : selfRecvs)++;
  if (selfSends != selfRecvs)
    c.fail("groupEnd: " + std::to_string(selfSends) + " sends to itself but " + std::to_string(selfRecvs) +
           " receives from itself in the group");
  if (path == CallPath::Stream) {
    // A lone send or recv is a group of one (pointToPoint): name it as the caller did.
    const bool lone = collectives.empty() && ops.size() == 1;
    const char* name = lone ? (ops[0].isSend ? "send" : "recv") : "groupEnd";
    c.runOnStream(name, stream, std::move(collectives), std::move(ops), std::move(buffers));
    return;
  }
  // Collectives run in issue order (every rank issues the same ones), then the fused send/recv.
  for (const auto& call : collectives) c.run(call);
  if (!ops.empty()) c.runPointToPoint(ops, buffers);
}

void Communicator::barrier() {
  unsigned char token = 0, result = 0;
  allReduce(&token, &result, 1, DataType::Uint8, ReduceOp::Sum);
}

Work Communicator::allReduceAsync(const void* send, void* recv, std::size_t count, DataType type, Reduction op) {
  return submitAsync(*impl_, "allReduceAsync", {Collective::AllReduce, send, recv, count, type, op, 0});
}

Work Communicator::allGatherAsync(const void* send, void* recv, std::size_t sendCount, DataType type) {
  return submitAsync(*impl_, "allGatherAsync", {Collective::AllGather, send, recv, sendCount, type, ReduceOp::Sum, 0});
}

Work Communicator::reduceScatterAsync(const void* send, void* recv, std::size_t recvCount, DataType type,
                                      Reduction op) {
  return submitAsync(*impl_, "reduceScatterAsync", {Collective::ReduceScatter, send, recv, recvCount, type, op, 0});
}

}  // namespace braid
