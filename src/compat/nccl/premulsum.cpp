// ncclRedOpCreatePreMulSum and ncclRedOpDestroy over each communicator's table.
#include "compat/nccl/premulsum.h"

#include "compat/nccl/comm.h"
#include "compat/nccl/errors.h"
#include "compat/nccl/task.h"
#include "core/cuda/memory_kind.h"

namespace braid::nccl {
namespace {

std::string opName(int op) { return std::to_string(op); }

}  // namespace

ncclRedOp_t PreMulSumTable::create(DataType type, bool hostImmediate, const void* scalar) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t slot = 0;
  while (slot < entries_.size() && entries_[slot].live) ++slot;  // reuse destroyed slots
  if (slot == entries_.size()) entries_.emplace_back();
  Entry& e = entries_[slot];
  e = Entry{};
  e.live = true;
  e.type = type;
  if (hostImmediate) e.hostValue = Reduction::preMulSum(scalar, type);
  else e.deviceScalar = scalar;
  return static_cast<ncclRedOp_t>(ncclNumOps + static_cast<int>(slot));
}

void PreMulSumTable::destroy(int op, int rank) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (op >= 0 && op < ncclNumOps)
    fail(ncclInvalidArgument, rankPrefix(rank) + "argument 'op' is " + opName(op) +
                                  ", a built-in op; only ops from ncclRedOpCreatePreMulSum can be destroyed");
  std::size_t slot = static_cast<std::size_t>(op) - ncclNumOps;
  if (op < 0 || slot >= entries_.size() || !entries_[slot].live)
    fail(ncclInvalidArgument, rankPrefix(rank) + "argument 'op' is " + opName(op) +
                                  ", not an op that ncclRedOpCreatePreMulSum made for this communicator");
  entries_[slot].live = false;
}

ResolvedOp PreMulSumTable::resolve(int op, DataType type, int rank) const {
  ResolvedOp r;
  r.type = type;
  if (op >= 0 && op < ncclNumOps) {
    r.reduction = Reduction(static_cast<ReduceOp>(op));
    return r;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t slot = static_cast<std::size_t>(op) - ncclNumOps;
  if (op < 0 || slot >= entries_.size() || !entries_[slot].live)
    fail(ncclInvalidArgument, rankPrefix(rank) + "argument 'op' is " + opName(op) +
                                  ", neither a built-in ncclRedOp_t (0..4) nor a live op from "
                                  "ncclRedOpCreatePreMulSum on this communicator");
  const Entry& e = entries_[slot];
  if (e.type != type)
    fail(ncclInvalidArgument, rankPrefix(rank) + "argument 'op' is a pre-multiplied sum made for datatype " +
                                  std::string(toString(e.type)) + ", used with datatype " +
                                  std::string(toString(type)));
  r.reduction = e.hostValue;
  r.scalarAtRun = e.deviceScalar;
  return r;
}

}  // namespace braid::nccl

using namespace braid::nccl;

ncclResult_t ncclRedOpCreatePreMulSum(ncclRedOp_t* op, void* scalar, ncclDataType_t datatype,
                                      ncclScalarResidence_t residence, ncclComm_t comm) {
  return guarded("ncclRedOpCreatePreMulSum", [&] {
    CommRef ref = acquire(comm);
    ready(*ref);
    const int rank = ref->rank;
    if (!op) fail(ncclInvalidArgument, rankPrefix(rank) + "argument 'op' is NULL");
    if (!scalar) fail(ncclInvalidArgument, rankPrefix(rank) + "argument 'scalar' is NULL");
    braid::DataType type = checkedType(rawValue(datatype), rank);
    const int where = rawValue(residence);
    if (where != ncclScalarDevice && where != ncclScalarHostImmediate)
      fail(ncclInvalidArgument, rankPrefix(rank) + "argument 'residence' is " + std::to_string(where) +
                                    ", not ncclScalarDevice (0) or ncclScalarHostImmediate (1)");
    // A device-residence scalar is read when each call runs. In host (or managed) memory
    // a plain read does that; one in GPU memory needs a read ordered on the call's
    // stream, which the C++ core cannot take yet. (A build without CUDA takes no GPU
    // memory anywhere, and cannot tell it apart.)
#ifdef BRAID_HAVE_CUDA
    if (where == ncclScalarDevice && braid::inspectPointer(scalar).kind == braid::MemoryKind::Device)
      fail(ncclInvalidUsage, rankPrefix(rank) + "not supported by Braid yet: a ncclScalarDevice scalar in GPU "
                                                "memory; pass it in host memory, or use ncclScalarHostImmediate");
#endif
    *op = ref->preMulSums.create(type, where == ncclScalarHostImmediate, scalar);
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclRedOpCreatePreMulSum)

ncclResult_t ncclRedOpDestroy(ncclRedOp_t op, ncclComm_t comm) {
  return guarded("ncclRedOpDestroy", [&] {
    CommRef ref = acquire(comm);
    ref->preMulSums.destroy(rawValue(op), ref->rank);
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclRedOpDestroy)
