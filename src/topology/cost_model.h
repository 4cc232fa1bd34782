#pragma once
// The tuner's cost model: what a message costs on each class of link, and what a
// reduction costs, as latency + bytes / bandwidth. Values come from the Topology with
// defaults, or from a tuning file that `braid-probe --calibrate` wrote. Both the tuner
// (analytic formulas per algorithm) and the simulator (pricing a Plan step by step)
// use it, so the two can be checked against each other.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace braid {

enum class LinkClass : std::uint8_t { SameNuma, CrossNuma, SameHost, Network };
inline constexpr int kLinkClasses = 4;
const char* toString(LinkClass c);

struct LinkCost {
  double latencyUs = 1.0;  // per message, one way
  double gbPerSec = 10.0;  // sustained, one direction (1 GB/s = 1000 bytes/us)
};

// Where a rank runs; two ranks' placements give the class of the link between them.
struct RankPlacement {
  int node = 0;     // dense host index (see NodeLayout)
  int package = 0;  // socket, -1 when unknown
  int numa = 0;     // NUMA node, -1 when unknown
  bool operator==(const RankPlacement&) const = default;
};
LinkClass linkBetween(const RankPlacement& a, const RankPlacement& b);

struct CostModel {
  std::array<LinkCost, kLinkClasses> links{};  // indexed by LinkClass
  double reduceGBps = 8.0;                      // bytes of one input consumed per ns
  double stepOverheadUs = 0.2;                  // executor cost of one plan step

  const LinkCost& link(LinkClass c) const { return links[static_cast<std::size_t>(c)]; }
  double messageUs(LinkClass c, std::size_t bytes) const {
    return link(c).latencyUs + static_cast<double>(bytes) / (link(c).gbPerSec * 1e3);
  }
  double reduceUs(std::size_t bytes) const { return static_cast<double>(bytes) / (reduceGBps * 1e3); }

  // Built-in values for a typical host with a 100 Gb/s network.
  static CostModel defaults();
};

}  // namespace braid
