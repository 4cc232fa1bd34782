// Hierarchical plans, run together in the simulator, give the exact result for uniform
// layouts (contiguous and round-robin node membership), non-uniform ones and the
// degenerate ones; and they cross nodes only in their inter-node phase, towards one
// peer, with 1/L of the data.
#include "algorithms/algorithms.h"
#include "algorithms/sim_check.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <stdexcept>
#include <vector>

namespace braid {
namespace {

const Collective kHierarchicalCollectives[] = {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter};

// Rank r on node r / perNode.
std::vector<int> contiguous(int nodes, int perNode) {
  std::vector<int> host;
  for (int r = 0; r < nodes * perNode; ++r) host.push_back(r / perNode);
  return host;
}

// Rank r on node r % nodes.
std::vector<int> roundRobin(int nodes, int perNode) {
  std::vector<int> host;
  for (int r = 0; r < nodes * perNode; ++r) host.push_back(r % nodes);
  return host;
}

std::shared_ptr<const NodeLayout> layoutOf(const std::vector<int>& hostOfRank) {
  return std::make_shared<NodeLayout>(NodeLayout::make(hostOfRank));
}

const std::vector<std::size_t> kCounts{0, 1, 2, 3, 7, 13, 64, 1001};
const std::vector<std::size_t> kSlices{3, std::size_t{1} << 20};

void expectExactOn(const std::vector<int>& hostOfRank, const std::vector<std::size_t>& counts = kCounts,
                   const std::vector<std::size_t>& slices = kSlices) {
  const auto nodes = layoutOf(hostOfRank);
  const int size = static_cast<int>(hostOfRank.size());
  for (Collective coll : kHierarchicalCollectives)
    for (std::size_t count : counts)
      for (bool inPlace : {false, true})
        for (std::size_t slice : slices) {
          SimCase c{coll, Algorithm::Hierarchical, size, count, inPlace, 0, slice, nodes};
          EXPECT_EQ(checkExact(c), "") << "hosts of ranks: " << testing::PrintToString(hostOfRank);
        }
}

TEST(Hierarchical, ExactOnUniformLayouts) {
  const std::pair<int, int> shapes[] = {{1, 1}, {1, 4}, {4, 1}, {2, 2}, {3, 2}, {2, 4}, {4, 4}};
  for (auto [nodes, perNode] : shapes) {
    expectExactOn(contiguous(nodes, perNode));
    expectExactOn(roundRobin(nodes, perNode));
  }
}

TEST(Hierarchical, ExactOnLargeUniformLayouts) {
  // 64 ranks: fewer cases, still zero, fewer elements than ranks, uneven blocks and
  // many slices; the largest count in one slice only, as 64 ranks times thousands of
  // slices would take the simulator seconds per case.
  for (auto [nodes, perNode] : {std::pair{8, 8}, std::pair{16, 4}})
    for (const auto& hosts : {contiguous(nodes, perNode), roundRobin(nodes, perNode)}) {
      expectExactOn(hosts, {0, 3, 13, 64}, {5, std::size_t{1} << 20});
      expectExactOn(hosts, {1001}, {std::size_t{1} << 20});
    }
}

TEST(Hierarchical, ExactOnNonUniformLayouts) {
  expectExactOn({0, 0, 0, 1, 2, 2});           // sizes 3, 1, 2
  expectExactOn({0, 1, 2, 0, 2, 0});           // the same sizes, interleaved
  expectExactOn({0, 1, 1, 1, 1});              // a lone leader
  expectExactOn({5, 7, 5, 7, 7, 9, 7, 9, 5});  // host ids that are not 0..n-1
}

TEST(Hierarchical, RejectsALayoutThatDoesNotCoverEveryRank) {
  CollectiveShape s;
  s.algorithm = Algorithm::Hierarchical;
  s.size = 4;
  s.count = 8;
  s.nodes = layoutOf({0, 0, 1});
  EXPECT_THROW(buildPlan(s), std::invalid_argument);
  s.nodes = nullptr;
  EXPECT_THROW(buildPlan(s), std::invalid_argument);
}

// In a uniform layout each rank sends to other nodes only in one unbroken run of its
// sends (the inter-node phase), only to the rank of its local index on the next node,
// and only `crossElems` elements: a flat ring would break each of these.
void expectOneInterNodePhase(Collective coll, const std::vector<int>& hostOfRank, std::size_t count,
                             std::size_t crossElems) {
  const auto nodes = layoutOf(hostOfRank);
  const NodeLayout& l = *nodes;
  const int size = static_cast<int>(hostOfRank.size());
  for (int r = 0; r < size; ++r) {
    SCOPED_TRACE(std::string(toString(coll)) + " rank " + std::to_string(r));
    CollectiveShape s;
    s.collective = coll;
    s.algorithm = Algorithm::Hierarchical;
    s.rank = r;
    s.size = size;
    s.count = count;
    s.sliceElems = 64;
    s.nodes = nodes;
    const Plan plan = buildPlan(s);
    const int node = l.nodeOfRank[static_cast<std::size_t>(r)];
    const int local = l.localIndex[static_cast<std::size_t>(r)];
    const auto& nextNode = l.ranksOfNode[static_cast<std::size_t>((node + 1) % l.nodes())];
    const int interPeer = nextNode[static_cast<std::size_t>(local)];
    std::set<int> crossPeers;
    std::size_t crossSent = 0, sendsBefore = 0, sendsAfter = 0;
    bool phaseOver = false;
    for (const Step& step : plan.steps) {
      if (step.kind != StepKind::Send) continue;
      const bool cross = l.nodeOfRank[static_cast<std::size_t>(step.peer)] != node;
      if (cross) {
        EXPECT_FALSE(phaseOver) << "sends to another node resume after intra-node sends";
        crossPeers.insert(step.peer);
        crossSent += step.src.count;
      } else if (crossSent == 0) {
        ++sendsBefore;
      } else {
        ++sendsAfter;
        phaseOver = true;
      }
    }
    EXPECT_EQ(crossPeers, std::set<int>{interPeer});
    EXPECT_EQ(crossSent, crossElems);
    // The intra-node phases around it are there too: reduce before, gather after.
    EXPECT_EQ(sendsBefore > 0, coll != Collective::AllGather);
    EXPECT_EQ(sendsAfter > 0, coll != Collective::ReduceScatter);
  }
}

TEST(Hierarchical, UniformPlansCrossNodesOnceTowardsOnePeer) {
  // 4 nodes of 4 ranks. All-reduce of 1600: each rank all-reduces 400 across 4 nodes,
  // sending 3 of 4 blocks of 100 twice. All-gather and reduce-scatter of 100 per rank:
  // each rank passes on 3 blocks of 100 across nodes.
  for (const auto& hosts : {contiguous(4, 4), roundRobin(4, 4)}) {
    expectOneInterNodePhase(Collective::AllReduce, hosts, 1600, 600);
    expectOneInterNodePhase(Collective::AllGather, hosts, 100, 300);
    expectOneInterNodePhase(Collective::ReduceScatter, hosts, 100, 300);
  }
}

}  // namespace
}  // namespace braid
