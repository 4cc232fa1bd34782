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

// Host buffers travel over the first four classes; GPU buffers over SameGpu (ranks
// sharing one GPU), NvLink, Pcie (GPU to GPU through the PCIe tree) and Network.
enum class LinkClass : std::uint8_t { SameNuma, CrossNuma, SameHost, Network, SameGpu, NvLink, Pcie };
inline constexpr int kLinkClasses = 7;
const char* toString(LinkClass c);
// How far apart a class puts two ranks, 0 (nearest) to 3 (Network), comparable among
// the classes of one kind of buffer: the slowest link of a pattern is the farthest.
int farness(LinkClass c);

struct LinkCost {
  double latencyUs = 1.0;  // per message, one way
  double gbPerSec = 10.0;  // sustained, one direction (1 GB/s = 1000 bytes/us)
};

// Where a rank runs; two ranks' placements give the class of the link between them.
struct RankPlacement {
  int node = 0;     // dense host index (see NodeLayout)
  int package = 0;  // socket, -1 when unknown
  int numa = 0;     // NUMA node, -1 when unknown
  int gpu = -1;     // the rank's GPU: index into its host's Topology::gpus, -1 when none or unknown
  int nvlinkDomain = -1;  // GPUs of a host with the same domain reach each other over NVLink; -1: none
  bool operator==(const RankPlacement&) const = default;
};
// Where a call's buffers are, which decides the classes of links it travels over.
enum class BufferSpace : std::uint8_t { Host, Gpu };
// The link between two ranks' host buffers.
LinkClass linkBetween(const RankPlacement& a, const RankPlacement& b);
// The link between two ranks' GPU buffers. Ranks of one host whose GPU is unknown are
// taken to be PCIe apart, the slowest path a GPU-to-GPU copy can take there.
LinkClass gpuLinkBetween(const RankPlacement& a, const RankPlacement& b);
inline LinkClass linkBetween(const RankPlacement& a, const RankPlacement& b, BufferSpace space) {
  return space == BufferSpace::Gpu ? gpuLinkBetween(a, b) : linkBetween(a, b);
}
// The nearest class of a space: ranks that share one memory (a NUMA node's, a GPU's).
inline LinkClass nearestLink(BufferSpace space) {
  return space == BufferSpace::Gpu ? LinkClass::SameGpu : LinkClass::SameNuma;
}

struct CostModel {
  std::array<LinkCost, kLinkClasses> links{};  // indexed by LinkClass
  double reduceGBps = 8.0;                      // bytes of one input consumed per ns
  double stepOverheadUs = 0.2;                  // executor cost of one plan step

  const LinkCost& link(LinkClass c) const { return links[static_cast<std::size_t>(c)]; }
  double messageUs(LinkClass c, std::size_t bytes) const {
    return link(c).latencyUs + static_cast<double>(bytes) / (link(c).gbPerSec * 1e3);
  }
  double reduceUs(std::size_t bytes) const { return static_cast<double>(bytes) / (reduceGBps * 1e3); }

  // Built-in values for a typical host with a 100 Gb/s network, and for GPU links:
  // HBM shared by the ranks of one GPU, NVLink 4 (18 links), PCIe 4 x16.
  static CostModel defaults();
};

}  // namespace braid
