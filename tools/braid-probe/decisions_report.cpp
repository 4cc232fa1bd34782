#include "decisions_report.h"

#include "core/algorithm_choice.h"
#include "placements.h"
#include "topology/tuner.h"
#include "topology_report.h"

#include <braid/error.h>

#include <cstdio>
#include <string>
#include <vector>

namespace probe {
namespace {

constexpr std::size_t kSizes[] = {8, 1 << 10, 64 << 10, 1 << 20, 16 << 20, 256 << 20};
constexpr braid::Collective kCollectives[] = {braid::Collective::AllReduce,     braid::Collective::AllGather,
                                              braid::Collective::ReduceScatter, braid::Collective::Broadcast,
                                              braid::Collective::Reduce,        braid::Collective::AllToAll};

// 8 -> "8", 65536 -> "64K", as BRAID_ALGO writes sizes.
std::string sizeText(std::size_t bytes) {
  const char* suffix[] = {"", "K", "M", "G"};
  int s = 0;
  while (s < 3 && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++s;
  }
  return std::to_string(bytes) + suffix[s];
}

std::string sliceText(std::size_t slice, std::size_t bytes) { return slice >= bytes ? "whole" : sizeText(slice); }

// The link classes a space's calls travel over, nearest first.
constexpr braid::LinkClass kHostLinks[] = {braid::LinkClass::SameNuma, braid::LinkClass::CrossNuma,
                                           braid::LinkClass::SameHost, braid::LinkClass::Network};
constexpr braid::LinkClass kGpuLinks[] = {braid::LinkClass::SameGpu, braid::LinkClass::NvLink, braid::LinkClass::Pcie,
                                          braid::LinkClass::Network};

void printTable(const braid::Tuner& tuner, const braid::CostModel& model, const std::string& source,
                const braid::LinkClass (&links)[4]) {
  std::printf("# cost model: %s; reduce %.1f GB/s, step overhead %.2f us\n#", source.c_str(), model.reduceGBps,
              model.stepOverheadUs);
  for (braid::LinkClass cls : links)
    std::printf(" %s %.2f us %.1f GB/s%s", braid::toString(cls), model.link(cls).latencyUs, model.link(cls).gbPerSec,
                cls == links[3] ? "\n" : ";");
  std::printf("%-14s %6s  %-6s %6s %14s  %-9s %14s  %s\n", "collective", "size", "algo", "slice", "predicted_us",
              "runner-up", "runner_up_us", "reason");
  for (braid::Collective c : kCollectives)
    for (std::size_t bytes : kSizes) {
      const braid::Decision chosen = tuner.choose(c, bytes);
      std::string runnerUp = "-", runnerUpUs = "-";
      for (const braid::Decision& d : tuner.alternatives(c, bytes))
        if (d.algorithm != chosen.algorithm) {
          char us[32];
          std::snprintf(us, sizeof us, "%.1f", d.predictedUs);
          runnerUp = braid::toString(d.algorithm);
          runnerUpUs = us;
          break;
        }
      std::printf("%-14s %6s  %-6s %6s %14.1f  %-9s %14s  %s\n", braid::toString(c), sizeText(bytes).c_str(),
                  braid::toString(chosen.algorithm), sliceText(chosen.sliceBytes, bytes).c_str(), chosen.predictedUs,
                  runnerUp.c_str(), runnerUpUs.c_str(), chosen.reason);
    }
}

}  // namespace

void printDecisions(const Options& o) {
  const braid::Topology topo = topologyInForce(o);
  const int perNode = o.ranksPerNode.value_or(o.ranks);
  // As the communicator builds its tuners (core/algorithm_choice), with this topology's
  // link speeds (a job takes the slowest of its hosts').
  const braid::TunerSettings s = braid::readTunerSettings(-1);
  const braid::CostModels models = braid::costModels(s, braid::linkSpeedsOf(topo));
  const std::vector<braid::RankPlacement> placements = spreadPlacements(topo, o.ranks, perNode);
  const braid::Tuner tuner(models.host, placements, s.overrides, s.userSlice, models.measured);

  std::printf("# tuner decisions: %d ranks, %d per node (%d nodes), topology %s (%zu NUMA nodes)\n", o.ranks, perNode,
              (o.ranks + perNode - 1) / perNode, topo.hostName.c_str(), topo.numaNodes.size());
  printTable(tuner, models.host, models.source, kHostLinks);
  if (topo.gpus.empty()) return;
  // As the communicator prices calls that run on the GPUs (BRAID_CUDA_IPC=1).
  const braid::Tuner gpuTuner(models.gpu, placements, s.overrides, s.userSlice, {}, braid::BufferSpace::Gpu);
  std::printf("\n# calls on GPU buffers that run on the GPUs: rank r on GPU r mod %zu of its node\n",
              topo.gpus.size());
  printTable(gpuTuner, models.gpu, "the GPU model from " + models.source, kGpuLinks);
}

}  // namespace probe
