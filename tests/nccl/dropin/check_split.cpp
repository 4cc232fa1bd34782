// ncclCommSplit as NCCL defines it: ranks of one color form a communicator ordered by
// key (ties by parent rank), NCCL_SPLIT_NOCOLOR yields a null communicator, and a null
// config inherits the parent's. The children run collectives, then one is ended with
// ncclCommAbort and the other with ncclCommFinalize + ncclCommDestroy.
#include "checks.h"

#include <cstdint>

namespace dropin {
namespace {

// What ncclCommSplit must never leave in place: the split writes every newcomm.
ncclComm_t untouchedMarker() { return reinterpret_cast<ncclComm_t>(static_cast<uintptr_t>(0x5a5a5a5a)); }

// Checks a child communicator whose members, in child-rank order, are `members`
// (parent ranks), including that order itself through an all-gather.
void checkChild(const RankContext& parent, ncclComm_t child, const std::vector<int>& members, const char* which) {
  int childRank = -1;
  for (size_t i = 0; i < members.size(); ++i)
    if (members[i] == parent.rank) childRank = static_cast<int>(i);
  const RankContext ctx{childRank, static_cast<int>(members.size()), child};
  checkCommunicatorQueries(ctx, which);

  const TypeInfo& int32 = typeInfo(ncclInt32);
  GuardedBuffer mine(int32, 1), all(int32, members.size());
  store(int32, mine.data(), 0, fromInteger(int32, static_cast<uint64_t>(parent.rank)));
  const std::string what = describeCall("%s: ncclAllGather of parent ranks", which);
  requireSuccess(ncclAllGather(mine.data(), all.data(), 1, ncclInt32, child, nullptr), what.c_str(), child);
  checkElements(int32, all.data(), members.size(), what,
                [&](size_t i) { return fromInteger(int32, static_cast<uint64_t>(members[i])); });

  int64_t sum = 0;
  for (int member : members) sum += member + 1;
  checkSumAllReduce(ctx, parent.rank + 1, sum, describeCall("%s: ncclAllReduce", which).c_str());
}

}  // namespace

void checkSplit(const RankContext& ctx) {
  // By parity, keys reversed: the highest parent rank of each color becomes rank 0.
  ncclComm_t byParity = untouchedMarker();
  const int color = ctx.rank % 2;
  requireSuccess(ncclCommSplit(ctx.comm, color, ctx.nranks - ctx.rank, &byParity, nullptr),
                 "ncclCommSplit by parity", ctx.comm);
  countCheck();
  if (byParity == nullptr || byParity == untouchedMarker()) {
    reportFatal("ncclCommSplit by parity gave %s communicator", byParity ? "no (untouched)" : "a null");
  }
  std::vector<int> sameParity;
  for (int p = ctx.nranks - 1; p >= 0; --p)
    if (p % 2 == color) sameParity.push_back(p);
  checkChild(ctx, byParity, sameParity, "split by parity, keys reversed");
  // A rank's call returning says nothing of its peers' calls, and aborting tells them
  // to stop: only once every rank has entered the next call on the parent have all
  // finished with the child, so the parent's all-reduce is the barrier before abort.
  const int64_t n = ctx.nranks;
  checkSumAllReduce(ctx, ctx.rank + 1, n * (n + 1) / 2, "parent ncclAllReduce after the parity split");
  requireSuccess(ncclCommAbort(byParity), "ncclCommAbort of the parity child", nullptr);

  // Rank 0 opts out with NCCL_SPLIT_NOCOLOR; the others keep their order.
  ncclComm_t withoutRank0 = untouchedMarker();
  const int optionalColor = ctx.rank == 0 ? NCCL_SPLIT_NOCOLOR : 7;
  requireSuccess(ncclCommSplit(ctx.comm, optionalColor, ctx.rank, &withoutRank0, nullptr),
                 "ncclCommSplit with NCCL_SPLIT_NOCOLOR on rank 0", ctx.comm);
  countCheck();
  if (ctx.rank == 0) {
    if (withoutRank0 != nullptr)
      reportFailure("ncclCommSplit with NCCL_SPLIT_NOCOLOR gave %p, expected a null communicator",
                    static_cast<void*>(withoutRank0));
    return;
  }
  if (withoutRank0 == nullptr || withoutRank0 == untouchedMarker())
    reportFatal("ncclCommSplit with color 7 gave %s communicator", withoutRank0 ? "no (untouched)" : "a null");
  std::vector<int> others;
  for (int p = 1; p < ctx.nranks; ++p) others.push_back(p);
  checkChild(ctx, withoutRank0, others, "split without rank 0");
  requireSuccess(ncclCommFinalize(withoutRank0), "ncclCommFinalize of the child without rank 0", withoutRank0);
  requireSuccess(ncclCommDestroy(withoutRank0), "ncclCommDestroy of the child without rank 0", nullptr);
}

}  // namespace dropin
