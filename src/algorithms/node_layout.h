#pragma once
// Which node (host) each rank lives on. Hierarchical plans are built from it; ranks of
// one node need not be contiguous, and nodes need not hold equal numbers of ranks.
#include <map>
#include <vector>

namespace braid {

struct NodeLayout {
  std::vector<int> nodeOfRank;  // dense node ids 0..nodes-1, indexed by rank

  // Derived by NodeLayout::make: the ranks of each node, ascending, and each rank's
  // index within its node.
  std::vector<std::vector<int>> ranksOfNode;
  std::vector<int> localIndex;

  // From any ordered per-rank key (e.g. host ids); nodes are numbered by first
  // appearance. A map, not a scan of the nodes seen, keeps init O(ranks log nodes)
  // when every rank is its own node.
  template <class Key>
  static NodeLayout make(const std::vector<Key>& keyOfRank) {
    NodeLayout l;
    std::map<Key, int> nodeOfKey;
    for (const Key& k : keyOfRank) {
      auto [it, added] = nodeOfKey.emplace(k, static_cast<int>(l.ranksOfNode.size()));
      const int node = it->second;
      if (added) l.ranksOfNode.emplace_back();
      l.localIndex.push_back(static_cast<int>(l.ranksOfNode[static_cast<std::size_t>(node)].size()));
      l.ranksOfNode[static_cast<std::size_t>(node)].push_back(static_cast<int>(l.nodeOfRank.size()));
      l.nodeOfRank.push_back(node);
    }
    return l;
  }
  int nodes() const { return static_cast<int>(ranksOfNode.size()); }
  // True when every node holds the same number of ranks.
  bool uniform() const {
    for (const auto& r : ranksOfNode)
      if (r.size() != ranksOfNode.front().size()) return false;
    return true;
  }
};

}  // namespace braid
