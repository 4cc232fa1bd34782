#pragma once
// What one host looks like to Braid: its identity, sockets, NUMA nodes, caches, and the
// GPUs and NICs with the NUMA node each hangs off. The probe fills it from hwloc and
// sysfs once; everything downstream (tuner, transports, braid-probe) reads this plain
// value, so a JSON file (BRAID_TOPO_FILE) can stand in for a machine we do not have.
#include "topology/cost_model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace braid {

struct Package {
  int id = 0;           // OS index (physical socket number)
  std::string model;    // CPU model string, "" when unknown
  std::string cpuset;   // CPUs in Linux list form, e.g. "0-27,56-83"
  bool operator==(const Package&) const = default;
};

struct NumaNode {
  int id = 0;                   // OS index, as numactl and /sys/devices/system/node name it
  int package = -1;             // the package holding it, -1 when none or several
  std::string cpuset;           // Linux list form; "" for memory-only nodes
  std::uint64_t memoryBytes = 0;
  bool operator==(const NumaNode&) const = default;
};

// Caches of the same shape are counted once: a 112-core host has one L1d entry with
// count 112, not 112 entries.
struct CacheLevel {
  int level = 0;             // 1, 2, 3, ...
  std::string type;          // "data", "instruction" or "unified"
  std::uint64_t sizeBytes = 0;
  int sharedByCores = 0;     // cores behind one instance of this cache
  int count = 0;             // instances on the host
  bool operator==(const CacheLevel&) const = default;
};

struct Gpu {
  std::string name;       // OS device name: cuda0, nvml0, card1, ...
  std::string pciBusId;   // "0000:18:00.0", "" when not on PCI
  int numa = -1;          // nearest NUMA node, -1 when unknown or several
  std::string model;      // e.g. "NVIDIA H100 80GB HBM3", "" when unknown
  // The GPUs of this host it reaches over NVLink, directly or through NVSwitches, by
  // PCI bus id, and its NVLink bandwidth (GB/s, one direction, all links); empty and 0
  // where it has none or NVML cannot say.
  std::vector<std::string> nvlinkPeers;
  double nvlinkGBps = 0;
  bool operator==(const Gpu&) const = default;
};

// A kernel network interface is reached through sockets; an RDMA device through verbs.
// One PCI function that is both (mlx5_0 with ib0) is one Nic of kind Rdma.
enum class NicKind : std::uint8_t { Netdev, Rdma };
const char* toString(NicKind k);

struct Nic {
  std::string name;        // eth0 for a Netdev, mlx5_0 for an Rdma device
  NicKind kind = NicKind::Netdev;
  std::string netdev;      // the kernel interface on the same PCI function, "" if none
  std::string pciBusId;    // "0000:18:00.0", "" when not on PCI
  int numa = -1;           // nearest NUMA node, -1 when unknown or several
  double speedGbps = 0;    // link speed in Gb/s, 0 when unknown (link down, virtual)
  std::string linkLayer;   // Rdma: "InfiniBand" or "Ethernet" (RoCE); Netdev: ""
  bool operator==(const Nic&) const = default;
};

struct Topology {
  std::string hostId;      // hostIdentity(): hostname + boot id, or BRAID_HOST_ID
  std::string hostName;
  int cores = 0;
  int pus = 0;             // hardware threads
  std::vector<Package> packages;
  std::vector<NumaNode> numaNodes;
  std::vector<CacheLevel> caches;
  std::vector<Gpu> gpus;
  std::vector<Nic> nics;
  bool operator==(const Topology&) const = default;
};

// Probes this machine with hwloc (I/O devices included) and sysfs. Costs tens of
// milliseconds; callers that need it more than once should use currentTopology().
Topology probeTopology();
// The topology in force: the file named by BRAID_TOPO_FILE when set, else this
// machine's probe. Both are cached (the file per path), so repeated calls are cheap.
Topology currentTopology();

// JSON form, for braid-probe and BRAID_TOPO_FILE. Loading is strict: a missing,
// mistyped or unknown field throws InvalidArgument naming it (e.g. "nics[3].numa").
std::string toJson(const Topology& topo);
Topology topologyFromJson(const std::string& json);
Topology loadTopologyFile(const std::string& path);

// "0-3,8,10-11" -> {0,1,2,3,8,10,11}; throws InvalidArgument naming `what` on bad text.
std::vector<int> parseCpuList(const std::string& list, const std::string& what);

// The package and NUMA node holding all of `cpus`; a field is -1 when the CPUs span
// several or none is known. `node` is left 0 for the caller to fill.
RankPlacement placementOfCpus(const Topology& topo, const std::vector<int>& cpus);
// The same for the CPUs in this process's affinity mask, against currentTopology().
RankPlacement placementOfThisProcess();

// What a host's probe adds to the built-in link costs: its fastest NIC and its slowest
// GPU's NVLink, in GB/s; 0 where it found none.
struct LinkSpeeds {
  double networkGBps = 0;
  double nvlinkGBps = 0;
};
LinkSpeeds linkSpeedsOf(const Topology& topo);
// A job's speeds: per field the slowest that any host found (a ring runs at its slowest
// link), so every rank that combines the same list prices calls alike.
LinkSpeeds slowestOf(const std::vector<LinkSpeeds>& hosts);

// The cost model with these speeds where known; everything else keeps
// CostModel::defaults().
CostModel costModelFor(const LinkSpeeds& speeds);
// The model for calls that run on the GPUs, from the host's `model` (whose GPU link
// classes a tuning file may have set; pass no speeds to keep them): NVLink at
// `speeds.nvlinkGBps` where known, and a GPU's reduction and step costs.
CostModel gpuCostModelFor(const LinkSpeeds& speeds, CostModel model);

// GPUs joined by NVLink, directly or through others, share a domain: the lowest index
// into topo.gpus among them. -1 for a GPU without NVLink or an index out of range.
int nvlinkDomain(const Topology& topo, int gpu);
// Index into topo.gpus of the GPU at `pciBusId` (any case, 4- or 8-digit domain), -1
// when none.
int gpuIndexOf(const Topology& topo, const std::string& pciBusId);
// "00000000:3B:00.0" -> "0000:3b:00.0", as hwloc and sysfs write bus ids; text that is
// not a bus id comes back as it was.
std::string canonicalBusId(const std::string& pciBusId);

// Index into topo.nics / topo.gpus of the device closest to NUMA node `numa`: one on
// that node, else one on the same package, else any. Among NICs equally near, RDMA
// before netdev, then the fastest; otherwise the lowest index wins. -1 when none.
int nearestNic(const Topology& topo, int numa);
int nearestGpu(const Topology& topo, int numa);

}  // namespace braid
