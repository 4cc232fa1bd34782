// Hierarchical all-reduce, all-gather and reduce-scatter: rings inside each node and
// rings across nodes. What crosses between nodes travels in parallel rings, one per
// local index, each carrying 1/L of it over its own rank's links; and a placement of
// ranks that interleaves nodes no longer makes every hop of the ring cross the network.
//
// This needs every node to hold the same number L of ranks, so that local rank p of
// each node can pair up with local rank p of the others. When nodes differ in size,
// each node's first rank (its leader) speaks for the node instead.
#include "algorithms/algorithms.h"
#include "algorithms/patterns/ring_pattern.h"
#include "algorithms/plan_builder.h"
#include "algorithms/slicing.h"

#include <algorithm>
#include <stdexcept>

namespace braid {
namespace {

// Where this rank stands in the node layout.
struct Place {
  const NodeLayout& layout;
  int rank, node, local;

  const std::vector<int>& nodeRanks() const { return layout.ranksOfNode[static_cast<std::size_t>(node)]; }
  int localSize() const { return static_cast<int>(nodeRanks().size()); }
  // The ranks with local index `index`, one per node in node order (uniform layouts).
  std::vector<int> sameIndexRanks(int index) const {
    std::vector<int> ranks;
    for (const auto& members : layout.ranksOfNode) ranks.push_back(members[static_cast<std::size_t>(index)]);
    return ranks;
  }
  RingGroup nodeRing() const { return {nodeRanks(), local}; }
  RingGroup sameIndexRing() const { return {sameIndexRanks(local), node}; }
  RingGroup leaderRing() const { return {sameIndexRanks(0), node}; }
};

Place placeOf(const CollectiveShape& s) {
  if (!s.nodes || s.nodes->nodeOfRank.size() != static_cast<std::size_t>(s.size))
    throw std::invalid_argument("hierarchical plan: the node layout does not cover every rank");
  const NodeLayout& layout = *s.nodes;
  const auto r = static_cast<std::size_t>(s.rank);
  return Place{layout, s.rank, layout.nodeOfRank[r], layout.localIndex[r]};
}

// The blocks of `ranks` on `buffer`, in that order, merged where they are adjacent. It
// depends on the layout only, so every rank describes a piece with the same regions.
Piece blocksOf(const std::vector<int>& ranks, BufferId buffer, std::size_t count) {
  Piece piece;
  for (int r : ranks) {
    const std::size_t at = count * static_cast<std::size_t>(r);
    if (!piece.empty() && piece.back().offset + piece.back().count == at) piece.back().count += count;
    else piece.push_back(Region{buffer, at, count});
  }
  return piece;
}

Region part(const Region& r, std::size_t at, std::size_t len) { return Region{r.buffer, r.offset + at, len}; }

// Reduces `input` of every rank of `chain` into `accum` of chain[0], partial sums
// flowing from the last rank towards the first, slice by slice; the ranks between
// accumulate in their `accum` too.
void emitChainReduce(PlanBuilder& b, const std::vector<int>& chain, int pos, Region input, Region accum,
                     std::size_t sliceElems) {
  const int n = static_cast<int>(chain.size());
  if (n == 1) {
    b.copy(input, accum);
    return;
  }
  const auto at = [&](int p) { return chain[static_cast<std::size_t>(p)]; };
  forSlices(input.count, sliceElems, [&](std::size_t start, std::size_t len) {
    if (pos == n - 1) {
      b.send(at(pos - 1), part(input, start, len));
      return;
    }
    b.recvReduce(at(pos + 1), part(input, start, len), part(accum, start, len));
    if (pos > 0) b.send(at(pos - 1), part(accum, start, len));
  });
}

// Sends `data` of chain[0] down the chain, slice by slice, into `data` of the others.
void emitChainBroadcast(PlanBuilder& b, const std::vector<int>& chain, int pos, Region data, std::size_t sliceElems) {
  const int n = static_cast<int>(chain.size());
  forSlices(data.count, sliceElems, [&](std::size_t start, std::size_t len) {
    if (pos > 0) b.recv(chain[static_cast<std::size_t>(pos - 1)], part(data, start, len));
    if (pos < n - 1) b.send(chain[static_cast<std::size_t>(pos + 1)], part(data, start, len));
  });
}

Plan leaderAllReduce(const CollectiveShape& s, const Place& at) {
  PlanBuilder b;
  if (s.inPlace) b.alias(kInput, kOutput, 0);
  const Region input{kInput, 0, s.count}, output{kOutput, 0, s.count};
  emitChainReduce(b, at.nodeRanks(), at.local, input, output, s.sliceElems);
  if (at.local == 0) emitRingAllReduce(b, at.leaderRing(), output, output, s.sliceElems);
  emitChainBroadcast(b, at.nodeRanks(), at.local, output, s.sliceElems);
  return b.finish();
}

Plan leaderAllGather(const CollectiveShape& s, const Place& at) {
  PlanBuilder b;
  if (s.inPlace) b.alias(kInput, kOutput, s.count * static_cast<std::size_t>(s.rank));
  const Region own{kInput, 0, s.count};
  const auto blockOf = [&](int r) { return Region{kOutput, s.count * static_cast<std::size_t>(r), s.count}; };
  const int leader = at.nodeRanks().front();
  if (at.local != 0) {
    b.send(leader, own);
  } else {
    b.copy(own, blockOf(s.rank));
    for (int member : at.nodeRanks())
      if (member != leader) b.recv(member, blockOf(member));
    std::vector<Piece> nodeBlocks;
    for (const auto& members : at.layout.ranksOfNode) nodeBlocks.push_back(blocksOf(members, kOutput, s.count));
    const Piece& mine = nodeBlocks[static_cast<std::size_t>(at.node)];
    emitRingAllGather(b, at.leaderRing(), nodeBlocks, mine, s.sliceElems);
  }
  emitChainBroadcast(b, at.nodeRanks(), at.local, {kOutput, 0, s.count * static_cast<std::size_t>(s.size)},
                     s.sliceElems);
  return b.finish();
}

Plan leaderReduceScatter(const CollectiveShape& s, const Place& at) {
  PlanBuilder b;
  if (s.inPlace) b.alias(kOutput, kInput, s.count * static_cast<std::size_t>(s.rank));
  const std::size_t total = s.count * static_cast<std::size_t>(s.size);
  // The output holds one block, so the node's partial sums of the whole input live in
  // scratch, on every rank of the chain but its tail.
  if (at.local == 0 || at.local + 1 < at.localSize()) b.needScratch(total);
  emitChainReduce(b, at.nodeRanks(), at.local, {kInput, 0, total}, {kScratch, 0, total}, s.sliceElems);
  const int leader = at.nodeRanks().front();
  if (at.local != 0) {
    b.recv(leader, {kOutput, 0, s.count});
    return b.finish();
  }
  std::vector<Piece> nodeBlocks;
  for (const auto& members : at.layout.ranksOfNode) nodeBlocks.push_back(blocksOf(members, kScratch, s.count));
  const RingGroup leaders = at.leaderRing();
  const Piece& mine = nodeBlocks[static_cast<std::size_t>(at.node)];
  emitRingReduceScatter(b, leaders, nodeBlocks, scratchSlots(b, leaders, nodeBlocks, total), mine, s.sliceElems);
  for (int member : at.nodeRanks()) {
    const Region reduced{kScratch, s.count * static_cast<std::size_t>(member), s.count};
    if (member == s.rank) b.copy(reduced, {kOutput, 0, s.count});
    else b.send(member, reduced);
  }
  return b.finish();
}

}  // namespace

Plan hierarchicalAllReduce(const CollectiveShape& s) {
  const Place at = placeOf(s);
  if (!at.layout.uniform()) return leaderAllReduce(s, at);
  PlanBuilder b;
  if (s.inPlace) b.alias(kInput, kOutput, 0);
  // Local rank p reduces block p over its node, in the output, then over the nodes.
  const int localSize = at.localSize();
  std::vector<Piece> input, output;
  for (int p = 0; p < localSize; ++p) {
    const std::size_t begin = blockBegin(s.count, localSize, p), len = blockBegin(s.count, localSize, p + 1) - begin;
    input.push_back({Region{kInput, begin, len}});
    output.push_back({Region{kOutput, begin, len}});
  }
  const Piece& mine = output[static_cast<std::size_t>(at.local)];
  const RingGroup node = at.nodeRing();
  emitRingReduceScatter(b, node, input, [&output](int, int piece) { return output[static_cast<std::size_t>(piece)]; },
                        mine, s.sliceElems);
  emitRingAllReduce(b, at.sameIndexRing(), mine.front(), mine.front(), s.sliceElems);
  emitRingAllGather(b, node, output, mine, s.sliceElems);
  return b.finish();
}

Plan hierarchicalAllGather(const CollectiveShape& s) {
  const Place at = placeOf(s);
  if (!at.layout.uniform()) return leaderAllGather(s, at);
  PlanBuilder b;
  if (s.inPlace) b.alias(kInput, kOutput, s.count * static_cast<std::size_t>(s.rank));
  // Across nodes first, so that each block enters every other node once, carried by
  // the ranks of its local index; then each node shares what its ranks gathered.
  std::vector<Piece> acrossNodes;
  for (int r : at.sameIndexRanks(at.local)) acrossNodes.push_back(blocksOf({r}, kOutput, s.count));
  emitRingAllGather(b, at.sameIndexRing(), acrossNodes, {Region{kInput, 0, s.count}}, s.sliceElems);
  std::vector<Piece> byLocalIndex;
  for (int p = 0; p < at.localSize(); ++p) byLocalIndex.push_back(blocksOf(at.sameIndexRanks(p), kOutput, s.count));
  emitRingAllGather(b, at.nodeRing(), byLocalIndex, byLocalIndex[static_cast<std::size_t>(at.local)], s.sliceElems);
  return b.finish();
}

Plan hierarchicalReduceScatter(const CollectiveShape& s) {
  const Place at = placeOf(s);
  if (!at.layout.uniform()) return leaderReduceScatter(s, at);
  PlanBuilder b;
  if (s.inPlace) b.alias(kOutput, kInput, s.count * static_cast<std::size_t>(s.rank));
  const int nodes = at.layout.nodes(), localSize = at.localSize();
  const Region output{kOutput, 0, s.count};
  // Inside the node first: local rank p sums, over its node, the blocks of every rank
  // with local index p (in node order, packed in scratch); across nodes, each rank of
  // that ring then keeps its own block. With one rank per node the first phase is the
  // input itself; with one node the second is the output itself.
  std::vector<Piece> acrossNodes;
  const RingGroup sameIndex = at.sameIndexRing();
  const std::size_t gathered = s.count * static_cast<std::size_t>(nodes);
  // Partial sums of both phases rotate through slots after the node sums: the inferred
  // dependencies order the reuse between phases.
  const std::size_t slotsAt = localSize > 1 && nodes > 1 ? gathered : 0;
  if (localSize == 1) {
    for (int r : sameIndex.ranks) acrossNodes.push_back(blocksOf({r}, kInput, s.count));
  } else {
    std::vector<Piece> byLocalIndex;
    for (int p = 0; p < localSize; ++p) byLocalIndex.push_back(blocksOf(at.sameIndexRanks(p), kInput, s.count));
    const Region nodeSums = nodes == 1 ? output : Region{kScratch, 0, gathered};
    b.needScratch(slotsAt);
    const Piece& mine = byLocalIndex[static_cast<std::size_t>(at.local)];
    const RingGroup node = at.nodeRing();
    emitRingReduceScatter(b, node, byLocalIndex, scratchSlots(b, node, byLocalIndex, slotsAt),
                          packedLike(mine, nodeSums.buffer, nodeSums.offset), s.sliceElems);
    for (int i = 0; i < nodes; ++i)
      acrossNodes.push_back({part(nodeSums, s.count * static_cast<std::size_t>(i), s.count)});
  }
  emitRingReduceScatter(b, sameIndex, acrossNodes, scratchSlots(b, sameIndex, acrossNodes, slotsAt), {output},
                        s.sliceElems);
  return b.finish();
}

}  // namespace braid
