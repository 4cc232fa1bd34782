// Every algorithm, for every collective it supports, gives the exact result in the
// simulator at every rank count from 1 to 64 and at 127, 128, 1000, 1024 and 4096:
// empty, one-element, small and (up to 64 ranks) multi-slice buffers, in place and
// not. Hierarchical plans run on nodes of 8 ranks (one node when there are fewer).
//
// Large rank counts are separate tests so that a failure names its scale. The check
// at 4096 ranks is one case per algorithm (a ring all-reduce there is 67M steps), so
// that the suite stays within a few minutes on two cores.
#include "algorithms/algorithm.h"
#include "algorithms/sim_check.h"

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace braid {
namespace {

constexpr int kRanksPerNode = 8;

std::shared_ptr<const NodeLayout> nodesOf(int ranks) {
  std::vector<int> nodeOfRank;
  for (int r = 0; r < ranks; ++r) nodeOfRank.push_back(r / kRanksPerNode);
  return std::make_shared<const NodeLayout>(NodeLayout::make(nodeOfRank));
}

bool perRankCount(Collective c) {
  return c == Collective::AllGather || c == Collective::ReduceScatter || c == Collective::AllToAll;
}

// Counts that give every rank's block zero, one, a few elements, and (for whole-buffer
// collectives) 3 or 4 elements per rank so that every block is non-empty.
std::vector<std::size_t> countsFor(Collective c, int ranks) {
  if (perRankCount(c)) return {0, 1, 3, 7};
  return {0, 1, 5, static_cast<std::size_t>(ranks) * 3 + 1};
}

// How much of the layout space a case covers; large rank counts cover less to stay fast.
enum class Coverage {
  Full,       // every count, in place and not, one slice per block and several
  OneSlice,   // every count, in place and not, one slice per block
  LargeOnly,  // the largest count, out of place
};

struct ScaleCase {
  Algorithm algorithm;
  Collective collective;
  std::vector<int> ranks;
  Coverage coverage;
};

std::string nameOf(const ScaleCase& s) {
  std::string name = std::string(toString(s.algorithm)) + "_" + toString(s.collective) + "_ranks" +
                     std::to_string(s.ranks.front());
  if (s.ranks.size() > 1) name += "to" + std::to_string(s.ranks.back());
  for (char& ch : name)
    if (ch == '-') ch = '_';
  return name;
}

// gtest prints parameters it cannot format as raw bytes; the case's name says it all.
void PrintTo(const ScaleCase& s, std::ostream* os) { *os << nameOf(s); }

class AlgorithmScale : public testing::TestWithParam<ScaleCase> {};

TEST_P(AlgorithmScale, IsExact) {
  const ScaleCase& s = GetParam();
  for (int ranks : s.ranks) {
    SimCase c;
    c.algorithm = s.algorithm;
    c.collective = s.collective;
    c.size = ranks;
    c.root = ranks * 2 / 3;  // not rank 0, so that the root's offset in the rank order matters
    if (s.algorithm == Algorithm::Hierarchical) c.nodes = nodesOf(ranks);
    if (s.coverage == Coverage::LargeOnly) {
      c.count = countsFor(s.collective, ranks).back();
      EXPECT_EQ(checkExact(c), "");
      continue;
    }
    // A 2-element slice pipelines every block in several slices.
    std::vector<std::size_t> slices{std::size_t{1} << 20};
    if (s.coverage == Coverage::Full) slices.push_back(2);
    for (std::size_t count : countsFor(s.collective, ranks))
      for (std::size_t slice : slices)
        for (bool inPlace : {false, true}) {
          c.count = count;
          c.sliceElems = slice;
          c.inPlace = inPlace;
          EXPECT_EQ(checkExact(c), "");
        }
  }
}

std::vector<ScaleCase> allCases() {
  const Collective collectives[] = {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
                                    Collective::Broadcast, Collective::Reduce,    Collective::AllToAll};
  std::vector<int> upTo64;
  for (int n = 1; n <= 64; ++n) upTo64.push_back(n);
  std::vector<ScaleCase> cases;
  for (Algorithm a : kAllAlgorithms) {
    bool first = true;
    for (Collective c : collectives) {
      if (!supports(a, c)) continue;
      cases.push_back({a, c, upTo64, Coverage::Full});
      for (int n : {127, 128, 1000, 1024}) cases.push_back({a, c, {n}, Coverage::OneSlice});
      if (first) cases.push_back({a, c, {4096}, Coverage::LargeOnly});
      first = false;
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(, AlgorithmScale, testing::ValuesIn(allCases()),
                         [](const testing::TestParamInfo<ScaleCase>& info) { return nameOf(info.param); });

}  // namespace
}  // namespace braid
