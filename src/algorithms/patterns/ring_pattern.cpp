#include "algorithms/patterns/ring_pattern.h"

#include "algorithms/algorithms.h"
#include "algorithms/slicing.h"

#include <algorithm>

namespace braid {
namespace {

// Slice k of a region; empty when the region has fewer slices.
Region slice(const Region& r, std::size_t k, std::size_t sliceElems) {
  std::size_t start = k * sliceElems;
  if (start >= r.count) return Region{r.buffer, r.offset, 0};
  return Region{r.buffer, r.offset + start, std::min(sliceElems, r.count - start)};
}

// Slices in the largest region: every piece steps through the same slice indices, so
// that the sends of one ring step interleave with the receives of the previous one.
std::size_t slicesIn(const std::vector<Piece>& pieces, std::size_t sliceElems) {
  std::size_t most = 0;
  for (const Piece& piece : pieces)
    for (const Region& r : piece) most = std::max(most, r.count);
  return (most + sliceElems - 1) / sliceElems;
}

}  // namespace

RingGroup RingGroup::everyRank(int size, int rank) {
  RingGroup g{std::vector<int>(static_cast<std::size_t>(size)), rank};
  for (int i = 0; i < size; ++i) g.ranks[static_cast<std::size_t>(i)] = i;
  return g;
}

int RingGroup::next() const { return ranks[static_cast<std::size_t>(mod(position + 1, size()))]; }

int RingGroup::prev() const { return ranks[static_cast<std::size_t>(mod(position - 1, size()))]; }

std::size_t elementsIn(const Piece& piece) {
  std::size_t n = 0;
  for (const Region& r : piece) n += r.count;
  return n;
}

Piece packedLike(const Piece& shape, BufferId buffer, std::size_t offset) {
  Piece packed;
  for (const Region& r : shape) {
    packed.push_back(Region{buffer, offset, r.count});
    offset += r.count;
  }
  return packed;
}

PartialPlace scratchSlots(PlanBuilder& b, const RingGroup& g, const std::vector<Piece>& pieces, std::size_t offset) {
  const int slots = std::min(g.size() - 1, 4);
  std::size_t slotElems = 0;
  for (const Piece& piece : pieces) slotElems = std::max(slotElems, elementsIn(piece));
  b.needScratch(offset + slotElems * static_cast<std::size_t>(slots));
  return [pieces, offset, slots, slotElems](int step, int piece) {
    return packedLike(pieces[static_cast<std::size_t>(piece)], kScratch,
                      offset + slotElems * static_cast<std::size_t>(step % slots));
  };
}

void emitRingReduceScatter(PlanBuilder& b, const RingGroup& g, const std::vector<Piece>& input,
                           const PartialPlace& partial, const Piece& result, std::size_t sliceElems) {
  const int n = g.size(), p = g.position;
  if (n == 1) {
    for (std::size_t m = 0; m < result.size(); ++m) b.copy(input[0][m], result[m]);
    return;
  }
  const std::size_t slices = slicesIn(input, sliceElems);
  // Step t passes on piece p-t-1 and adds this rank's share to piece p-t-2, so that
  // the last step lands on piece p.
  for (int step = 0; step < n - 1; ++step) {
    const int sendPiece = mod(p - step - 1, n), recvPiece = mod(p - step - 2, n);
    const Piece from = step == 0 ? input[static_cast<std::size_t>(sendPiece)] : partial(step - 1, sendPiece);
    const Piece& mine = input[static_cast<std::size_t>(recvPiece)];
    const Piece into = step == n - 2 ? result : partial(step, recvPiece);
    for (std::size_t k = 0; k < slices; ++k) {
      for (const Region& r : from) b.send(g.next(), slice(r, k, sliceElems));
      for (std::size_t m = 0; m < mine.size(); ++m)
        b.recvReduce(g.prev(), slice(mine[m], k, sliceElems), slice(into[m], k, sliceElems));
    }
  }
}

void emitRingAllGather(PlanBuilder& b, const RingGroup& g, const std::vector<Piece>& pieces, const Piece& own,
                       std::size_t sliceElems) {
  const int n = g.size(), p = g.position;
  const Piece& ownPlace = pieces[static_cast<std::size_t>(p)];
  for (std::size_t m = 0; m < own.size(); ++m) b.copy(own[m], ownPlace[m]);
  const std::size_t slices = slicesIn(pieces, sliceElems);
  for (int step = 0; step < n - 1; ++step) {
    // The first send reads `own` directly, not waiting for the local copy.
    const Piece& from = step == 0 ? own : pieces[static_cast<std::size_t>(mod(p - step, n))];
    const Piece& into = pieces[static_cast<std::size_t>(mod(p - step - 1, n))];
    for (std::size_t k = 0; k < slices; ++k) {
      for (const Region& r : from) b.send(g.next(), slice(r, k, sliceElems));
      for (const Region& r : into) b.recv(g.prev(), slice(r, k, sliceElems));
    }
  }
}

void emitRingAllReduce(PlanBuilder& b, const RingGroup& g, Region input, Region output, std::size_t sliceElems) {
  const int n = g.size();
  // Piece i is block i+1, so that each rank starts by passing on the block of its own
  // position and ends the reduce-scatter holding the next one.
  std::vector<Piece> in(static_cast<std::size_t>(n)), out(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int block = mod(i + 1, n);
    const std::size_t at = blockBegin(input.count, n, block), len = blockBegin(input.count, n, block + 1) - at;
    in[static_cast<std::size_t>(i)] = {Region{input.buffer, input.offset + at, len}};
    out[static_cast<std::size_t>(i)] = {Region{output.buffer, output.offset + at, len}};
  }
  const Piece& reduced = out[static_cast<std::size_t>(g.position)];
  emitRingReduceScatter(b, g, in, [&out](int, int piece) { return out[static_cast<std::size_t>(piece)]; }, reduced,
                        sliceElems);
  emitRingAllGather(b, g, out, reduced, sliceElems);
}

}  // namespace braid
