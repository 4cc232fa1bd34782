// The error paths NCCL defines, each with its exact code and a non-empty
// ncclGetLastError: a data type or op outside the enum, a pre-multiplied sum used after
// ncclRedOpDestroy or with another data type, a null communicator, a root outside [0, nranks), and ncclGroupEnd
// without ncclGroupStart. Every rank makes the same bad calls; none of them may reach
// the peers or break the communicator, which must work afterwards and report no
// asynchronous error.
#include "checks.h"

namespace dropin {
namespace {

void checkBadArguments(const RankContext& ctx) {
  const TypeInfo& int32 = typeInfo(ncclInt32);
  GuardedBuffer send(int32, 8), recv(int32, 8 * ctx.nranks);
  const auto badType = static_cast<ncclDataType_t>(ncclNumTypes);
  // 15 is inside the enum's range of values (so C++ allows the cast) but no data type.
  const auto unusedType = static_cast<ncclDataType_t>(15);
  const auto badOp = static_cast<ncclRedOp_t>(ncclNumOps);  // no op was created with that handle

  expectError(ncclAllReduce(send.data(), recv.data(), 8, badType, ncclSum, ctx.comm, nullptr), ncclInvalidArgument,
              "ncclAllReduce with data type ncclNumTypes", ctx.comm);
  expectError(ncclAllReduce(send.data(), recv.data(), 8, unusedType, ncclSum, ctx.comm, nullptr),
              ncclInvalidArgument, "ncclAllReduce with data type 15", ctx.comm);
  expectError(ncclBroadcast(send.data(), recv.data(), 8, badType, 0, ctx.comm, nullptr), ncclInvalidArgument,
              "ncclBroadcast with data type ncclNumTypes", ctx.comm);
  expectError(ncclAllReduce(send.data(), recv.data(), 8, ncclInt32, badOp, ctx.comm, nullptr), ncclInvalidArgument,
              "ncclAllReduce with op ncclNumOps (never created)", ctx.comm);
  expectError(ncclReduceScatter(send.data(), recv.data(), 1, ncclInt32, static_cast<ncclRedOp_t>(1000), ctx.comm,
                                nullptr),
              ncclInvalidArgument, "ncclReduceScatter with op 1000 (never created)", ctx.comm);

  // A pre-multiplied sum is gone once destroyed.
  int scalar = 3;
  ncclRedOp_t preMul;
  requireSuccess(ncclRedOpCreatePreMulSum(&preMul, &scalar, ncclInt32, ncclScalarHostImmediate, ctx.comm),
                 "ncclRedOpCreatePreMulSum", ctx.comm);
  requireSuccess(ncclRedOpDestroy(preMul, ctx.comm), "ncclRedOpDestroy", ctx.comm);
  expectError(ncclAllReduce(send.data(), recv.data(), 8, ncclInt32, preMul, ctx.comm, nullptr), ncclInvalidArgument,
              "ncclAllReduce with a destroyed pre-multiplied sum", ctx.comm);

  // An op made for one data type, used with another.
  requireSuccess(ncclRedOpCreatePreMulSum(&preMul, &scalar, ncclInt32, ncclScalarHostImmediate, ctx.comm),
                 "ncclRedOpCreatePreMulSum", ctx.comm);
  expectError(ncclAllReduce(send.data(), recv.data(), 8, ncclUint32, preMul, ctx.comm, nullptr), ncclInvalidArgument,
              "ncclAllReduce uint32 with a pre-multiplied sum made for int32", ctx.comm);
  requireSuccess(ncclRedOpDestroy(preMul, ctx.comm), "ncclRedOpDestroy", ctx.comm);

  expectError(ncclAllReduce(send.data(), recv.data(), 8, ncclInt32, ncclSum, nullptr, nullptr), ncclInvalidArgument,
              "ncclAllReduce with a null communicator", nullptr);
  expectError(ncclSend(send.data(), 8, ncclInt32, 0, nullptr, nullptr), ncclInvalidArgument,
              "ncclSend with a null communicator", nullptr);
  int value = -1;
  expectError(ncclCommCount(nullptr, &value), ncclInvalidArgument, "ncclCommCount with a null communicator", nullptr);

  expectError(ncclBroadcast(send.data(), recv.data(), 8, ncclInt32, ctx.nranks, ctx.comm, nullptr),
              ncclInvalidArgument, "ncclBroadcast with root = nranks", ctx.comm);
  expectError(ncclBroadcast(send.data(), recv.data(), 8, ncclInt32, -1, ctx.comm, nullptr), ncclInvalidArgument,
              "ncclBroadcast with root -1", ctx.comm);
  expectError(ncclReduce(send.data(), recv.data(), 8, ncclInt32, ncclSum, ctx.nranks, ctx.comm, nullptr),
              ncclInvalidArgument, "ncclReduce with root = nranks", ctx.comm);
  expectError(ncclBcast(send.data(), 8, ncclInt32, ctx.nranks + 5, ctx.comm, nullptr), ncclInvalidArgument,
              "ncclBcast with root = nranks + 5", ctx.comm);
  expectError(ncclSend(send.data(), 8, ncclInt32, ctx.nranks, ctx.comm, nullptr), ncclInvalidArgument,
              "ncclSend to peer = nranks", ctx.comm);

  expectError(ncclGroupEnd(), ncclInvalidUsage, "ncclGroupEnd without ncclGroupStart", nullptr);
}

}  // namespace

void checkErrorPaths(const RankContext& ctx) {
  checkBadArguments(ctx);
  ncclResult_t state = ncclInternalError;
  requireSuccess(ncclCommGetAsyncError(ctx.comm, &state), "ncclCommGetAsyncError after bad arguments", ctx.comm);
  countCheck();
  if (state != ncclSuccess)
    reportFailure("after argument errors ncclCommGetAsyncError reports %d (%s), expected ncclSuccess",
                  static_cast<int>(state), ncclGetErrorString(state));
  const int64_t n = ctx.nranks;
  checkSumAllReduce(ctx, ctx.rank + 1, n * (n + 1) / 2, "all-reduce after the error paths");
}

}  // namespace dropin
