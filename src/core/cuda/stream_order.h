#pragma once
// The stream's side of one staged call: copy the inputs in, tell the worker, wait for
// the ticket, copy the results back, mark the slot done.
#include "core/cuda/device_side.h"
#include "core/cuda/stream_sharing.h"
#include "core/cuda/staging_pool.h"
#include "core/cuda/ticket_flag.h"

#include <memory>
#include <vector>

namespace braid {

// How `stream` (of the current context) is ordered with the legacy default stream. A
// null stream is the legacy one, as everywhere in the API. Throws SystemError, naming
// the rank and the call, when CUDA cannot say.
StreamOrdering orderingOf(const cuda::Driver& driver, CUstream stream, int rank, const char* call);

// The caller's thread, with the stream's context current; `regions` are laid out in
// `slot`. With `pieces`, every piece's inputs are copied in (each followed by a host
// function that tells the worker) before the first wait, and each piece has a ticket of
// its own, after whose wait its results are copied back: while the worker runs piece k,
// the stream copies the inputs of the pieces after it and the results of those before.
// Returns the worker's half. If anything fails, the tickets are released (the stream
// does not wait forever) and the slot stays busy until the stream is past what was
// enqueued (poisoned, never reused nor freed, if even that cannot be marked).
std::unique_ptr<StagedBatch> enqueueStaged(const cuda::Driver& driver, CUstream stream, StagingSlot& slot,
                                           TicketFlag& flag, CUdeviceptr flagOnDevice,
                                           const std::vector<StagedRegion>& regions,
                                           const std::vector<StagedPiece>& pieces, int rank, const char* call);

}  // namespace braid
