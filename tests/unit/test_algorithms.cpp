// The default algorithms' plans, run together in the simulator, give the exact result
// for every rank count, count (zero, tiny, odd, not divisible) and in/out-of-place
// layout; grouped send/recv and dependency inference.
#include "algorithms/algorithms.h"
#include "algorithms/sim_check.h"
#include "algorithms/simulator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace braid {
namespace {

TEST(Algorithms, EveryCollectiveIsExactInTheSimulator) {
  const Collective all[] = {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
                            Collective::Broadcast, Collective::Reduce, Collective::AllToAll};
  for (Collective coll : all)
    for (int size : {1, 2, 3, 4, 5, 7, 8, 9})
      for (std::size_t count : {0, 1, 2, 3, 7, 13, 64, 1001})
        for (bool inPlace : {false, true})
          for (std::size_t slice : {std::size_t{3}, std::size_t{1} << 20}) {
            int root = size > 2 ? 2 : size - 1;
            SimCase c{coll, defaultAlgorithm(coll), size, count, inPlace, root, slice, nullptr};
            EXPECT_EQ(checkExact(c), "");
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
  CollectiveShape shape;
  shape.size = 2;
  shape.count = 4;
  shape.inPlace = true;
  shape.sliceElems = 4;
  Plan p = ringAllReduce(shape);
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
