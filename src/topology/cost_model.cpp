#include "topology/cost_model.h"

namespace braid {

const char* toString(LinkClass c) {
  switch (c) {
    case LinkClass::SameNuma: return "same-numa";
    case LinkClass::CrossNuma: return "cross-numa";
    case LinkClass::SameHost: return "same-host";
    case LinkClass::Network: return "network";
    case LinkClass::SameGpu: return "same-gpu";
    case LinkClass::NvLink: return "nvlink";
    case LinkClass::Pcie: return "pcie";
  }
  return "?";
}

LinkClass linkBetween(const RankPlacement& a, const RankPlacement& b) {
  if (a.node != b.node) return LinkClass::Network;
  if (a.package < 0 || b.package < 0 || a.package != b.package) return LinkClass::SameHost;
  if (a.numa >= 0 && a.numa == b.numa) return LinkClass::SameNuma;
  return LinkClass::CrossNuma;
}

int farness(LinkClass c) {
  switch (c) {
    case LinkClass::SameNuma:
    case LinkClass::SameGpu: return 0;
    case LinkClass::CrossNuma:
    case LinkClass::NvLink: return 1;
    case LinkClass::SameHost:
    case LinkClass::Pcie: return 2;
    case LinkClass::Network: return 3;
  }
  return 3;
}

LinkClass gpuLinkBetween(const RankPlacement& a, const RankPlacement& b) {
  if (a.node != b.node) return LinkClass::Network;
  if (a.gpu < 0 || b.gpu < 0) return LinkClass::Pcie;
  if (a.gpu == b.gpu) return LinkClass::SameGpu;
  if (a.nvlinkDomain >= 0 && a.nvlinkDomain == b.nvlinkDomain) return LinkClass::NvLink;
  return LinkClass::Pcie;
}

CostModel CostModel::defaults() {
  CostModel m;
  m.links[static_cast<std::size_t>(LinkClass::SameNuma)] = {0.5, 12.0};
  m.links[static_cast<std::size_t>(LinkClass::CrossNuma)] = {0.8, 9.0};
  m.links[static_cast<std::size_t>(LinkClass::SameHost)] = {1.0, 6.0};
  m.links[static_cast<std::size_t>(LinkClass::Network)] = {5.0, 12.0};
  // A GPU step costs a kernel launch and a control message through host memory. Ranks
  // on one GPU copy at about half its memory bandwidth (each byte is read and
  // written) and share it (Tuner::PatternLink::share).
  m.links[static_cast<std::size_t>(LinkClass::SameGpu)] = {8.0, 1000.0};
  m.links[static_cast<std::size_t>(LinkClass::NvLink)] = {8.0, 450.0};
  m.links[static_cast<std::size_t>(LinkClass::Pcie)] = {10.0, 24.0};
  return m;
}

}  // namespace braid
