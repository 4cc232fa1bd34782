// Every algorithm's plans, run together in the simulator, give the exact result for
// every rank count, count (zero, tiny, odd, not divisible) and in/out-of-place layout.
#include "algorithms/algorithms.h"
#include "algorithms/simulator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace braid {
namespace {

void addU64(void* dst, const void* a, const void* b, std::size_t n) {
  auto* d = static_cast<std::uint64_t*>(dst);
  auto* x = static_cast<const std::uint64_t*>(a);
  auto* y = static_cast<const std::uint64_t*>(b);
  for (std::size_t i = 0; i < n; ++i) d[i] = x[i] + y[i];
}

// A value no two (rank, index) pairs share, and whose sums identify their terms.
std::uint64_t value(int rank, std::size_t i) { return (std::uint64_t{1} << (rank % 40)) * 1000003 + i * 7 + 1; }

struct Case {
  Collective coll;
  int size;
  std::size_t count;
  bool inPlace;
  int root;
};

// Input and output element counts of one rank for a collective.
std::pair<std::size_t, std::size_t> extents(const Case& c) {
  auto n = static_cast<std::size_t>(c.size);
  switch (c.coll) {
    case Collective::AllGather: return {c.count, c.count * n};
    case Collective::ReduceScatter: return {c.count * n, c.count};
    case Collective::AllToAll: return {c.count * n, c.count * n};
    default: return {c.count, c.count};
  }
}

std::uint64_t expected(const Case& c, int rank, std::size_t i) {
  std::uint64_t sum = 0;
  switch (c.coll) {
    case Collective::AllReduce:
    case Collective::Reduce:
      for (int r = 0; r < c.size; ++r) sum += value(r, i);
      return sum;
    case Collective::ReduceScatter:
      for (int r = 0; r < c.size; ++r) sum += value(r, rank * c.count + i);
      return sum;
    case Collective::AllGather: return value(static_cast<int>(i / c.count), i % c.count);
    case Collective::Broadcast: return value(c.root, i);
    case Collective::AllToAll: {
      std::size_t from = i / c.count, k = i % c.count;
      return value(static_cast<int>(from), rank * c.count + k);
    }
  }
  return 0;
}

void check(const Case& c, std::size_t sliceElems) {
  auto [inN, outN] = extents(c);
  std::vector<std::vector<std::uint64_t>> in(c.size), out(c.size), scratch(c.size);
  std::vector<Plan> plans(c.size);
  std::vector<SimRank> ranks(c.size);
  for (int r = 0; r < c.size; ++r) {
    CollectiveShape s{c.coll, r, c.size, c.count, c.root, c.inPlace, sliceElems};
    plans[r] = buildPlan(s);
    out[r].assign(outN + 1, 0xdeadbeef);  // one guard element past the end
    in[r].resize(inN);
    for (std::size_t i = 0; i < inN; ++i) in[r][i] = value(r, i);
    scratch[r].resize(plans[r].scratchCount + 1);
    void* input = in[r].data();
    if (c.inPlace) {
      // NCCL's in-place layouts: the input lives inside the output (or vice versa).
      std::size_t at = c.coll == Collective::AllGather ? r * c.count : 0;
      if (c.coll == Collective::ReduceScatter) {
        out[r].assign(inN + 1, 0xdeadbeef);
        std::memcpy(out[r].data(), in[r].data(), inN * 8);
        input = out[r].data();
      } else {
        std::memcpy(out[r].data() + at, in[r].data(), inN * 8);
        input = out[r].data() + at;
      }
    }
    void* output = c.inPlace && c.coll == Collective::ReduceScatter ? out[r].data() + r * c.count : out[r].data();
    ranks[r] = SimRank{&plans[r], {input, output, scratch[r].data()}};
  }
  ASSERT_NO_THROW(simulate(ranks, 8, addU64));
  for (int r = 0; r < c.size; ++r) {
    if (c.coll == Collective::Reduce && r != c.root) continue;
    const std::uint64_t* got = static_cast<const std::uint64_t*>(ranks[r].buffers[kOutput]);
    for (std::size_t i = 0; i < outN; ++i)
      ASSERT_EQ(got[i], expected(c, r, i)) << toString(c.coll) << " size " << c.size << " count " << c.count
                                           << (c.inPlace ? " in-place" : "") << " rank " << r << " element " << i;
    ASSERT_EQ(out[r].back(), 0xdeadbeefu) << "wrote past the end";
  }
}

TEST(Algorithms, EveryCollectiveIsExactInTheSimulator) {
  const Collective all[] = {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
                            Collective::Broadcast, Collective::Reduce, Collective::AllToAll};
  for (Collective coll : all)
    for (int size : {1, 2, 3, 4, 5, 7, 8, 9})
      for (std::size_t count : {0, 1, 2, 3, 7, 13, 64, 1001})
        for (bool inPlace : {false, true})
          for (std::size_t slice : {std::size_t{3}, std::size_t{1} << 20}) {
            int root = size > 2 ? 2 : size - 1;
            check({coll, size, count, inPlace, root}, slice);
          }
}

TEST(Algorithms, GroupedPointToPointMatchesSelfSendsInOrder) {
  std::vector<unsigned char> a{1, 2, 3}, b{9, 9, 9}, c{4, 5}, d{0, 0};
  std::vector<P2POp> ops{{true, 0, 3}, {true, 0, 2}, {false, 0, 3}, {false, 0, 2}};
  Plan plan = groupedPointToPoint(0, ops);
  std::vector<SimRank> ranks{{&plan, {nullptr, nullptr, nullptr, a.data(), c.data(), b.data(), d.data()}}};
  simulate(ranks, 1, nullptr);
  EXPECT_EQ(b, (std::vector<unsigned char>{1, 2, 3}));
  EXPECT_EQ(d, (std::vector<unsigned char>{4, 5}));
}

TEST(Algorithms, DependenciesOrderWritesAfterReadsOfTheSameRegion) {
  // In-place ring all-reduce receives into a block it sent earlier: the receive must
  // wait for that send.
  Plan p = ringAllReduce({Collective::AllReduce, 0, 2, 4, 0, true, 4});
  int firstSend = -1, laterRecv = -1;
  for (std::size_t i = 0; i < p.steps.size(); ++i) {
    const Step& s = p.steps[i];
    if (s.kind == StepKind::Send && firstSend < 0) firstSend = static_cast<int>(i);
    if (s.kind == StepKind::Recv && s.dst.offset == p.steps[firstSend].src.offset) laterRecv = static_cast<int>(i);
  }
  ASSERT_GE(laterRecv, 0);
  const Step& r = p.steps[laterRecv];
  bool waits = false;
  for (std::uint32_t d = 0; d < r.numDeps; ++d) waits |= p.deps[r.firstDep + d] == static_cast<std::uint32_t>(firstSend);
  EXPECT_TRUE(waits);
}

}  // namespace
}  // namespace braid
