#pragma once
// What choosing an algorithm per call needs, built once at init from every rank's
// PeerInfo: where the ranks live (nodes, packages, NUMA nodes) and the tuner over the
// cost model (BRAID_TUNING_FILE, else this machine's topology) and BRAID_ALGO.
#include "algorithms/collective.h"
#include "topology/tuner.h"
#include "transport/transport.h"

#include <memory>
#include <string>
#include <vector>

namespace braid {

struct AlgorithmChoice {
  std::shared_ptr<const NodeLayout> nodes;
  std::unique_ptr<Tuner> tuner;     // calls whose data moves through host memory
  std::unique_ptr<Tuner> gpuTuner;  // calls that run on the GPUs (same GPU, NVLink, PCIe)
};

// Throws InvalidArgument naming the rank and the setting when BRAID_ALGO or the tuning
// file is bad.
AlgorithmChoice makeAlgorithmChoice(const std::vector<PeerInfo>& peers, int rank);

// This process's package and NUMA node, and the GPU at `gpuBusId` ("" for none) with its
// NVLink domain, for its PeerInfo; -1 where unknown or spread.
void describePlacement(PeerInfo& me, const std::string& gpuBusId);

// The nccl-tests "size" of a call, which the tuner and BRAID_ALGO's ranges speak of.
std::size_t callBytes(Collective c, std::size_t count, std::size_t elemSize, int ranks);

}  // namespace braid
