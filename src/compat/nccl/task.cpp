#include "compat/nccl/task.h"

#include "compat/nccl/comm.h"
#include "compat/nccl/errors.h"

namespace braid::nccl {
namespace {

bool rooted(TaskKind k) {
  return k == TaskKind::Broadcast || k == TaskKind::Reduce || k == TaskKind::Gather || k == TaskKind::Scatter;
}

// Elements each buffer holds, per NCCL's definition of each call's count.
struct Extents {
  std::size_t send = 0, recv = 0;
};

Extents extentsOf(const Task& t, int rank, int nranks) {
  const std::size_t n = t.count, all = t.count * static_cast<std::size_t>(nranks);
  const bool isRoot = rank == t.root;
  switch (t.kind) {
    case TaskKind::AllReduce: return {n, n};
    case TaskKind::AllGather: return {n, all};
    case TaskKind::ReduceScatter: return {all, n};
    case TaskKind::Broadcast: return {isRoot ? n : 0, n};
    case TaskKind::Reduce: return {n, isRoot ? n : 0};
    case TaskKind::AllToAll: return {all, all};
    case TaskKind::Gather: return {n, isRoot ? all : 0};
    case TaskKind::Scatter: return {isRoot ? all : 0, n};
    case TaskKind::Send: return {n, 0};
    case TaskKind::Recv: return {0, n};
  }
  return {};
}

void checkBuffer(const char* name, const void* p, std::size_t elements, int rank) {
  if (!p && elements > 0)
    fail(ncclInvalidArgument, rankPrefix(rank) + "argument '" + name + "' is NULL but the call needs " +
                                  std::to_string(elements) + " elements there");
}

// Gather and scatter are sends and receives between the root and every rank; they
// must run inside a C++ group, which the caller opens. The root's own block moves
// through a send to itself, except in place (NCCL's layout: the root's block of the
// large buffer is the small one), where it is already where it belongs.
void rootedPointToPoint(Communicator& c, const Task& t) {
  const std::size_t blockBytes = t.count * sizeOf(t.type);
  const bool gather = t.kind == TaskKind::Gather;
  auto block = [&](int peer) -> char* {
    char* base = gather ? static_cast<char*>(t.recv) : const_cast<char*>(static_cast<const char*>(t.send));
    return base + static_cast<std::size_t>(peer) * blockBytes;
  };
  const void* own = gather ? t.send : t.recv;
  const bool isRoot = c.rank() == t.root;
  const bool inPlace = isRoot && block(t.root) == own;
  if (isRoot) {
    for (int peer = 0; peer < c.size(); ++peer) {
      if (peer == t.root && inPlace) continue;
      if (gather) c.recv(block(peer), t.count, t.type, peer, t.stream);
      else c.send(block(peer), t.count, t.type, peer, t.stream);
    }
  }
  if (inPlace) return;
  if (gather) c.send(t.send, t.count, t.type, t.root, t.stream);
  else c.recv(t.recv, t.count, t.type, t.root, t.stream);
}

void issue(Communicator& c, const Task& t) {
  switch (t.kind) {
    case TaskKind::AllReduce: c.allReduce(t.send, t.recv, t.count, t.type, t.op.atRun(), t.stream); return;
    case TaskKind::AllGather: c.allGather(t.send, t.recv, t.count, t.type, t.stream); return;
    case TaskKind::ReduceScatter: c.reduceScatter(t.send, t.recv, t.count, t.type, t.op.atRun(), t.stream); return;
    case TaskKind::Broadcast: c.broadcast(t.send, t.recv, t.count, t.type, t.root, t.stream); return;
    case TaskKind::Reduce: c.reduce(t.send, t.recv, t.count, t.type, t.op.atRun(), t.root, t.stream); return;
    case TaskKind::AllToAll: c.allToAll(t.send, t.recv, t.count, t.type, t.stream); return;
    case TaskKind::Gather:
    case TaskKind::Scatter: rootedPointToPoint(c, t); return;
    case TaskKind::Send: c.send(t.send, t.count, t.type, t.root, t.stream); return;
    case TaskKind::Recv: c.recv(t.recv, t.count, t.type, t.root, t.stream); return;
  }
}

}  // namespace

DataType checkedType(int datatype, int rank) {
  if (datatype < 0 || datatype >= ncclNumTypes)
    fail(ncclInvalidArgument, rankPrefix(rank) + "argument 'datatype' is " + std::to_string(datatype) +
                                  ", not an ncclDataType_t (0.." + std::to_string(ncclNumTypes - 1) + ")");
  return static_cast<DataType>(datatype);  // Braid's values are NCCL's
}

void checkTask(const ncclComm& comm, const Task& t) {
  const int rank = comm.rank;
  const bool p2p = t.kind == TaskKind::Send || t.kind == TaskKind::Recv;
  if ((rooted(t.kind) || p2p) && (t.root < 0 || t.root >= comm.nranks))
    fail(ncclInvalidArgument, rankPrefix(rank) + "argument '" + (p2p ? "peer" : "root") + "' is " +
                                  std::to_string(t.root) + ", outside [0, " + std::to_string(comm.nranks) + ")");
  Extents e = extentsOf(t, rank, comm.nranks);
  checkBuffer(t.kind == TaskKind::Broadcast && t.send == t.recv ? "buff" : "sendbuff", t.send, e.send, rank);
  checkBuffer(t.kind == TaskKind::Broadcast && t.send == t.recv ? "buff" : "recvbuff", t.recv, e.recv, rank);
}

void runTasks(Communicator& c, const Task* tasks, std::size_t n) {
  const bool alone = n == 1 && tasks[0].kind != TaskKind::Gather && tasks[0].kind != TaskKind::Scatter;
  if (alone) {
    issue(c, tasks[0]);
    return;
  }
  c.groupStart();
  try {
    for (std::size_t i = 0; i < n; ++i) issue(c, tasks[i]);
  } catch (...) {
    // Close the group before reporting. Checks that fail here (a stream on a host-only
    // build) fail on every rank at the same task, so every rank runs the same prefix.
    try {
      c.groupEnd();
    } catch (...) {
    }
    throw;
  }
  c.groupEnd();
}

}  // namespace braid::nccl
