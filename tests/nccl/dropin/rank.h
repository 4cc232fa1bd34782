#pragma once

#include "checks.h"

namespace dropin {

// Runs every check as `rank` of `nranks`; `ids` come from rank 0's ncclGetUniqueId.
// Returns the exit status for the rank's process (0: all passed).
int runRank(int rank, int nranks, const ncclUniqueId ids[kIdCount]);

}  // namespace dropin
