#include "core/algorithm_choice.h"

#include "core/digest.h"
#include "core/env.h"
#include "core/log.h"
#include "braid/error.h"

#include <cstring>
#include <string>

namespace braid {

namespace {

// Ids from here on stand for GPUs the topology does not list (hwloc saw no PCI tree, as
// in some VMs): still one id per bus id, so ranks on one GPU know they share it.
constexpr int kUnlistedGpuIds = 1 << 15;

int gpuId(const Topology& topo, const std::string& busId) {
  const int listed = gpuIndexOf(topo, busId);
  if (listed >= 0) return listed;
  return kUnlistedGpuIds + static_cast<int>(fnv1a64(canonicalBusId(busId)) % kUnlistedGpuIds);
}

}  // namespace

void describeRank(PeerInfo& me, const std::string& gpuBusId) {
  try {
    const Topology topo = currentTopology();
    const LinkSpeeds speeds = linkSpeedsOf(topo);
    me.networkGBps = speeds.networkGBps;
    me.nvlinkGBps = speeds.nvlinkGBps;
    RankPlacement p = placementOfThisProcess();
    me.package = p.package;
    me.numa = p.numa;
    if (!gpuBusId.empty()) {
      me.gpu = gpuId(topo, gpuBusId);
      me.nvlinkDomain = nvlinkDomain(topo, me.gpu);
    }
  } catch (const std::exception& e) {
    // Placement only refines the cost model; a probe failure must not stop the job.
    BRAID_WARN(std::string("topology probe failed (") + e.what() + "); assuming all local ranks share one NUMA node, "
               "and this host's links as fast as the other hosts' (or the built-in costs)");
  }
}

TunerSettings readTunerSettings(int rank) {
  const Env& env = Env::get();
  auto fail = [&](const std::string& setting, const std::string& why) -> InvalidArgument {
    if (rank < 0) return InvalidArgument(setting + ": " + why);
    return InvalidArgument("rank " + std::to_string(rank) + ": " + setting + ": " + why, ErrorContext{rank, -1, "", ""});
  };
  TunerSettings s;
  s.tuningFile = env.value("BRAID_TUNING_FILE");
  if (!s.tuningFile.empty()) {
    try {
      s.tuning = loadTuning(s.tuningFile);
    } catch (const std::exception& e) {
      throw fail("BRAID_TUNING_FILE", e.what());
    }
  }
  try {
    s.overrides = AlgoOverride::parse(env.value("BRAID_ALGO"));
  } catch (const std::exception& e) {
    // The parser names BRAID_ALGO; the user may have set its alias, so name the source.
    std::string why = e.what();
    if (why.rfind("BRAID_ALGO: ", 0) == 0) why.erase(0, 12);
    throw fail(env.source("BRAID_ALGO"), why);
  }
  if (std::strcmp(env.source("BRAID_CHUNK"), "default") != 0) s.userSlice = env.chunkBytes();
  return s;
}

CostModels costModels(const TunerSettings& settings, const LinkSpeeds& speeds) {
  CostModels m;
  if (settings.tuning) {
    m.host = settings.tuning->model;
    m.measured = settings.tuning->measured;
    m.source = "BRAID_TUNING_FILE=" + settings.tuningFile;
  } else {
    m.host = costModelFor(speeds);
    m.source = "built-in costs with the link speeds found";
  }
  // A tuning file's link costs stand as written.
  m.gpu = gpuCostModelFor(settings.tuning ? LinkSpeeds{} : speeds, m.host);
  return m;
}

AlgorithmChoice makeAlgorithmChoice(const std::vector<PeerInfo>& peers, const TunerSettings& settings) {
  std::vector<std::string> hostOf;
  std::vector<LinkSpeeds> speeds;
  for (const PeerInfo& p : peers) {
    hostOf.emplace_back(p.hostId, strnlen(p.hostId, sizeof p.hostId));
    speeds.push_back({p.networkGBps, p.nvlinkGBps});
  }
  AlgorithmChoice choice;
  auto nodes = std::make_shared<NodeLayout>(NodeLayout::make(hostOf));
  std::vector<RankPlacement> placements;
  for (std::size_t r = 0; r < peers.size(); ++r)
    placements.push_back({nodes->nodeOfRank[r], peers[r].package, peers[r].numa, peers[r].gpu, peers[r].nvlinkDomain});
  choice.nodes = nodes;
  CostModels models = costModels(settings, slowestOf(speeds));
  // Measured times were taken on host buffers: they decide for the host tuner only.
  choice.gpuTuner = std::make_unique<Tuner>(models.gpu, placements, settings.overrides, settings.userSlice,
                                            std::vector<MeasuredTime>{}, BufferSpace::Gpu);
  choice.tuner = std::make_unique<Tuner>(models.host, std::move(placements), settings.overrides, settings.userSlice,
                                         std::move(models.measured));
  return choice;
}

std::size_t callBytes(Collective c, std::size_t count, std::size_t elemSize, int ranks) {
  switch (c) {
    case Collective::AllGather:
    case Collective::ReduceScatter:
    case Collective::AllToAll: return count * elemSize * static_cast<std::size_t>(ranks);
    default: return count * elemSize;
  }
}

}  // namespace braid
