#pragma once
// Where braid-probe imagines N ranks: L per node, each node's ranks dealt round-robin
// over the topology's NUMA nodes, so that a two-socket topology yields cross-socket
// links as a job with one rank per GPU would have.
#include "topology/topology.h"

#include <vector>

namespace probe {

// Rank r is on node r / ranksPerNode, NUMA node (r % ranksPerNode) mod |NUMA nodes|, and
// GPU (r % ranksPerNode) mod |GPUs| where there are GPUs. A topology without NUMA nodes
// puts every rank on package 0, NUMA node 0.
std::vector<braid::RankPlacement> spreadPlacements(const braid::Topology& topo, int ranks, int ranksPerNode);

}  // namespace probe
