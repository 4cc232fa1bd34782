#pragma once
// The algorithms, each a function from a shape to a Plan. Ring collectives pipeline
// each block in slices, so a slice moves on as soon as it has arrived.
#include "algorithms/algorithm.h"
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

// Double binary tree all-reduce (half the data on each tree), binary tree broadcast
// and reduce; all pipelined in slices.
Plan treeAllReduce(const CollectiveShape& s);
Plan treeBroadcast(const CollectiveShape& s);
Plan treeReduce(const CollectiveShape& s);

// Rabenseifner: recursive halving reduce-scatter then recursive doubling all-gather;
// ranks beyond the largest power of two fold into a partner first.
Plan halvingDoublingAllReduce(const CollectiveShape& s);
Plan halvingDoublingReduceScatter(const CollectiveShape& s);
Plan recursiveDoublingAllGather(const CollectiveShape& s);
Plan bruckAllGather(const CollectiveShape& s);

// Intra-node, across nodes, intra-node again; needs s.nodes.
Plan hierarchicalAllReduce(const CollectiveShape& s);
Plan hierarchicalAllGather(const CollectiveShape& s);
Plan hierarchicalReduceScatter(const CollectiveShape& s);

// The plan for a shape with its algorithm (s.algorithm). Throws std::invalid_argument
// when the algorithm does not support the collective (see supports()).
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
