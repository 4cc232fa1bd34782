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

// What the environment says about choosing, read once (before the peer table is
// gathered, so that the ranks compare what they will use: core/shared_settings.h).
struct TunerSettings {
  std::string tuningFile;        // BRAID_TUNING_FILE; "" for none
  std::optional<Tuning> tuning;  // its contents
  AlgoOverride overrides;        // BRAID_ALGO (or NCCL_ALGO)
  std::optional<std::size_t> userSlice;  // BRAID_CHUNK, when set
};
// Throws InvalidArgument naming the setting (and the rank, when `rank` >= 0) when
// BRAID_ALGO or the tuning file is bad or cannot be read.
TunerSettings readTunerSettings(int rank);

// The cost models a tuner prices calls with: the tuning file's as written, else the
// built-in costs with `speeds`.
struct CostModels {
  CostModel host;                      // calls whose data moves through host memory
  CostModel gpu;                       // calls that run on the GPUs
  std::vector<MeasuredTime> measured;  // the tuning file's, for the host tuner
  std::string source;                  // where they came from, for reports
};
CostModels costModels(const TunerSettings& settings, const LinkSpeeds& speeds);

// The tuners from the gathered peer table: the ranks' placements, and links priced at
// the slowest speeds any rank's host reported.
AlgorithmChoice makeAlgorithmChoice(const std::vector<PeerInfo>& peers, const TunerSettings& settings);

// This process's part of the choice, for its PeerInfo: its package and NUMA node, the
// GPU at `gpuBusId` ("" for none) with its NVLink domain (-1 where unknown or spread),
// and its host's link speeds.
void describeRank(PeerInfo& me, const std::string& gpuBusId);

// The nccl-tests "size" of a call, which the tuner and BRAID_ALGO's ranges speak of.
std::size_t callBytes(Collective c, std::size_t count, std::size_t elemSize, int ranks);

}  // namespace braid
