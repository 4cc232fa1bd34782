#pragma once
// Where a staged call's buffers sit in one pinned host slot. A call on device memory
// runs the host collective on copies: the stream copies each input region into the
// slot before the worker starts and each output region back after it ends.
//
// In-place layouts stay in place: a send buffer inside the receive buffer (all-gather:
// send == recv + rank*count) or a receive buffer inside the send buffer (reduce-scatter)
// is a view into the outer region's copy, so the executor sees the same pointer
// relation as on the host and runs the same plan. Send/recv buffers never share a
// copy: a group that sends from and receives into one buffer sends what was there
// before the group.
//
// Pure logic (no CUDA), tested on the host.
#include "algorithms/collective.h"

#include <cstddef>
#include <utility>
#include <vector>

namespace braid {

struct StagedRegion {
  const void* user = nullptr;  // the caller's buffer (device, managed or pinned memory)
  std::size_t bytes = 0;
  bool copyIn = false;   // the stream copies it into the slot before the call
  bool copyOut = false;  // the stream copies it back after the call
  int within = -1;       // index of the region whose copy holds this one, or -1
  std::size_t offset = 0;  // in `within`'s copy; after layOut(), in the slot
  bool whole = false;    // a send or receive of a group: never cut into pieces
};

// Alignment of each region's copy in the slot (copy engines like whole lines).
inline constexpr std::size_t kStagingAlign = 256;

// The regions one collective reads and writes on this rank; returns the indices of its
// send and recv regions (-1 where the pointer is null). Broadcast reads send on the
// root only; reduce writes recv on the root only: the others get a copy that is
// neither filled nor copied back, so the plan still has valid pointers.
std::pair<int, int> addCollectiveRegions(std::vector<StagedRegion>& regions, Collective collective,
                                         const void* send, const void* recv, std::size_t count,
                                         std::size_t elemSize, int rank, int size, int root);
// One send (copied in) or receive (copied out) of a group; returns its index.
int addPointToPointRegion(std::vector<StagedRegion>& regions, bool isSend, const void* buffer, std::size_t bytes);

// A large staged collective is cut into pieces, so that the stream copies one piece in
// or out while the worker runs the collective on another: the copies overlap the wire
// instead of adding to it. Only an elementwise collective (all-reduce, broadcast,
// reduce) is cut, and only when it is the one collective of its call or group (a
// group's sends and receives are staged whole): each piece is the same collective on
// one range of elements of its buffers. The cut depends on the collective, count and
// element size alone, so ranks that all stage the call cut it alike; a rank that runs
// it on host memory does not cut it, and the call check (BRAID_CHECK) refuses the mix.
struct StagedPiece {
  std::size_t firstByte = 0;  // the same range of every region of the call
  std::size_t bytes = 0;
  bool operator==(const StagedPiece&) const = default;
};
inline constexpr std::size_t kStagingPieceBytes = std::size_t{8} << 20;
inline constexpr std::size_t kMaxStagingPieces = 64;  // bounds the stream operations per call
// The pieces of a call, each a multiple of kStagingAlign bytes but the last; empty when
// the call stays whole (not elementwise, or less than two pieces' worth).
std::vector<StagedPiece> stagingPieces(Collective collective, std::size_t count, std::size_t elemSize);

// Gives every region that owns its copy an aligned offset in one slot; returns the
// slot's size in bytes.
std::size_t layOut(std::vector<StagedRegion>& regions);
// Where region `index` is staged once the slot is at `base` (after layOut()).
unsigned char* stagedAddress(const std::vector<StagedRegion>& regions, int index, unsigned char* base);

}  // namespace braid
