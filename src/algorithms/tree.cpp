// Binary tree collectives: double binary tree all-reduce (half the data on each of two
// trees), binary tree broadcast and reduce. All are pipelined in slices, so a slice
// moves on as soon as the data it needs has arrived; latency grows with log(ranks)
// rather than with ranks, as it does on a ring or chain.
#include "algorithms/algorithms.h"
#include "algorithms/plan_builder.h"
#include "algorithms/slicing.h"

#include <algorithm>
#include <array>
#include <bit>

namespace braid {
namespace {

// ---- Tree shape -----------------------------------------------------------------
// Ranks sit at positions 1..n of an in-order binary tree: a position's level is its
// lowest set bit, the root is the largest power of two <= n, and the children of p are
// p -/+ half its level. Positions past n are absent; a missing node's place goes to
// its nearest present descendant (going down) or ancestor (going up). The tree is
// balanced for any n, its depth is floor(log2 n), and its leaves are exactly the odd
// positions.

int lowestBit(int position) { return position & -position; }

// The parent of `position`, or 0 at the root.
int parentPosition(int position, int n) {
  for (int level = lowestBit(position); (level << 1) <= n; level <<= 1) {
    position = (position ^ level) | (level << 1);  // the node one level up whose subtree holds us
    if (position <= n) return position;
  }
  return 0;
}

// The two children of `position`; 0 where absent. The right child may lie past n, and
// then its leftmost present descendant stands in for it.
std::array<int, 2> childPositions(int position, int n) {
  const int half = lowestBit(position) / 2;
  if (half == 0) return {0, 0};
  int right = position + half;
  while (right > n && lowestBit(right) > 1) right -= lowestBit(right) / 2;
  return {position - half, right <= n ? right : 0};
}

// Where the ranks sit in one tree: position(rank) = (sign * rank + offset) mod n + 1.
struct RankTree {
  int n, sign, offset;

  int positionOf(int rank) const { return mod(sign * rank + offset, n) + 1; }
  int rankAt(int position) const { return mod(sign * (position - 1 - offset), n); }
  int parent(int rank) const {
    int p = parentPosition(positionOf(rank), n);
    return p ? rankAt(p) : -1;
  }
  std::array<int, 2> children(int rank) const {
    std::array<int, 2> ranks{-1, -1};
    auto positions = childPositions(positionOf(rank), n);
    for (int i = 0; i < 2; ++i)
      if (positions[i]) ranks[i] = rankAt(positions[i]);
    return ranks;
  }
  int depth(int rank) const {
    int d = 0;
    for (int p = positionOf(rank); (p = parentPosition(p, n)) != 0;) ++d;
    return d;
  }
};

int treeHeight(int n) { return std::bit_width(static_cast<unsigned>(n)) - 1; }

// Why two trees: in one binary tree about half the ranks are interior and each of them
// receives from and sends to two children, while the leaves idle on half their links.
// The second tree makes every rank a leaf in at least one tree, so that the two trees
// together load every rank's links about evenly. Tree 1's interior ranks are the
// odd ones (even positions). For even n, tree 2 mirrors tree 1 (rank r at position
// n - r), which flips parity because n - 1 is odd; for odd n a mirror would keep parity,
// so tree 2 shifts by one instead (rank r at position r + 2, the last rank at position
// 1). Either way tree 2's interior ranks are even, so no rank is interior in both.
RankTree firstTree(int n) { return {n, 1, 0}; }
RankTree secondTree(int n) { return n % 2 == 0 ? RankTree{n, -1, n - 1} : RankTree{n, 1, 1}; }

// A tree whose root is `root`: tree 1 rotated so that `root` sits at the top position.
RankTree treeRootedAt(int root, int n) {
  return {n, 1, static_cast<int>(std::bit_floor(static_cast<unsigned>(n))) - 1 - root};
}

// ---- Plan pieces ----------------------------------------------------------------

// Slice k of the elements [begin, begin + count) on `buffer`; empty past the end.
Region sliceOf(BufferId buffer, std::size_t begin, std::size_t count, std::size_t k, std::size_t sliceElems) {
  std::size_t start = std::min(k * sliceElems, count);
  return Region{buffer, begin + start, std::min(sliceElems, count - start)};
}

std::size_t slicesIn(std::size_t count, std::size_t sliceElems) { return (count + sliceElems - 1) / sliceElems; }

bool hasChildren(const std::array<int, 2>& children) { return children[0] >= 0 || children[1] >= 0; }

// partial = own (op) each child's partial. The first message combines with `own` so
// that no copy is needed; later ones combine in place.
void reduceFromChildren(PlanBuilder& b, const std::array<int, 2>& children, Region own, Region partial) {
  Region src = own;
  for (int child : children) {
    if (child < 0) continue;
    b.recvReduce(child, src, partial);
    src = partial;
  }
}

void sendToChildren(PlanBuilder& b, const std::array<int, 2>& children, Region data) {
  for (int child : children)
    if (child >= 0) b.send(child, data);
}

// One rank's part in one tree of the all-reduce: its neighbours and its share of data.
struct TreeRole {
  int parent;
  std::array<int, 2> children;
  int depth;
  std::size_t begin, count;  // the elements this tree reduces
};

TreeRole roleIn(const RankTree& tree, int rank, std::size_t begin, std::size_t count) {
  return {tree.parent(rank), tree.children(rank), tree.depth(rank), begin, count};
}

// Emits what `role` does at pipeline clock `clock`. In an ideal pipeline, slice k
// leaves a rank at depth d upward at clock k + height - d and downward at clock
// k + height + d; each message is emitted at its sender's clock on both ends. Two ranks
// can be neighbours in both trees, and then one connection carries the reduce of one
// tree and the broadcast of the other in one FIFO: queuing messages in clock order
// keeps either tree from waiting behind slices of the other that are not ready yet.
void emitAtClock(PlanBuilder& b, const CollectiveShape& s, const TreeRole& role, int height, std::size_t clock) {
  const std::size_t slices = slicesIn(role.count, s.sliceElems);
  // The slice that leaves this rank `offset` clocks after slice 0, if any.
  auto sliceAt = [&](int offset, std::size_t& k) {
    if (offset < 0 || clock < static_cast<std::size_t>(offset)) return false;
    k = clock - static_cast<std::size_t>(offset);
    return k < slices;
  };
  auto input = [&](std::size_t k) { return sliceOf(kInput, role.begin, role.count, k, s.sliceElems); };
  auto output = [&](std::size_t k) { return sliceOf(kOutput, role.begin, role.count, k, s.sliceElems); };
  const bool interior = hasChildren(role.children);
  const int up = height - role.depth, down = height + role.depth;
  std::size_t k = 0;
  // The children's messages carry their clock: one before this rank's own.
  if (interior && sliceAt(up - 1, k)) reduceFromChildren(b, role.children, input(k), output(k));
  if (role.parent >= 0) {
    if (sliceAt(up, k)) b.send(role.parent, interior ? output(k) : input(k));
    if (sliceAt(down - 1, k)) b.recv(role.parent, output(k));
  }
  if (sliceAt(down, k)) sendToChildren(b, role.children, output(k));
}

}  // namespace

Plan treeAllReduce(const CollectiveShape& s) {
  PlanBuilder b;
  if (s.inPlace) b.alias(kInput, kOutput, 0);
  const int n = s.size, r = s.rank;
  if (n == 1) {
    b.copy({kInput, 0, s.count}, {kOutput, 0, s.count});
    return b.finish();
  }
  const std::size_t firstHalf = (s.count + 1) / 2;
  const TreeRole roles[2] = {roleIn(firstTree(n), r, 0, firstHalf),
                             roleIn(secondTree(n), r, firstHalf, s.count - firstHalf)};
  const int height = treeHeight(n);
  // The last slice leaves the deepest ranks downward 2 * height clocks after it started.
  const std::size_t clocks = slicesIn(firstHalf, s.sliceElems) + 2 * static_cast<std::size_t>(height);
  for (std::size_t clock = 0; clock < clocks; ++clock)
    for (const TreeRole& role : roles) emitAtClock(b, s, role, height, clock);
  return b.finish();
}

// A single tree carries every slice in order, so no two kinds of message share a
// connection and slice order is all the ordering the plan needs.
Plan treeBroadcast(const CollectiveShape& s) {
  PlanBuilder b;
  if (s.inPlace) b.alias(kInput, kOutput, 0);
  const RankTree tree = treeRootedAt(s.root, s.size);
  const int parent = tree.parent(s.rank);
  const auto children = tree.children(s.rank);
  for (std::size_t k = 0; k < slicesIn(s.count, s.sliceElems); ++k) {
    Region in = sliceOf(kInput, 0, s.count, k, s.sliceElems), out = sliceOf(kOutput, 0, s.count, k, s.sliceElems);
    if (parent < 0) {
      sendToChildren(b, children, in);
      b.copy(in, out);
    } else {
      b.recv(parent, out);
      sendToChildren(b, children, out);
    }
  }
  return b.finish();
}

Plan treeReduce(const CollectiveShape& s) {
  PlanBuilder b;
  if (s.inPlace) b.alias(kInput, kOutput, 0);
  if (s.size == 1) {
    b.copy({kInput, 0, s.count}, {kOutput, 0, s.count});
    return b.finish();
  }
  const RankTree tree = treeRootedAt(s.root, s.size);
  const int parent = tree.parent(s.rank);
  const auto children = tree.children(s.rank);
  // Non-roots have no output buffer: interior ones gather partial sums in scratch.
  const BufferId partials = parent < 0 ? kOutput : kScratch;
  if (parent >= 0 && hasChildren(children)) b.needScratch(s.count);
  for (std::size_t k = 0; k < slicesIn(s.count, s.sliceElems); ++k) {
    Region in = sliceOf(kInput, 0, s.count, k, s.sliceElems), partial = sliceOf(partials, 0, s.count, k, s.sliceElems);
    if (!hasChildren(children)) {
      b.send(parent, in);
      continue;
    }
    reduceFromChildren(b, children, in, partial);
    if (parent >= 0) b.send(parent, partial);
  }
  return b.finish();
}

}  // namespace braid
