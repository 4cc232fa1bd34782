#pragma once
// Ring patterns over a group of ranks, emitted into a caller's PlanBuilder, so that the
// flat ring collectives and the phases of hierarchical ones share one implementation.
//
// A ring of n positions moves n pieces. A piece is one or more regions: the ranks that a
// hierarchical phase serves need not be contiguous (round-robin node membership), so
// neither are their blocks. Every rank must describe each piece with the same region
// sizes, because both ends of a message derive its size from them. Each region is cut
// into slices that move on as soon as they have arrived.
#include "algorithms/plan_builder.h"

#include <cstddef>
#include <functional>
#include <vector>

namespace braid {

// The ranks of a ring in ring order, and where this rank stands in it.
struct RingGroup {
  std::vector<int> ranks;
  int position = 0;

  static RingGroup everyRank(int size, int rank);
  int size() const { return static_cast<int>(ranks.size()); }
  int next() const;
  int prev() const;
};

using Piece = std::vector<Region>;

std::size_t elementsIn(const Piece& piece);
// A piece with the region sizes of `shape`, packed back to back on `buffer` from `offset`.
Piece packedLike(const Piece& shape, BufferId buffer, std::size_t offset);

// Where a reduce-scatter keeps the partial sum of `piece` received at ring step `step`
// until it is passed on; it must have the piece's region sizes.
using PartialPlace = std::function<Piece(int step, int piece)>;

// Partial sums rotating through a few scratch slots from `offset`; a slot is rewritten
// only after the send that read it is done (inferred dependencies), so a handful
// suffice. Declares the scratch it uses.
PartialPlace scratchSlots(PlanBuilder& b, const RingGroup& g, const std::vector<Piece>& pieces, std::size_t offset);

// Position p ends with piece p reduced over the group in `result`; input[i] is this
// rank's contribution to piece i.
void emitRingReduceScatter(PlanBuilder& b, const RingGroup& g, const std::vector<Piece>& input,
                           const PartialPlace& partial, const Piece& result, std::size_t sliceElems);

// Position p holds piece p in `own`; every position ends with all of them in `pieces`.
void emitRingAllGather(PlanBuilder& b, const RingGroup& g, const std::vector<Piece>& pieces, const Piece& own,
                       std::size_t sliceElems);

// All-reduce of `input` into `output` (the same count; they may coincide): a
// reduce-scatter of group-size blocks accumulating in `output`, then an all-gather.
void emitRingAllReduce(PlanBuilder& b, const RingGroup& g, Region input, Region output, std::size_t sliceElems);

}  // namespace braid
