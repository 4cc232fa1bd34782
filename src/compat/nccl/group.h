#pragma once
// NCCL's groups: per thread, nesting, spanning communicators. Between the outermost
// ncclGroupStart and ncclGroupEnd, collectives and sends/receives are queued per
// communicator, and communicator creations (init, split, shrink) are deferred. At the
// end the creations run concurrently, then each communicator's queue runs as one C++
// group; when the group holds several communicators (one thread driving several
// ranks), each runs on its own thread and all are joined.
#include <nccl.h>

#include "compat/nccl/comm.h"
#include "compat/nccl/errors.h"
#include "compat/nccl/task.h"

#include <functional>
#include <optional>

namespace braid::nccl {

bool inGroup();

// Inside a group, a failed call poisons the group: NCCL's ncclGroupEnd then returns
// that error and runs nothing.
void noteGroupFailure(ncclResult_t code);

template <class Body>
ncclResult_t guardedInGroup(const char* function, Body&& body) noexcept {
  ncclResult_t r = guarded(function, body);
  if (r != ncclSuccess && r != ncclInProgress) noteGroupFailure(r);
  return r;
}

// Runs a checked task now (outside a group) or queues it until the group ends.
ncclResult_t submit(CommRef comm, const Task& task);

// What a creation needs at the group's end: `prepare` runs then (on its own thread
// when several need their parents, so that one thread can split several ranks) and
// gives the recipe, or nothing when this rank gets no communicator (NCCL_SPLIT_NOCOLOR).
using Prepare = std::function<std::optional<Recipe>()>;

// Hands `handle` out through `out` and creates its communicator now, or at the
// group's end. Returns ncclSuccess, or ncclInProgress while a non-blocking one builds.
// A failure outside a group frees the handle and sets *out to NULL before it is
// thrown; inside a group the handle stays, holding the error. `handle` is null for a
// rank that only takes part in its parent's exchange (NCCL_SPLIT_NOCOLOR).
ncclResult_t createInto(ncclComm_t* out, ncclComm* handle, Prepare prepare);

ncclResult_t groupStart();
ncclResult_t groupEnd();

}  // namespace braid::nccl
