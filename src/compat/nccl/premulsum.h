#pragma once
// Pre-multiplied sums made by ncclRedOpCreatePreMulSum: per communicator, handed out
// as ncclRedOp_t values from ncclNumOps up, as NCCL numbers them.
#include <braid/types.h>
#include <nccl.h>

#include <mutex>
#include <vector>

namespace braid::nccl {

// An op ready for a call. A scalar in device residence is read when the call runs
// (NCCL reads it when the kernel runs), so it is kept as a pointer until then; it is
// in host memory (ncclRedOpCreatePreMulSum refuses GPU memory for now).
struct ResolvedOp {
  Reduction reduction;
  const void* scalarAtRun = nullptr;
  DataType type = DataType::Int8;

  // The reduction to run with, reading a device-residence scalar now.
  Reduction atRun() const { return scalarAtRun ? Reduction::preMulSum(scalarAtRun, type) : reduction; }
};

class PreMulSumTable {
 public:
  // A host-immediate scalar is copied now; a device-residence one is remembered by address.
  ncclRedOp_t create(DataType type, bool hostImmediate, const void* scalar);
  // `op` as the caller passed it (rawValue). Throws ncclInvalidArgument for a built-in
  // op or one this table did not make (or already destroyed).
  void destroy(int op, int rank);
  // Built-in ops pass through. Throws ncclInvalidArgument for an unknown op, or a
  // pre-multiplied sum made for another datatype than the call's.
  ResolvedOp resolve(int op, DataType type, int rank) const;

 private:
  struct Entry {
    bool live = false;
    DataType type = DataType::Int8;
    Reduction hostValue;                 // ncclScalarHostImmediate
    const void* deviceScalar = nullptr;  // ncclScalarDevice
  };
  mutable std::mutex mutex_;  // ops may be made on one thread and used by a group's threads
  std::vector<Entry> entries_;
};

}  // namespace braid::nccl
