#include "placements.h"

namespace probe {

std::vector<braid::RankPlacement> spreadPlacements(const braid::Topology& topo, int ranks, int ranksPerNode) {
  std::vector<braid::RankPlacement> out;
  const int numaCount = static_cast<int>(topo.numaNodes.size());
  for (int r = 0; r < ranks; ++r) {
    braid::RankPlacement p{r / ranksPerNode, 0, 0};
    if (numaCount > 0) {
      const braid::NumaNode& n = topo.numaNodes[static_cast<std::size_t>(r % ranksPerNode % numaCount)];
      p.numa = n.id;
      p.package = n.package;
    }
    if (!topo.gpus.empty()) {
      p.gpu = r % ranksPerNode % static_cast<int>(topo.gpus.size());
      p.nvlinkDomain = braid::nvlinkDomain(topo, p.gpu);
    }
    out.push_back(p);
  }
  return out;
}

}  // namespace probe
