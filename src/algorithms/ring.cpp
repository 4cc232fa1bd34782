// Ring all-reduce, all-gather and reduce-scatter. Each of the size blocks is cut into
// slices; steps are emitted slice by slice so that the executor can forward a slice
// as soon as it has arrived, overlapping the steps of the ring.
#include "algorithms/algorithms.h"
#include "algorithms/plan_builder.h"

#include <algorithm>

namespace braid {
namespace {

int mod(int a, int n) { return ((a % n) + n) % n; }

struct Blocks {
  // Block b covers [begin(b), begin(b+1)).
  std::size_t count;
  int parts;
  std::size_t fixed = 0;  // when non-zero, every block has this many elements
  std::size_t begin(int b) const { return fixed ? fixed * static_cast<std::size_t>(b) : blockBegin(count, parts, b); }
  std::size_t size(int b) const { return begin(b + 1) - begin(b); }
};

// Slice k of block b on buffer `buf`; empty when the block has fewer slices.
Region slice(BufferId buf, const Blocks& blocks, int b, std::size_t k, std::size_t sliceElems) {
  std::size_t start = k * sliceElems, n = blocks.size(b);
  if (start >= n) return Region{buf, blocks.begin(b), 0};
  return Region{buf, blocks.begin(b) + start, std::min(sliceElems, n - start)};
}

std::size_t slicesIn(const Blocks& blocks, std::size_t sliceElems) {
  std::size_t most = 0;
  for (int b = 0; b < blocks.parts; ++b) most = std::max(most, blocks.size(b));
  return (most + sliceElems - 1) / sliceElems;
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
  const int n = s.size, r = s.rank, next = mod(r + 1, n), prev = mod(r - 1, n);
  if (n == 1) {
    b.copy({kInput, 0, s.count}, {kOutput, 0, s.count});
    return b.finish();
  }
  Blocks blocks{s.count, n};
  const std::size_t slices = slicesIn(blocks, s.sliceElems);
  // Reduce-scatter phase: after step n-2, block r+1 holds the full reduction.
  for (int step = 0; step < n - 1; ++step) {
    int sendBlock = mod(r - step, n), recvBlock = mod(r - step - 1, n);
    for (std::size_t k = 0; k < slices; ++k) {
      b.send(next, slice(step == 0 ? kInput : kOutput, blocks, sendBlock, k, s.sliceElems));
      b.recvReduce(prev, slice(kInput, blocks, recvBlock, k, s.sliceElems),
                   slice(kOutput, blocks, recvBlock, k, s.sliceElems));
    }
  }
  // All-gather phase: pass the reduced blocks around.
  for (int step = 0; step < n - 1; ++step) {
    int sendBlock = mod(r + 1 - step, n), recvBlock = mod(r - step, n);
    for (std::size_t k = 0; k < slices; ++k) {
      b.send(next, slice(kOutput, blocks, sendBlock, k, s.sliceElems));
      b.recv(prev, slice(kOutput, blocks, recvBlock, k, s.sliceElems));
    }
  }
  return b.finish();
}

Plan ringAllGather(const CollectiveShape& s) {
  PlanBuilder b;
  const int n = s.size, r = s.rank, next = mod(r + 1, n), prev = mod(r - 1, n);
  if (s.inPlace) b.alias(kInput, kOutput, s.count * static_cast<std::size_t>(r));
  Blocks blocks{s.count * static_cast<std::size_t>(n), n, s.count};
  b.copy({kInput, 0, s.count}, {kOutput, blocks.begin(r), s.count});
  const std::size_t slices = (s.count + s.sliceElems - 1) / s.sliceElems;
  Blocks input{s.count, 1, s.count};
  for (int step = 0; step < n - 1; ++step) {
    int sendBlock = mod(r - step, n), recvBlock = mod(r - step - 1, n);
    for (std::size_t k = 0; k < slices; ++k) {
      // The first send reads the input directly, not waiting for the local copy.
      b.send(next, step == 0 ? slice(kInput, input, 0, k, s.sliceElems)
                             : slice(kOutput, blocks, sendBlock, k, s.sliceElems));
      b.recv(prev, slice(kOutput, blocks, recvBlock, k, s.sliceElems));
    }
  }
  return b.finish();
}

Plan ringReduceScatter(const CollectiveShape& s) {
  PlanBuilder b;
  const int n = s.size, r = s.rank, next = mod(r + 1, n), prev = mod(r - 1, n);
  if (s.inPlace) b.alias(kOutput, kInput, s.count * static_cast<std::size_t>(r));
  if (n == 1) {
    b.copy({kInput, 0, s.count}, {kOutput, 0, s.count});
    return b.finish();
  }
  Blocks blocks{s.count * static_cast<std::size_t>(n), n, s.count};
  Blocks single{s.count, 1, s.count};
  // Partial sums travel through a few scratch slots; reuse is ordered by the inferred
  // dependencies (a slot is rewritten only after the send that read it is done).
  const int slots = std::min(n - 1, 4);
  Blocks scratch{s.count * static_cast<std::size_t>(slots), slots, s.count};
  b.needScratch(s.count * static_cast<std::size_t>(slots));
  const std::size_t slices = (s.count + s.sliceElems - 1) / s.sliceElems;
  // Step t sends block r-t-1 and reduces block r-t-2 into it; the last step lands on r.
  for (int step = 0; step < n - 1; ++step) {
    int sendBlock = mod(r - step - 1, n), recvBlock = mod(r - step - 2, n);
    bool last = step == n - 2;
    for (std::size_t k = 0; k < slices; ++k) {
      b.send(next, step == 0 ? slice(kInput, blocks, sendBlock, k, s.sliceElems)
                             : slice(kScratch, scratch, (step - 1) % slots, k, s.sliceElems));
      b.recvReduce(prev, slice(kInput, blocks, recvBlock, k, s.sliceElems),
                   last ? slice(kOutput, single, 0, k, s.sliceElems)
                        : slice(kScratch, scratch, step % slots, k, s.sliceElems));
    }
  }
  return b.finish();
}

}  // namespace braid
