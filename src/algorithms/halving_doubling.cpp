// Recursive halving and doubling: Rabenseifner's all-reduce (halving reduce-scatter,
// then doubling all-gather), halving reduce-scatter and doubling all-gather. Each takes
// log2 steps on a power-of-two group; the ranks beyond the largest power of two fold
// into a neighbour first (see Fold), which costs one extra step before and after.
#include "algorithms/algorithms.h"
#include "algorithms/plan_builder.h"
#include "algorithms/slicing.h"

#include <algorithm>
#include <bit>

namespace braid {
namespace {

// With n ranks, the halving and doubling run on p = bit_floor(n) group members. The
// r = n - p extra ranks pair up with a neighbour: among the first 2r ranks each even
// rank hands its data to the odd rank above it and sits out, and that odd rank stands
// for both. Group members number the odd ranks below 2r, then the ranks from 2r on, so
// member v stands for the contiguous ranks [firstRank(v), firstRank(v + 1)) and any run
// of members covers a contiguous run of rank blocks.
struct Fold {
  int members;  // p
  int extras;   // r

  explicit Fold(int n) : members(static_cast<int>(std::bit_floor(static_cast<unsigned>(n)))), extras(n - members) {}

  bool sitsOut(int rank) const { return rank < 2 * extras && rank % 2 == 0; }
  bool standsForTwo(int rank) const { return rank < 2 * extras && rank % 2 == 1; }
  int member(int rank) const { return rank < 2 * extras ? rank / 2 : rank - extras; }
  int rankOf(int v) const { return v < extras ? 2 * v + 1 : v + extras; }
  int firstRank(int v) const { return v < extras ? 2 * v : v + extras; }
};

// Recursive halving, step with distance m (p/2 down to 1): members pair up across bit
// m, and each keeps the half of their common run of 2m members on its side of that
// bit. Starting from all p members, member v ends with the run {v}.
struct Halves {
  int keepFirst, giveFirst;  // each half is m members long
};
Halves halve(int member, int m) {
  int runFirst = member - member % (2 * m);
  bool upper = member % (2 * m) >= m;
  return upper ? Halves{runFirst + m, runFirst} : Halves{runFirst, runFirst + m};
}

// Recursive doubling, step with distance m (1 up to p/2): member v holds the aligned
// run of m members that contains it; its partner v ^ m holds the neighbouring run.
int runFirst(int member, int m) { return member - member % m; }

}  // namespace

Plan halvingDoublingAllReduce(const CollectiveShape& s) {
  PlanBuilder b;
  if (s.inPlace) b.alias(kInput, kOutput, 0);
  const Region input{kInput, 0, s.count}, output{kOutput, 0, s.count};
  if (s.size == 1) {
    b.copy(input, output);
    return b.finish();
  }
  SlicedMessages io(b, s.sliceElems);
  const Fold fold(s.size);
  const int me = s.rank;
  if (fold.sitsOut(me)) {
    io.send(me + 1, input);
    io.recv(me + 1, output);
    return b.finish();
  }
  const int p = fold.members, v = fold.member(me);
  // The vector is cut into p blocks; member v ends the halving owning block v.
  auto blocks = [&](BufferId buf, int first, int count) {
    std::size_t begin = blockBegin(s.count, p, first), end = blockBegin(s.count, p, first + count);
    return Region{buf, begin, end - begin};
  };
  BufferId partial = kInput;  // where this rank's running sums are
  if (fold.standsForTwo(me)) {
    io.recvReduce(me - 1, input, output);
    partial = kOutput;
  }
  for (int m = p / 2; m >= 1; m /= 2) {
    const int peer = fold.rankOf(v ^ m);
    const Halves h = halve(v, m);
    io.send(peer, blocks(partial, h.giveFirst, m));
    io.recvReduce(peer, blocks(partial, h.keepFirst, m), blocks(kOutput, h.keepFirst, m));
    partial = kOutput;
  }
  for (int m = 1; m < p; m *= 2) {
    const int peer = fold.rankOf(v ^ m);
    io.send(peer, blocks(kOutput, runFirst(v, m), m));
    io.recv(peer, blocks(kOutput, runFirst(v ^ m, m), m));
  }
  if (fold.standsForTwo(me)) io.send(me - 1, output);
  return b.finish();
}

Plan halvingDoublingReduceScatter(const CollectiveShape& s) {
  PlanBuilder b;
  const int n = s.size, me = s.rank;
  if (s.inPlace) b.alias(kOutput, kInput, s.count * static_cast<std::size_t>(me));
  // Rank blocks [first, end) of the input layout, on any buffer laid out like it.
  auto ranks = [&](BufferId buf, int first, int end) {
    return Region{buf, s.count * static_cast<std::size_t>(first), s.count * static_cast<std::size_t>(end - first)};
  };
  const Region output{kOutput, 0, s.count};
  if (n == 1) {
    b.copy(ranks(kInput, 0, 1), output);
    return b.finish();
  }
  SlicedMessages io(b, s.sliceElems);
  const Fold fold(n);
  if (fold.sitsOut(me)) {
    io.send(me + 1, ranks(kInput, 0, n));
    io.recv(me + 1, output);
    return b.finish();
  }
  // Running sums live in scratch laid out like the input, which is simple and at most
  // one input's worth; this algorithm is for small and medium messages.
  b.needScratch(s.count * static_cast<std::size_t>(n));
  const int p = fold.members, v = fold.member(me);
  // The rank blocks of the run of `count` members starting at `first`.
  auto members = [&](BufferId buf, int first, int count) {
    return ranks(buf, fold.firstRank(first), fold.firstRank(first + count));
  };
  BufferId partial = kInput;
  if (fold.standsForTwo(me)) {
    io.recvReduce(me - 1, ranks(kInput, 0, n), ranks(kScratch, 0, n));
    partial = kScratch;
  }
  for (int m = p / 2; m > 1; m /= 2) {
    const int peer = fold.rankOf(v ^ m);
    const Halves h = halve(v, m);
    io.send(peer, members(partial, h.giveFirst, m));
    io.recvReduce(peer, members(partial, h.keepFirst, m), members(kScratch, h.keepFirst, m));
    partial = kScratch;
  }
  // The last exchange sends one message per rank block, so that each lands where it is
  // due: this rank's own block in its output, a sitting-out neighbour's in scratch.
  const int peer = fold.rankOf(v ^ 1);
  for (int q = fold.firstRank(v ^ 1); q < fold.firstRank((v ^ 1) + 1); ++q) io.send(peer, ranks(partial, q, q + 1));
  for (int q = fold.firstRank(v); q < fold.firstRank(v + 1); ++q)
    io.recvReduce(peer, ranks(partial, q, q + 1), q == me ? output : ranks(kScratch, q, q + 1));
  if (fold.standsForTwo(me)) io.send(me - 1, ranks(kScratch, me - 1, me));
  return b.finish();
}

Plan recursiveDoublingAllGather(const CollectiveShape& s) {
  PlanBuilder b;
  const int n = s.size, me = s.rank;
  if (s.inPlace) b.alias(kInput, kOutput, s.count * static_cast<std::size_t>(me));
  auto ranks = [&](int first, int end) {
    return Region{kOutput, s.count * static_cast<std::size_t>(first), s.count * static_cast<std::size_t>(end - first)};
  };
  const Region input{kInput, 0, s.count};
  SlicedMessages io(b, s.sliceElems);
  const Fold fold(n);
  if (fold.sitsOut(me)) {
    // The whole result comes back from the neighbour, this rank's own block included.
    io.send(me + 1, input);
    io.recv(me + 1, ranks(0, n));
    return b.finish();
  }
  b.copy(input, ranks(me, me + 1));
  if (fold.standsForTwo(me)) io.recv(me - 1, ranks(me - 1, me));
  const int p = fold.members, v = fold.member(me);
  auto members = [&](int first, int count) { return ranks(fold.firstRank(first), fold.firstRank(first + count)); };
  for (int m = 1; m < p; m *= 2) {
    const int peer = fold.rankOf(v ^ m);
    io.send(peer, members(runFirst(v, m), m));
    io.recv(peer, members(runFirst(v ^ m, m), m));
  }
  if (fold.standsForTwo(me)) io.send(me - 1, ranks(0, n));
  return b.finish();
}

}  // namespace braid
