// Ring all-reduce, all-gather and reduce-scatter over the whole communicator: the ring
// patterns (patterns/ring_pattern.h) with one block per rank.
#include "algorithms/algorithms.h"
#include "algorithms/patterns/ring_pattern.h"
#include "algorithms/plan_builder.h"

#include <algorithm>

namespace braid {
namespace {

// Block i of `blocks` blocks of `count` elements each on `buffer`, one region per piece.
std::vector<Piece> equalBlocks(BufferId buffer, std::size_t count, int blocks) {
  std::vector<Piece> pieces;
  for (int i = 0; i < blocks; ++i) pieces.push_back({Region{buffer, count * static_cast<std::size_t>(i), count}});
  return pieces;
}

}  // namespace

std::size_t blockBegin(std::size_t count, int parts, int i) {
  auto p = static_cast<std::size_t>(parts), idx = static_cast<std::size_t>(i);
  std::size_t base = count / p, extra = count % p;
  return idx * base + std::min(idx, extra);
}

Plan ringAllReduce(const CollectiveShape& s) {
  PlanBuilder b;
  if (s.inPlace) b.alias(kInput, kOutput, 0);
  emitRingAllReduce(b, RingGroup::everyRank(s.size, s.rank), {kInput, 0, s.count}, {kOutput, 0, s.count},
                    s.sliceElems);
  return b.finish();
}

Plan ringAllGather(const CollectiveShape& s) {
  PlanBuilder b;
  if (s.inPlace) b.alias(kInput, kOutput, s.count * static_cast<std::size_t>(s.rank));
  emitRingAllGather(b, RingGroup::everyRank(s.size, s.rank), equalBlocks(kOutput, s.count, s.size),
                    {Region{kInput, 0, s.count}}, s.sliceElems);
  return b.finish();
}

Plan ringReduceScatter(const CollectiveShape& s) {
  PlanBuilder b;
  if (s.inPlace) b.alias(kOutput, kInput, s.count * static_cast<std::size_t>(s.rank));
  const RingGroup ring = RingGroup::everyRank(s.size, s.rank);
  const std::vector<Piece> input = equalBlocks(kInput, s.count, s.size);
  emitRingReduceScatter(b, ring, input, scratchSlots(b, ring, input, 0), {Region{kOutput, 0, s.count}}, s.sliceElems);
  return b.finish();
}

}  // namespace braid
