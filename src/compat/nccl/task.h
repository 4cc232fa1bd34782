#pragma once
// One collective or point-to-point call of the NCCL API, checked and ready to run on
// a C++ communicator now or at the end of a group.
#include <braid/communicator.h>
#include <nccl.h>

#include "compat/nccl/premulsum.h"

#include <cstddef>
#include <vector>

struct ncclComm;

namespace braid::nccl {

enum class TaskKind { AllReduce, AllGather, ReduceScatter, Broadcast, Reduce, AllToAll, Gather, Scatter, Send, Recv };

struct Task {
  TaskKind kind = TaskKind::AllReduce;
  const void* send = nullptr;
  void* recv = nullptr;
  std::size_t count = 0;  // as the NCCL call's count argument
  DataType type = DataType::Int8;
  ResolvedOp op;
  int root = 0;  // the root, or the peer of Send/Recv
  void* stream = nullptr;
};

// The datatype as Braid's, or ncclInvalidArgument naming it.
DataType checkedType(int datatype, int rank);

// Checks root or peer and the buffers against the communicator, as NCCL does before
// queuing anything; throws ncclInvalidArgument naming the argument and the rank.
void checkTask(const ncclComm& comm, const Task& task);

// Runs the tasks on `c` as one group (alone when there is one task that needs none).
// Throws the C++ core's error.
void runTasks(Communicator& c, const Task* tasks, std::size_t n);

}  // namespace braid::nccl
