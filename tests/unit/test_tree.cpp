// Tree all-reduce, broadcast and reduce give the exact result in the simulator for
// every rank count (powers of two or not), count, layout, slice size and root; the two
// trees of the all-reduce have disjoint interiors; plans stay linear in slices.
#include "algorithms/algorithms.h"
#include "algorithms/sim_check.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

namespace braid {
namespace {

std::vector<int> rankCounts() {
  std::vector<int> sizes;
  for (int n = 1; n <= 33; ++n) sizes.push_back(n);
  for (int n : {64, 127, 128}) sizes.push_back(n);
  return sizes;
}

void expectExactForEveryShape(Collective coll) {
  for (int size : rankCounts())
    for (std::size_t count : {0, 1, 2, 3, 7, 13, 64, 1001})
      for (bool inPlace : {false, true})
        for (std::size_t slice : {std::size_t{3}, std::size_t{1} << 20})
          for (int root : {0, size / 2}) {
            if (coll == Collective::AllReduce && root != 0) continue;  // no root to vary
            EXPECT_EQ(checkExact(SimCase{coll, Algorithm::Tree, size, count, inPlace, root, slice, nullptr}), "");
          }
}

TEST(TreeAlgorithm, AllReduceIsExact) { expectExactForEveryShape(Collective::AllReduce); }
TEST(TreeAlgorithm, BroadcastIsExact) { expectExactForEveryShape(Collective::Broadcast); }
TEST(TreeAlgorithm, ReduceIsExact) { expectExactForEveryShape(Collective::Reduce); }

TEST(TreeAlgorithm, IsExactAtScale) {
  for (Collective coll : {Collective::AllReduce, Collective::Broadcast, Collective::Reduce})
    EXPECT_EQ(checkExact(SimCase{coll, Algorithm::Tree, 4096, 100, false, 1234, 16, nullptr}), "");
}

// A rank is interior in a tree when it combines children's data on that tree's half.
struct Interiors {
  std::vector<bool> first, second;
};

Interiors interiorRanks(int size, std::size_t count) {
  Interiors in{std::vector<bool>(size), std::vector<bool>(size)};
  CollectiveShape s;
  s.size = size;
  s.count = count;
  s.sliceElems = count;
  for (int r = 0; r < size; ++r) {
    s.rank = r;
    for (const Step& step : treeAllReduce(s).steps)
      if (step.kind == StepKind::RecvReduce) (step.dst.offset < (count + 1) / 2 ? in.first : in.second)[r] = true;
  }
  return in;
}

TEST(TreeAlgorithm, TheTwoTreesHaveDisjointInteriors) {
  for (int size = 2; size <= 300; ++size) {
    Interiors in = interiorRanks(size, 2);
    int firstCount = 0, secondCount = 0;
    for (int r = 0; r < size; ++r) {
      EXPECT_FALSE(in.first[r] && in.second[r]) << "rank " << r << " of " << size << " is interior in both trees";
      firstCount += in.first[r];
      secondCount += in.second[r];
    }
    // Each tree is a real binary tree: about half its ranks forward data.
    EXPECT_GE(firstCount, (size - 1) / 2) << size;
    EXPECT_GE(secondCount, (size - 1) / 2) << size;
  }
}

TEST(TreeAlgorithm, PlansGrowWithSlicesNotRanks) {
  CollectiveShape s;
  s.size = 4096;
  s.count = 64;
  s.sliceElems = 1;  // 32 slices per tree
  for (int r : {0, 1, 2047, 2048, 4095}) {
    s.rank = r;
    // Per slice and tree: at most two receives from children, a send up, a receive
    // down and two sends down.
    EXPECT_LE(treeAllReduce(s).steps.size(), 6 * s.count) << "rank " << r;
  }
}

}  // namespace
}  // namespace braid
