#include "topology/cost_model.h"

namespace braid {

const char* toString(LinkClass c) {
  switch (c) {
    case LinkClass::SameNuma: return "same-numa";
    case LinkClass::CrossNuma: return "cross-numa";
    case LinkClass::SameHost: return "same-host";
    case LinkClass::Network: return "network";
  }
  return "?";
}

LinkClass linkBetween(const RankPlacement& a, const RankPlacement& b) {
  if (a.node != b.node) return LinkClass::Network;
  if (a.package < 0 || b.package < 0 || a.package != b.package) return LinkClass::SameHost;
  if (a.numa >= 0 && a.numa == b.numa) return LinkClass::SameNuma;
  return LinkClass::CrossNuma;
}

CostModel CostModel::defaults() {
  CostModel m;
  m.links[static_cast<std::size_t>(LinkClass::SameNuma)] = {0.5, 12.0};
  m.links[static_cast<std::size_t>(LinkClass::CrossNuma)] = {0.8, 9.0};
  m.links[static_cast<std::size_t>(LinkClass::SameHost)] = {1.0, 6.0};
  m.links[static_cast<std::size_t>(LinkClass::Network)] = {5.0, 12.0};
  return m;
}

}  // namespace braid
