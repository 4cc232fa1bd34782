// What the rest of Braid asks of a Topology: which one is in force, where this process
// runs, what links cost, and which GPU and NIC sit closest to a NUMA node.
#include "topology/topology.h"

#include "core/env.h"

#include <braid/error.h>
#include <sched.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <optional>

namespace braid {

const char* toString(NicKind k) { return k == NicKind::Rdma ? "rdma" : "netdev"; }

Topology currentTopology() {
  static std::mutex mutex;
  static std::optional<Topology> probed;  // the machine does not change under us
  static std::string loadedPath;
  static Topology loaded;

  // Read on every call, not cached by Env: tests switch files between communicators.
  std::string path = Env::get().value("BRAID_TOPO_FILE");
  std::lock_guard<std::mutex> lock(mutex);
  if (!path.empty()) {
    if (path != loadedPath) {
      loaded = loadTopologyFile(path);
      loadedPath = path;
    }
    return loaded;
  }
  if (!probed) probed = probeTopology();
  return *probed;
}

std::vector<int> parseCpuList(const std::string& list, const std::string& what) {
  std::vector<int> cpus;
  std::size_t pos = 0;
  auto bad = [&] { return InvalidArgument(what + ": '" + list + "' is not a CPU list (e.g. 0-3,8)"); };
  auto number = [&] {
    if (pos >= list.size() || !std::isdigit(static_cast<unsigned char>(list[pos]))) throw bad();
    int n = 0;
    while (pos < list.size() && std::isdigit(static_cast<unsigned char>(list[pos]))) {
      if (n > 1'000'000) throw bad();  // far beyond any CPU count: a typo, not a machine
      n = n * 10 + (list[pos++] - '0');
    }
    return n;
  };
  if (list.empty()) return cpus;  // a memory-only NUMA node has no CPUs
  while (true) {
    int first = number(), last = first;
    if (pos < list.size() && list[pos] == '-') {
      ++pos;
      last = number();
      if (last < first) throw bad();
    }
    for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
    if (pos == list.size()) break;
    if (list[pos++] != ',') throw bad();
  }
  return cpus;
}

namespace {

// The one id whose CPU list holds every CPU in `cpus`; -1 when they span several ids
// or some CPU belongs to none.
template <class Item>
int commonOwner(const std::vector<Item>& items, const std::vector<int>& cpus, const char* what) {
  std::vector<std::vector<int>> cpusOf;
  for (const Item& item : items) cpusOf.push_back(parseCpuList(item.cpuset, what));
  int owner = -1;
  for (int cpu : cpus) {
    auto holder = std::find_if(cpusOf.begin(), cpusOf.end(), [&](const std::vector<int>& its) {
      return std::find(its.begin(), its.end(), cpu) != its.end();
    });
    if (holder == cpusOf.end()) return -1;
    int id = items[holder - cpusOf.begin()].id;
    if (owner != -1 && owner != id) return -1;
    owner = id;
  }
  return owner;
}

std::vector<int> affinityCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return {};
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

}  // namespace

RankPlacement placementOfCpus(const Topology& topo, const std::vector<int>& cpus) {
  RankPlacement p;
  p.package = cpus.empty() ? -1 : commonOwner(topo.packages, cpus, "package cpuset");
  p.numa = cpus.empty() ? -1 : commonOwner(topo.numaNodes, cpus, "NUMA node cpuset");
  return p;
}

RankPlacement placementOfThisProcess() { return placementOfCpus(currentTopology(), affinityCpus()); }

LinkSpeeds linkSpeedsOf(const Topology& topo) {
  LinkSpeeds s;
  for (const Nic& nic : topo.nics) s.networkGBps = std::max(s.networkGBps, nic.speedGbps / 8.0);
  for (const Gpu& g : topo.gpus)
    if (g.nvlinkGBps > 0 && (s.nvlinkGBps == 0 || g.nvlinkGBps < s.nvlinkGBps)) s.nvlinkGBps = g.nvlinkGBps;
  return s;
}

LinkSpeeds slowestOf(const std::vector<LinkSpeeds>& hosts) {
  auto slower = [](double a, double b) { return a > 0 && (b <= 0 || a < b) ? a : b; };
  LinkSpeeds job;
  for (const LinkSpeeds& h : hosts) {
    job.networkGBps = slower(h.networkGBps, job.networkGBps);
    job.nvlinkGBps = slower(h.nvlinkGBps, job.nvlinkGBps);
  }
  return job;
}

CostModel costModelFor(const LinkSpeeds& speeds) {
  CostModel model = CostModel::defaults();
  if (speeds.networkGBps > 0) model.links[static_cast<std::size_t>(LinkClass::Network)].gbPerSec = speeds.networkGBps;
  return model;
}

CostModel gpuCostModelFor(const LinkSpeeds& speeds, CostModel model) {
  if (speeds.nvlinkGBps > 0) model.links[static_cast<std::size_t>(LinkClass::NvLink)].gbPerSec = speeds.nvlinkGBps;
  // A GPU reduces at memory speed; a step's launch cost is in the links' latency.
  model.reduceGBps = model.link(LinkClass::SameGpu).gbPerSec;
  model.stepOverheadUs = 0;
  return model;
}

std::string canonicalBusId(const std::string& pciBusId) {
  // domain:bus:device.function, each field hex digits only, within its PCI width.
  unsigned long field[4] = {};
  const unsigned long limit[4] = {0xffffffff, 0xff, 0x1f, 7};
  const char separator[4] = {':', ':', '.', '\0'};
  std::size_t pos = 0;
  for (int f = 0; f < 4; ++f) {
    const std::size_t start = pos;
    while (pos < pciBusId.size() && std::isxdigit(static_cast<unsigned char>(pciBusId[pos])) && pos - start < 8) ++pos;
    if (pos == start) return pciBusId;
    field[f] = std::stoul(pciBusId.substr(start, pos - start), nullptr, 16);
    if (field[f] > limit[f]) return pciBusId;
    if (f < 3 && (pos >= pciBusId.size() || pciBusId[pos++] != separator[f])) return pciBusId;
  }
  if (pos != pciBusId.size() || field[0] > 0xffff) return pciBusId;
  char out[16];
  std::snprintf(out, sizeof out, "%04lx:%02lx:%02lx.%lx", field[0], field[1], field[2], field[3]);
  return out;
}

int gpuIndexOf(const Topology& topo, const std::string& pciBusId) {
  const std::string wanted = canonicalBusId(pciBusId);
  for (std::size_t i = 0; i < topo.gpus.size(); ++i)
    if (canonicalBusId(topo.gpus[i].pciBusId) == wanted) return static_cast<int>(i);
  return -1;
}

int nvlinkDomain(const Topology& topo, int gpu) {
  const int n = static_cast<int>(topo.gpus.size());
  if (gpu < 0 || gpu >= n) return -1;
  // A walk over the NVLink graph from `gpu`; links may be listed on one side only.
  std::vector<bool> seen(static_cast<std::size_t>(n), false);
  std::vector<int> todo{gpu};
  seen[static_cast<std::size_t>(gpu)] = true;
  int lowest = gpu, reached = 0;
  auto linked = [&](int a, int b) {
    const auto& peers = topo.gpus[static_cast<std::size_t>(a)].nvlinkPeers;
    const std::string bus = canonicalBusId(topo.gpus[static_cast<std::size_t>(b)].pciBusId);
    return std::any_of(peers.begin(), peers.end(), [&](const std::string& p) { return canonicalBusId(p) == bus; });
  };
  while (!todo.empty()) {
    const int a = todo.back();
    todo.pop_back();
    lowest = std::min(lowest, a);
    ++reached;
    for (int b = 0; b < n; ++b)
      if (!seen[static_cast<std::size_t>(b)] && (linked(a, b) || linked(b, a))) {
        seen[static_cast<std::size_t>(b)] = true;
        todo.push_back(b);
      }
  }
  return reached > 1 ? lowest : -1;
}

namespace {

int packageOfNuma(const Topology& topo, int numa) {
  for (const NumaNode& n : topo.numaNodes)
    if (n.id == numa) return n.package;
  return -1;
}

// 0 on the NUMA node itself, 1 on another node of its package, 2 elsewhere.
int distance(const Topology& topo, int numa, int deviceNuma) {
  if (numa >= 0 && deviceNuma == numa) return 0;
  int package = packageOfNuma(topo, numa);
  if (package >= 0 && deviceNuma >= 0 && packageOfNuma(topo, deviceNuma) == package) return 1;
  return 2;
}

// Index of the best device by `better`, -1 for none; the first wins ties.
template <class Device, class Better>
int bestIndex(const std::vector<Device>& devices, Better better) {
  int best = -1;
  for (int i = 0; i < static_cast<int>(devices.size()); ++i)
    if (best < 0 || better(devices[i], devices[best])) best = i;
  return best;
}

}  // namespace

int nearestNic(const Topology& topo, int numa) {
  return bestIndex(topo.nics, [&](const Nic& a, const Nic& b) {
    int da = distance(topo, numa, a.numa), db = distance(topo, numa, b.numa);
    if (da != db) return da < db;
    bool rdmaA = a.kind == NicKind::Rdma, rdmaB = b.kind == NicKind::Rdma;
    if (rdmaA != rdmaB) return rdmaA;
    return a.speedGbps > b.speedGbps;
  });
}

int nearestGpu(const Topology& topo, int numa) {
  return bestIndex(topo.gpus, [&](const Gpu& a, const Gpu& b) {
    return distance(topo, numa, a.numa) < distance(topo, numa, b.numa);
  });
}

}  // namespace braid
