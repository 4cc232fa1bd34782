// One rank of the drop-in test, run in a forked child: every group of checks in order
// on a communicator made with ncclCommInitRank, then the communicators made from
// configs. Returns the process's exit status: 0 when every check passed.
#include "rank.h"

#include "checks.h"

#include <cstdio>

namespace dropin {

int runRank(int rank, int nranks, const ncclUniqueId ids[kIdCount]) {
  setReportRank(rank);
  checkLibraryBasics();

  ncclComm_t comm = nullptr;
  requireSuccess(ncclCommInitRank(&comm, nranks, ids[kMainId], rank), "ncclCommInitRank", nullptr);
  const RankContext ctx{rank, nranks, comm};
  checkCommunicatorQueries(ctx, "ncclCommInitRank communicator");
  checkReductions(ctx);
  checkDataMovement(ctx);
  checkGroups(ctx);
  checkErrorPaths(ctx);
  checkSplit(ctx);
  requireSuccess(ncclCommFinalize(comm), "ncclCommFinalize", comm);
  requireSuccess(ncclCommDestroy(comm), "ncclCommDestroy", nullptr);

  checkConfigs(rank, nranks, ids);

  std::fprintf(stderr, "rank %d: %d checks, %d failed\n", rank, checkCount(), failureCount());
  return failureCount() == 0 ? 0 : 1;
}

}  // namespace dropin
