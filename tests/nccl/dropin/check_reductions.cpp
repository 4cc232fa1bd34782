// All-reduce, reduce-scatter and reduce through the NCCL C API on host memory with a
// null stream, for every data type and op (built-in ops and a pre-multiplied sum made
// with ncclRedOpCreatePreMulSum from a host scalar), in and out of place, and checked
// element by element against reference.cpp. Send buffers must come back unchanged and
// nothing may be written past a receive buffer.
#include "checks.h"

#include <cstring>

namespace dropin {
namespace {

const size_t kCounts[] = {0, 1, 7, 1031};
// More than one pipeline slice of every transport, for a few type/op pairs.
constexpr size_t kLargeCount = (size_t{1} << 18) + 3;

// The op of one call: a built-in one, or a pre-multiplied sum created for this call
// and destroyed after it.
class OpHandle {
 public:
  OpHandle(const RankContext& ctx, const TypeInfo& type, Op op) : ctx_(ctx) {
    if (op != Op::PreMulSum) {
      handle_ = builtinOp(op);
      return;
    }
    unsigned char scalar[8];
    store(type, scalar, 0, preMulScalar(type, ctx.rank));
    requireSuccess(ncclRedOpCreatePreMulSum(&handle_, scalar, type.type, ncclScalarHostImmediate, ctx.comm),
                   "ncclRedOpCreatePreMulSum", ctx.comm);
    created_ = true;
    countCheck();
    if (static_cast<int>(handle_) < static_cast<int>(ncclNumOps))
      reportFailure("ncclRedOpCreatePreMulSum(%s) gave op %d, below ncclNumOps", type.name, static_cast<int>(handle_));
    // ncclScalarHostImmediate: the scalar is read before the call returns, so the
    // memory may be reused at once. NaN bytes now would spoil a late read.
    std::memset(scalar, 0xFF, sizeof scalar);
  }
  ~OpHandle() {
    if (created_) requireSuccess(ncclRedOpDestroy(handle_, ctx_.comm), "ncclRedOpDestroy", ctx_.comm);
  }
  OpHandle(const OpHandle&) = delete;
  OpHandle& operator=(const OpHandle&) = delete;
  ncclRedOp_t get() const { return handle_; }

 private:
  const RankContext& ctx_;
  ncclRedOp_t handle_ = ncclSum;
  bool created_ = false;
};

void fillInput(GuardedBuffer& buffer, const TypeInfo& type, Op op, int rank, int nranks) {
  for (size_t i = 0; i < buffer.count(); ++i) store(type, buffer.data(), i, reductionInput(type, op, rank, i, nranks));
}

std::vector<unsigned char> copyOf(const GuardedBuffer& buffer, const TypeInfo& type) {
  const unsigned char* bytes = static_cast<const unsigned char*>(buffer.data());
  return std::vector<unsigned char>(bytes, bytes + buffer.count() * type.size);
}

void checkUnchanged(const GuardedBuffer& buffer, const std::vector<unsigned char>& before, const std::string& what) {
  checkBytes(buffer.data(), before.size(), what + " (send buffer changed)", [&](size_t i) { return before[i]; });
}

const char* placement(bool inPlace) { return inPlace ? "in-place" : "out-of-place"; }

void allReduce(const RankContext& ctx, const TypeInfo& type, Op op, size_t count, bool inPlace) {
  const std::string what =
      describeCall("ncclAllReduce %s %s count %zu %s", type.name, opName(op), count, placement(inPlace));
  GuardedBuffer send(type, count), recv(type, count);
  fillInput(send, type, op, ctx.rank, ctx.nranks);
  const std::vector<unsigned char> input = copyOf(send, type);
  void* out = inPlace ? send.data() : recv.data();
  OpHandle handle(ctx, type, op);
  requireSuccess(ncclAllReduce(send.data(), out, count, type.type, handle.get(), ctx.comm, nullptr), what.c_str(),
                 ctx.comm);
  checkElements(type, out, count, what, [&](size_t i) { return reductionExpected(type, op, i, ctx.nranks); });
  if (!inPlace) checkUnchanged(send, input, what);
  send.checkGuard(what);
  recv.checkGuard(what);
}

// In place, rank r's result lands in block r of its send buffer.
void reduceScatter(const RankContext& ctx, const TypeInfo& type, Op op, size_t count, bool inPlace) {
  const std::string what =
      describeCall("ncclReduceScatter %s %s recvcount %zu %s", type.name, opName(op), count, placement(inPlace));
  GuardedBuffer send(type, count * ctx.nranks), recv(type, count);
  fillInput(send, type, op, ctx.rank, ctx.nranks);
  const std::vector<unsigned char> input = copyOf(send, type);
  void* out = inPlace ? send.element(ctx.rank * count) : recv.data();
  OpHandle handle(ctx, type, op);
  requireSuccess(ncclReduceScatter(send.data(), out, count, type.type, handle.get(), ctx.comm, nullptr),
                 what.c_str(), ctx.comm);
  const size_t first = ctx.rank * count;
  checkElements(type, out, count, what,
                [&](size_t i) { return reductionExpected(type, op, first + i, ctx.nranks); });
  if (!inPlace) checkUnchanged(send, input, what);
  send.checkGuard(what);
  recv.checkGuard(what);
}

// Out of place, ranks other than the root pass a null receive buffer, as NCCL allows;
// in place, only the root's buffer may change.
void reduce(const RankContext& ctx, const TypeInfo& type, Op op, size_t count, int root, bool inPlace) {
  const std::string what = describeCall("ncclReduce %s %s count %zu root %d %s", type.name, opName(op), count, root,
                                        placement(inPlace));
  GuardedBuffer send(type, count), recv(type, count);
  fillInput(send, type, op, ctx.rank, ctx.nranks);
  const std::vector<unsigned char> input = copyOf(send, type);
  void* out = inPlace ? send.data() : (ctx.rank == root ? recv.data() : nullptr);
  OpHandle handle(ctx, type, op);
  requireSuccess(ncclReduce(send.data(), out, count, type.type, handle.get(), root, ctx.comm, nullptr), what.c_str(),
                 ctx.comm);
  if (ctx.rank == root)
    checkElements(type, out, count, what, [&](size_t i) { return reductionExpected(type, op, i, ctx.nranks); });
  if (!inPlace || ctx.rank != root) checkUnchanged(send, input, what);
  send.checkGuard(what);
  recv.checkGuard(what);
}

// ncclScalarDevice: the scalar is read while the collective runs, not when the op is
// made. Host memory is visible to Braid's host path, so the value stored after
// ncclRedOpCreatePreMulSum (this rank's factor) is the one that must apply.
void preMulSumReadAtRun(const RankContext& ctx, const TypeInfo& type) {
  const size_t count = 1031;
  const std::string what = describeCall("ncclAllReduce %s premulsum with an ncclScalarDevice scalar", type.name);
  GuardedBuffer send(type, count), recv(type, count), scalar(type, 1);
  fillInput(send, type, Op::PreMulSum, ctx.rank, ctx.nranks);
  store(type, scalar.data(), 0, type.kind == Kind::Floating ? fromReal(type, 5) : fromInteger(type, 5));
  ncclRedOp_t op;
  requireSuccess(ncclRedOpCreatePreMulSum(&op, scalar.data(), type.type, ncclScalarDevice, ctx.comm),
                 "ncclRedOpCreatePreMulSum (ncclScalarDevice)", ctx.comm);
  store(type, scalar.data(), 0, preMulScalar(type, ctx.rank));
  requireSuccess(ncclAllReduce(send.data(), recv.data(), count, type.type, op, ctx.comm, nullptr), what.c_str(),
                 ctx.comm);
  checkElements(type, recv.data(), count, what,
                [&](size_t i) { return reductionExpected(type, Op::PreMulSum, i, ctx.nranks); });
  requireSuccess(ncclRedOpDestroy(op, ctx.comm), "ncclRedOpDestroy (ncclScalarDevice)", ctx.comm);
  recv.checkGuard(what);
}

}  // namespace

void checkReductions(const RankContext& ctx) {
  for (const TypeInfo& type : allTypes()) {
    for (Op op : allOps()) {
      for (size_t count : kCounts) {
        for (bool inPlace : {false, true}) {
          allReduce(ctx, type, op, count, inPlace);
          reduceScatter(ctx, type, op, count, inPlace);
          for (int root = 0; root < ctx.nranks; ++root) reduce(ctx, type, op, count, root, inPlace);
        }
      }
    }
  }
  const TypeInfo& float32 = typeInfo(ncclFloat32);
  for (Op op : allOps()) allReduce(ctx, float32, op, kLargeCount, false);
  allReduce(ctx, typeInfo(ncclBfloat16), Op::Sum, kLargeCount, true);
  allReduce(ctx, typeInfo(ncclInt8), Op::Avg, kLargeCount, false);
  reduceScatter(ctx, float32, Op::Sum, kLargeCount, false);
  reduceScatter(ctx, typeInfo(ncclFloat8e5m2), Op::PreMulSum, kLargeCount, true);
  reduce(ctx, float32, Op::Max, kLargeCount, ctx.nranks - 1, false);
  for (ncclDataType_t type : {ncclInt32, ncclFloat32, ncclBfloat16}) preMulSumReadAtRun(ctx, typeInfo(type));
}

}  // namespace dropin
