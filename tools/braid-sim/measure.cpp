#include "measure.h"

#include "algorithms/sim_cost.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

namespace braid::sim {
namespace {

std::vector<RankPlacement> placementOf(const Setup& setup) {
  std::vector<RankPlacement> placement(static_cast<std::size_t>(setup.ranks));
  for (int r = 0; r < setup.ranks; ++r) placement[static_cast<std::size_t>(r)].node = r / setup.ranksPerNode;
  return placement;
}

}  // namespace

SimCase caseFor(const Setup& setup, Algorithm algorithm) {
  SimCase c;
  c.collective = setup.collective;
  c.algorithm = algorithm;
  c.size = setup.ranks;
  std::size_t elements = setup.bytes / setup.dtypeBytes;
  // nccl-tests sizes all-gather and reduce-scatter by the whole buffer; plans count per rank.
  bool perRank = setup.collective == Collective::AllGather || setup.collective == Collective::ReduceScatter ||
                 setup.collective == Collective::AllToAll;
  c.count = perRank ? elements / static_cast<std::size_t>(setup.ranks) : elements;
  c.sliceElems = std::max<std::size_t>(1, setup.chunkBytes / setup.dtypeBytes);
  if (algorithm == Algorithm::Hierarchical) {
    std::vector<int> nodeOfRank;
    for (int r = 0; r < setup.ranks; ++r) nodeOfRank.push_back(r / setup.ranksPerNode);
    c.nodes = std::make_shared<const NodeLayout>(NodeLayout::make(nodeOfRank));
  }
  return c;
}

Measurement measure(const Setup& setup, Algorithm algorithm, std::size_t checkBudgetBytes) {
  Measurement m;
  const SimCase c = caseFor(setup, algorithm);
  std::vector<SimPlan> plans;
  try {
    plans = buildSimPlans(c);
  } catch (const std::exception& e) {
    m.problem = describe(c) + ": " + e.what();
    return m;
  }
  m.built = true;
  for (const SimPlan& p : plans) m.steps += p.steps.size();
  if (std::size_t need = checkBufferBytes(c, plans); need <= checkBudgetBytes) {
    m.problem = checkExact(c, plans);
    m.exact = m.problem.empty();
    if (!*m.exact) return m;  // a plan that is wrong has no meaningful price
  } else {
    m.problem = describe(c) + ": not checked, its buffers need " + std::to_string(need >> 20) + " MiB";
  }
  try {
    m.modeledUs = modeledTimeUs(plans, setup.dtypeBytes, CostModel::defaults(), placementOf(setup));
  } catch (const std::exception& e) {
    m.built = false;
    m.problem = describe(c) + ": " + e.what();
  }
  return m;
}

std::string formatSize(std::size_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB"};
  int u = 0;
  while (u < 3 && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++u;
  }
  return std::to_string(bytes) + units[u];
}

}  // namespace braid::sim
