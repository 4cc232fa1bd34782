#pragma once
// NVLink between the GPUs of this host, from NVML (libnvidia-ml.so.1, which the NVIDIA
// driver installs). NVML is opened at run time, so Braid builds and runs without it;
// hwloc (as Debian builds it) knows nothing of NVLink.
#include "topology/topology.h"

#include <string>
#include <vector>

namespace braid {

// One active NVLink of a GPU, as NVML reports it.
struct NvlinkLane {
  std::string remoteBusId;     // the GPU or NVSwitch at the other end
  bool remoteIsSwitch = false;
  double gbps = 0;             // one direction
};

struct GpuNvlinks {
  std::string busId;
  std::vector<NvlinkLane> lanes;  // active ones only
};

// One link's bandwidth (GB/s, one direction) for NVML's version number on a GPU of
// compute capability `ccMajor` (-1: unknown): NVLink 1 runs at 20, NVLink 2 to 4 at 25,
// NVLink 5 at 50. Drivers have numbered versions both as the major version (1-5) and as
// nvmlNvlinkVersion_t (2.2 = 3, 3.0 = 4, 3.1 = 5, 4.0 = 6, 5.0 = 7): 7 means NVLink 5,
// and so does 5 on a GPU new enough to have it (Blackwell, compute capability 10), where
// it cannot be the enum's 3.1.
double nvlinkLaneGBps(unsigned version, int ccMajor);

// Fills each GPU's nvlinkPeers and nvlinkGBps from `reports` (matched by bus id): a GPU
// reaches the GPUs at the far end of its lanes, and, when it has a lane to an NVSwitch,
// every other GPU that has one too (the switches of one host form one fabric).
void applyNvlinks(std::vector<Gpu>& gpus, const std::vector<GpuNvlinks>& reports);

// Every GPU's active lanes; empty where NVML is missing or fails (logged at INFO).
std::vector<GpuNvlinks> readNvlinks();

}  // namespace braid
