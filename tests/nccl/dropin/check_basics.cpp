// Checks and helpers that the other groups share: the library's version and error
// strings, what a communicator says about itself, a small all-reduce on any
// communicator, and waiting on a non-blocking one.
#include "checks.h"

#include <sched.h>

#include <chrono>
#include <set>
#include <string>

namespace dropin {
namespace {

// NCCL 2.28.9 in NCCL's encoding (major * 10000 + minor * 100 + patch since 2.9), the
// release whose ABI Braid's libnccl.so.2 provides.
constexpr int kNccl2289 = 22809;
constexpr auto kAsyncDeadline = std::chrono::seconds(60);

}  // namespace

void checkLibraryBasics() {
  int version = 0;
  requireSuccess(ncclGetVersion(&version), "ncclGetVersion", nullptr);
  countCheck();
  if (version != kNccl2289) reportFailure("ncclGetVersion gave %d, expected %d", version, kNccl2289);

  std::set<std::string> seen;
  for (int code = ncclSuccess; code <= ncclInProgress; ++code) {
    countCheck();
    const char* text = ncclGetErrorString(static_cast<ncclResult_t>(code));
    if (text == nullptr || text[0] == '\0') {
      reportFailure("ncclGetErrorString(%d) is %s", code, text ? "empty" : "null");
    } else if (!seen.insert(text).second) {
      reportFailure("ncclGetErrorString(%d) is \"%s\", the same text as a lower code", code, text);
    }
  }
}

void checkCommunicatorQueries(const RankContext& ctx, const char* which) {
  int count = -1, rank = -1;
  requireSuccess(ncclCommCount(ctx.comm, &count), "ncclCommCount", ctx.comm);
  requireSuccess(ncclCommUserRank(ctx.comm, &rank), "ncclCommUserRank", ctx.comm);
  countCheck();
  if (count != ctx.nranks) reportFailure("%s: ncclCommCount is %d, expected %d", which, count, ctx.nranks);
  if (rank != ctx.rank) reportFailure("%s: ncclCommUserRank is %d, expected %d", which, rank, ctx.rank);
  ncclResult_t state = ncclInternalError;
  requireSuccess(ncclCommGetAsyncError(ctx.comm, &state), "ncclCommGetAsyncError", ctx.comm);
  if (state != ncclSuccess)
    reportFailure("%s: ncclCommGetAsyncError reports %d (%s) on a fresh communicator", which,
                  static_cast<int>(state), ncclGetErrorString(state));
}

ncclResult_t waitWhileInProgress(ncclComm_t comm, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + kAsyncDeadline;
  ncclResult_t state = ncclInProgress;
  while (true) {
    const ncclResult_t result = ncclCommGetAsyncError(comm, &state);
    if (result != ncclSuccess) {
      reportFailure("%s: ncclCommGetAsyncError itself returned %d (%s)", what, static_cast<int>(result),
                    ncclGetErrorString(result));
      return result;
    }
    if (state != ncclInProgress) return state;
    if (std::chrono::steady_clock::now() > deadline)
      reportFatal("%s: still ncclInProgress after %lld s", what, static_cast<long long>(kAsyncDeadline.count()));
    sched_yield();  // a poll: the library finishes the work on its own threads
  }
}

void checkSumAllReduce(const RankContext& ctx, int64_t myValue, int64_t expectedSum, const char* what,
                       bool nonBlocking) {
  const TypeInfo& int64 = typeInfo(ncclInt64);
  const size_t count = 3;
  GuardedBuffer send(int64, count), recv(int64, count);
  for (size_t i = 0; i < count; ++i)
    store(int64, send.data(), i, fromInteger(int64, static_cast<uint64_t>(myValue) * (i + 1)));
  const ncclResult_t result =
      ncclAllReduce(send.data(), recv.data(), count, ncclInt64, ncclSum, ctx.comm, nullptr);
  if (nonBlocking) {
    // ncclSuccess or ncclInProgress; either way the result is there once the
    // communicator is no longer in progress.
    if (result != ncclInProgress) requireSuccess(result, what, ctx.comm);
    requireSuccess(waitWhileInProgress(ctx.comm, what), what, ctx.comm);
  } else {
    requireSuccess(result, what, ctx.comm);
  }
  checkElements(int64, recv.data(), count, what,
                [&](size_t i) { return fromInteger(int64, static_cast<uint64_t>(expectedSum) * (i + 1)); });
  recv.checkGuard(what);
}

}  // namespace dropin
