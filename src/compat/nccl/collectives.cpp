// The collective and point-to-point calls: each becomes a checked Task, run now or at
// the end of the open group. The stream goes to the C++ API unchanged: NULL for host
// memory, a CUDA stream for device memory where the build supports it.
#include "compat/nccl/group.h"

#include <optional>

using namespace braid::nccl;

namespace {

// `datatype` and `op` as rawValue reads them; `op` is empty for calls that reduce nothing.
ncclResult_t enqueue(const char* function, ncclComm_t comm, TaskKind kind, const void* send, void* recv,
                     std::size_t count, int datatype, std::optional<int> op, int root, cudaStream_t stream) {
  return guardedInGroup(function, [&] {
    CommRef ref = acquire(comm);
    Task t;
    t.kind = kind;
    t.send = send;
    t.recv = recv;
    t.count = count;
    t.type = checkedType(datatype, ref->rank);
    if (op) t.op = ref->preMulSums.resolve(*op, t.type, ref->rank);
    t.root = root;
    t.stream = stream;
    return submit(std::move(ref), t);
  });
}

}  // namespace

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                           ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
  return enqueue("ncclAllReduce", comm, TaskKind::AllReduce, sendbuff, recvbuff, count,
                 rawValue(datatype), rawValue(op), 0, stream);
}
BRAID_NCCL_TWIN(ncclAllReduce)

ncclResult_t ncclAllGather(const void* sendbuff, void* recvbuff, size_t sendcount, ncclDataType_t datatype,
                           ncclComm_t comm, cudaStream_t stream) {
  return enqueue("ncclAllGather", comm, TaskKind::AllGather, sendbuff, recvbuff, sendcount,
                 rawValue(datatype), std::nullopt, 0, stream);
}
BRAID_NCCL_TWIN(ncclAllGather)

ncclResult_t ncclReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount, ncclDataType_t datatype,
                               ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
  return enqueue("ncclReduceScatter", comm, TaskKind::ReduceScatter, sendbuff, recvbuff, recvcount,
                 rawValue(datatype), rawValue(op), 0, stream);
}
BRAID_NCCL_TWIN(ncclReduceScatter)

ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, int root,
                           ncclComm_t comm, cudaStream_t stream) {
  return enqueue("ncclBroadcast", comm, TaskKind::Broadcast, sendbuff, recvbuff, count,
                 rawValue(datatype), std::nullopt, root, stream);
}
BRAID_NCCL_TWIN(ncclBroadcast)

// The in-place broadcast of NCCL's first API.
ncclResult_t ncclBcast(void* buff, size_t count, ncclDataType_t datatype, int root, ncclComm_t comm,
                       cudaStream_t stream) {
  return enqueue("ncclBcast", comm, TaskKind::Broadcast, buff, buff, count,
                 rawValue(datatype), std::nullopt, root, stream);
}
BRAID_NCCL_TWIN(ncclBcast)

ncclResult_t ncclReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, ncclRedOp_t op,
                        int root, ncclComm_t comm, cudaStream_t stream) {
  return enqueue("ncclReduce", comm, TaskKind::Reduce, sendbuff, recvbuff, count,
                 rawValue(datatype), rawValue(op), root, stream);
}
BRAID_NCCL_TWIN(ncclReduce)

ncclResult_t ncclAlltoAll(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                          ncclComm_t comm, cudaStream_t stream) {
  return enqueue("ncclAlltoAll", comm, TaskKind::AllToAll, sendbuff, recvbuff, count,
                 rawValue(datatype), std::nullopt, 0, stream);
}
BRAID_NCCL_TWIN(ncclAlltoAll)

ncclResult_t ncclGather(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, int root,
                        ncclComm_t comm, cudaStream_t stream) {
  return enqueue("ncclGather", comm, TaskKind::Gather, sendbuff, recvbuff, count,
                 rawValue(datatype), std::nullopt, root, stream);
}
BRAID_NCCL_TWIN(ncclGather)

ncclResult_t ncclScatter(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, int root,
                         ncclComm_t comm, cudaStream_t stream) {
  return enqueue("ncclScatter", comm, TaskKind::Scatter, sendbuff, recvbuff, count,
                 rawValue(datatype), std::nullopt, root, stream);
}
BRAID_NCCL_TWIN(ncclScatter)

ncclResult_t ncclSend(const void* sendbuff, size_t count, ncclDataType_t datatype, int peer, ncclComm_t comm,
                      cudaStream_t stream) {
  return enqueue("ncclSend", comm, TaskKind::Send, sendbuff, nullptr, count,
                 rawValue(datatype), std::nullopt, peer, stream);
}
BRAID_NCCL_TWIN(ncclSend)

ncclResult_t ncclRecv(void* recvbuff, size_t count, ncclDataType_t datatype, int peer, ncclComm_t comm,
                      cudaStream_t stream) {
  return enqueue("ncclRecv", comm, TaskKind::Recv, nullptr, recvbuff, count,
                 rawValue(datatype), std::nullopt, peer, stream);
}
BRAID_NCCL_TWIN(ncclRecv)
