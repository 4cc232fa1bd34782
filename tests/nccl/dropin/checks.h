// The groups of checks one rank of the drop-in test runs, in the order rank.cpp calls
// them. Every rank calls every collective with the same arguments in the same order.
#pragma once

#include "check.h"

namespace dropin {

// Unique ids rank 0 makes and hands to the others, one per communicator made from an id.
enum IdSlot { kMainId, kNonBlockingId, kOldConfigId, kBadMagicId, kIdCount };

// No communicator needed: version, error strings.
void checkLibraryBasics();
// ncclCommCount, ncclCommUserRank, ncclCommGetAsyncError of a fresh communicator.
void checkCommunicatorQueries(const RankContext& ctx, const char* which);

// check_reductions.cpp: all-reduce, reduce-scatter and reduce (every root), every data
// type and op including a pre-multiplied sum, in and out of place.
void checkReductions(const RankContext& ctx);
// check_movement.cpp: all-gather, broadcast, bcast, all-to-all, gather, scatter.
void checkDataMovement(const RankContext& ctx);
// check_groups.cpp: send/recv rings in (nested) groups, a lone send/recv pair, and
// several collectives fused in one group.
void checkGroups(const RankContext& ctx);

// check_errors.cpp: bad data type, bad or destroyed op, null communicator, root out
// of range, ncclGroupEnd without ncclGroupStart; the communicator still works after.
void checkErrorPaths(const RankContext& ctx);
// check_split.cpp: ncclCommSplit by parity with reversed keys, NCCL_SPLIT_NOCOLOR,
// collectives on the children, ncclCommAbort and ncclCommFinalize + ncclCommDestroy.
void checkSplit(const RankContext& ctx);
// check_configs.cpp: non-blocking init, a config of an older NCCL (smaller size),
// a config with a bad magic.
void checkConfigs(int rank, int nranks, const ncclUniqueId ids[kIdCount]);

// An int64 sum all-reduce on `comm` where this rank gives `myValue`; the result must
// be `expectedSum`. On a non-blocking communicator (`nonBlocking`) the call may return
// ncclInProgress and is waited for through ncclCommGetAsyncError.
void checkSumAllReduce(const RankContext& ctx, int64_t myValue, int64_t expectedSum, const char* what,
                       bool nonBlocking = false);
// Polls ncclCommGetAsyncError until the communicator is no longer ncclInProgress (or a
// deadline passes) and returns its state.
ncclResult_t waitWhileInProgress(ncclComm_t comm, const char* what);

}  // namespace dropin
