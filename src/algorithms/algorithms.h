#pragma once
// The algorithms, each a function from a shape to a Plan. Ring collectives pipeline
// each block in slices, so a slice moves on as soon as it has arrived.
#include "algorithms/collective.h"
#include "algorithms/plan.h"

#include <cstddef>
#include <vector>

namespace braid {

Plan ringAllReduce(const CollectiveShape& s);
Plan ringAllGather(const CollectiveShape& s);
Plan ringReduceScatter(const CollectiveShape& s);
Plan chainBroadcast(const CollectiveShape& s);
Plan chainReduce(const CollectiveShape& s);
Plan directAllToAll(const CollectiveShape& s);

// The plan for a shape with the default algorithm of its collective.
Plan buildPlan(const CollectiveShape& s);

// Grouped point-to-point: each operation has its own buffer (id 3 + index) and counts
// in bytes. Sends and receives to oneself are matched in order and become copies.
struct P2POp {
  bool isSend;
  int peer;
  std::size_t bytes;
};
Plan groupedPointToPoint(int rank, const std::vector<P2POp>& ops);

// Element range of block `i` when `count` elements are split into `parts` blocks as
// evenly as possible (the first `count % parts` blocks get one more).
std::size_t blockBegin(std::size_t count, int parts, int i);

}  // namespace braid
