// ncclCommInitRankConfig with the configs real programs pass: a bad magic (rejected
// with ncclInvalidArgument before any rendezvous), a non-blocking communicator
// (ncclInProgress, then polled through ncclCommGetAsyncError, for init, a collective
// and finalize alike), and the smaller config struct of a program built against an
// older NCCL, whose `size` and `version` say which fields exist.
#include "checks.h"

#include <cstring>

namespace dropin {
namespace {

void badMagic(int rank, int nranks, const ncclUniqueId& id) {
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.magic ^= 0x1;
  ncclComm_t comm = nullptr;
  const ncclResult_t result = ncclCommInitRankConfig(&comm, nranks, id, rank, &config);
  expectError(result, ncclInvalidArgument, "ncclCommInitRankConfig with a bad magic", nullptr);
  if (result == ncclSuccess && comm != nullptr) ncclCommDestroy(comm);
}

void nonBlocking(int rank, int nranks, const ncclUniqueId& id) {
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  const ncclResult_t result = ncclCommInitRankConfig(&comm, nranks, id, rank, &config);
  countCheck();
  if (result != ncclInProgress) requireSuccess(result, "non-blocking ncclCommInitRankConfig", nullptr);
  if (comm == nullptr) reportFatal("non-blocking ncclCommInitRankConfig returned %d but no communicator", result);
  requireSuccess(waitWhileInProgress(comm, "non-blocking init"), "non-blocking init (ncclCommGetAsyncError)", comm);

  const RankContext ctx{rank, nranks, comm};
  checkCommunicatorQueries(ctx, "non-blocking communicator");
  const int64_t n = nranks;
  checkSumAllReduce(ctx, rank + 1, n * (n + 1) / 2, "ncclAllReduce on a non-blocking communicator", true);

  const ncclResult_t finalized = ncclCommFinalize(comm);
  if (finalized != ncclInProgress) requireSuccess(finalized, "non-blocking ncclCommFinalize", comm);
  requireSuccess(waitWhileInProgress(comm, "non-blocking finalize"), "non-blocking finalize", comm);
  requireSuccess(ncclCommDestroy(comm), "ncclCommDestroy of the non-blocking communicator", nullptr);
}

// The config as NCCL 2.14 laid it out (which fields NCCL's parser resets for versions
// before 2.17 tells what came later). Its size, 24 with padding, is smaller than
// today's, and the program that made it owns nothing after it: the bytes there are
// garbage the library must not use.
struct ConfigOfNccl2_14 {
  size_t size;
  unsigned int magic;
  unsigned int version;
  int blocking;
};

void olderConfig(int rank, int nranks, const ncclUniqueId& id) {
  const ncclConfig_t current = NCCL_CONFIG_INITIALIZER;
  alignas(ncclConfig_t) unsigned char memory[sizeof(ncclConfig_t) + 64];
  std::memset(memory, 0xA5, sizeof memory);
  const ConfigOfNccl2_14 old{sizeof(ConfigOfNccl2_14), current.magic, NCCL_VERSION(2, 14, 3), 1};
  std::memcpy(memory, &old, sizeof old);
  ncclComm_t comm = nullptr;
  requireSuccess(ncclCommInitRankConfig(&comm, nranks, id, rank, reinterpret_cast<ncclConfig_t*>(memory)),
                 "ncclCommInitRankConfig with NCCL 2.14's smaller config", nullptr);
  const RankContext ctx{rank, nranks, comm};
  checkCommunicatorQueries(ctx, "communicator from a 2.14 config");
  const int64_t n = nranks;
  checkSumAllReduce(ctx, 10 * rank, 10 * n * (n - 1) / 2, "ncclAllReduce on a communicator from a 2.14 config");
  requireSuccess(ncclCommDestroy(comm), "ncclCommDestroy of the 2.14-config communicator", nullptr);
}

}  // namespace

void checkConfigs(int rank, int nranks, const ncclUniqueId ids[kIdCount]) {
  badMagic(rank, nranks, ids[kBadMagicId]);
  nonBlocking(rank, nranks, ids[kNonBlockingId]);
  olderConfig(rank, nranks, ids[kOldConfigId]);
}

}  // namespace dropin
