#pragma once
// What choosing an algorithm per call needs, built once at init from every rank's
// PeerInfo: where the ranks live (nodes, packages, NUMA nodes, GPUs) and the tuners over
// the cost model (BRAID_TUNING_FILE, else the built-in costs with the job's link speeds)
// and BRAID_ALGO. The probed inputs come from the gathered peer table, never from this
// rank alone, so every rank builds the same tuners and chooses alike on any mix of hosts.
#include "algorithms/collective.h"
#include "topology/topology.h"
#include "topology/tuner.h"
#include "topology/tuning_file.h"
#include "transport/transport.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace braid {

struct AlgorithmChoice {
  std::shared_ptr<const NodeLayout> nodes;
  std::unique_ptr<Tuner> tuner;     // calls whose data moves through host memory
  std::unique_ptr<Tuner> gpuTuner;  // calls that run on the GPUs (same GPU, NVLink, PCIe)
};

// Throws InvalidArgument naming the rank and the setting when BRAID_ALGO or the tuning
// file is bad. The ranks' settings must agree (requireSharedSettings) before.
AlgorithmChoice makeAlgorithmChoice(const std::vector<PeerInfo>& peers, int rank);

// This process's part of the choice, for its PeerInfo: its package and NUMA node, the
// GPU at `gpuBusId` ("" for none) with its NVLink domain (-1 where unknown or spread),
// and its host's link speeds.
void describeRank(PeerInfo& me, const std::string& gpuBusId);

// What the environment says about choosing, parsed: the cost models (BRAID_TUNING_FILE's
// as written, else the built-in costs with `speeds`), BRAID_ALGO and BRAID_CHUNK.
// Throws InvalidArgument naming the setting, and the rank when `rank` >= 0.
struct TunerSettings {
  Tuning tuning;        // the host model and the file's measured times
  CostModel gpuModel;   // for calls that run on the GPUs
  std::string modelSource;  // where the models came from, for reports
  AlgoOverride overrides;
  std::optional<std::size_t> userSlice;  // BRAID_CHUNK, when set
};
TunerSettings tunerSettings(const LinkSpeeds& speeds, int rank);

// The nccl-tests "size" of a call, which the tuner and BRAID_ALGO's ranges speak of.
std::size_t callBytes(Collective c, std::size_t count, std::size_t elemSize, int ranks);

}  // namespace braid
