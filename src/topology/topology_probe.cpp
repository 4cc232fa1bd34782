// probeTopology(): one hwloc pass that copies what Braid needs into the plain model,
// after which hwloc is freed; nothing else in Braid touches hwloc.
#include "core/host_identity.h"
#include "topology/nic_sysfs.h"
#include "topology/nvlink_probe.h"
#include "topology/topology.h"

#include <braid/error.h>
#include <hwloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <tuple>

namespace braid {
namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};
using HwlocTopology = std::unique_ptr<hwloc_topology, TopologyDeleter>;

HwlocTopology loadHwloc() {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) throw SystemError("hwloc_topology_init failed");
  HwlocTopology topo(raw);
  // PCI devices and their OS devices (GPUs, NICs) are filtered out by default.
  hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  // Instruction caches are dropped by default too; the model lists every cache.
  hwloc_topology_set_icache_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_ALL);
  if (hwloc_topology_load(raw) != 0) throw SystemError("hwloc_topology_load failed");
  return topo;
}

std::string cpuList(hwloc_const_bitmap_t set) {
  if (!set || hwloc_bitmap_iszero(set)) return "";
  char* text = nullptr;
  if (hwloc_bitmap_list_asprintf(&text, set) < 0) throw SystemError("hwloc_bitmap_list_asprintf failed");
  std::string out(text);
  std::free(text);
  return out;
}

std::string info(hwloc_obj_t obj, const char* name) {
  const char* v = obj ? hwloc_obj_get_info_by_name(obj, name) : nullptr;
  return v ? v : "";
}

int osIndex(hwloc_obj_t obj) {
  return obj->os_index == HWLOC_UNKNOWN_INDEX ? static_cast<int>(obj->logical_index)
                                              : static_cast<int>(obj->os_index);
}

void addPackages(hwloc_topology_t t, Topology& out) {
  for (hwloc_obj_t p = nullptr; (p = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PACKAGE, p));)
    out.packages.push_back({osIndex(p), info(p, "CPUModel"), cpuList(p->cpuset)});
  // Some VMs and ARM boards expose no package; the machine is then one socket.
  if (out.packages.empty()) {
    hwloc_obj_t root = hwloc_get_root_obj(t);
    out.packages.push_back({0, info(root, "CPUModel"), cpuList(root->cpuset)});
  }
}

void addNumaNodes(hwloc_topology_t t, Topology& out) {
  bool packageless = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE) == 0;
  for (hwloc_obj_t n = nullptr; (n = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, n));) {
    hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, n);
    int package = pkg ? osIndex(pkg) : (packageless ? 0 : -1);
    out.numaNodes.push_back({osIndex(n), package, cpuList(n->cpuset), n->attr->numanode.local_memory});
  }
}

const char* cacheTypeName(hwloc_obj_cache_type_e type) {
  switch (type) {
    case HWLOC_OBJ_CACHE_DATA: return "data";
    case HWLOC_OBJ_CACHE_INSTRUCTION: return "instruction";
    case HWLOC_OBJ_CACHE_UNIFIED: return "unified";
  }
  return "unified";
}

void addCaches(hwloc_topology_t t, Topology& out) {
  const hwloc_obj_type_t kinds[] = {HWLOC_OBJ_L1CACHE,  HWLOC_OBJ_L2CACHE,  HWLOC_OBJ_L3CACHE,
                                    HWLOC_OBJ_L4CACHE,  HWLOC_OBJ_L5CACHE,  HWLOC_OBJ_L1ICACHE,
                                    HWLOC_OBJ_L2ICACHE, HWLOC_OBJ_L3ICACHE};
  for (hwloc_obj_type_t kind : kinds)
    for (hwloc_obj_t c = nullptr; (c = hwloc_get_next_obj_by_type(t, kind, c));) {
      CacheLevel shape{static_cast<int>(c->attr->cache.depth), cacheTypeName(c->attr->cache.type),
                       c->attr->cache.size, hwloc_get_nbobjs_inside_cpuset_by_type(t, c->cpuset, HWLOC_OBJ_CORE),
                       0};
      auto same = std::find_if(out.caches.begin(), out.caches.end(), [&](const CacheLevel& k) {
        return k.level == shape.level && k.type == shape.type && k.sizeBytes == shape.sizeBytes &&
               k.sharedByCores == shape.sharedByCores;
      });
      if (same == out.caches.end()) same = out.caches.insert(out.caches.end(), shape);
      ++same->count;
    }
  std::sort(out.caches.begin(), out.caches.end(), [](const CacheLevel& a, const CacheLevel& b) {
    return std::tie(a.level, a.type, a.sizeBytes) < std::tie(b.level, b.type, b.sizeBytes);
  });
}

hwloc_obj_t pciDeviceOf(hwloc_obj_t osdev) {
  for (hwloc_obj_t p = osdev->parent; p; p = p->parent)
    if (p->type == HWLOC_OBJ_PCI_DEVICE) return p;
  return nullptr;
}

std::string busId(hwloc_obj_t pci) {
  const auto& a = pci->attr->pcidev;
  char text[32];
  std::snprintf(text, sizeof text, "%04x:%02x:%02x.%x", a.domain, a.bus, a.dev, a.func);
  return text;
}

// The single NUMA node local to a device; -1 when its attachment point spans several.
int numaOf(hwloc_topology_t t, hwloc_obj_t osdev) {
  hwloc_obj_t anchor = hwloc_get_non_io_ancestor_obj(t, osdev);
  if (!anchor || !anchor->nodeset || hwloc_bitmap_weight(anchor->nodeset) != 1) return -1;
  return hwloc_bitmap_first(anchor->nodeset);
}

bool isComputeGpuVendor(unsigned vendor) {
  // DRM also reports the display controllers of server BMCs (ASPEED, Matrox), which
  // cannot run collectives; only these vendors make GPUs that Braid may drive.
  return vendor == 0x10de /*NVIDIA*/ || vendor == 0x1002 /*AMD*/ || vendor == 0x8086 /*Intel*/;
}

// One GPU per PCI function, however many OS devices (card1, renderD128, cuda0, nvml0)
// the installed hwloc plugins report for it.
void addGpu(hwloc_topology_t t, hwloc_obj_t osdev, hwloc_obj_t pci, Topology& out) {
  if (!isComputeGpuVendor(pci->attr->pcidev.vendor_id)) return;
  std::string bus = busId(pci);
  auto gpu = std::find_if(out.gpus.begin(), out.gpus.end(), [&](const Gpu& g) { return g.pciBusId == bus; });
  if (gpu == out.gpus.end())
    gpu = out.gpus.insert(out.gpus.end(), Gpu{osdev->name, bus, numaOf(t, osdev), info(pci, "PCIDevice"), {}, 0});
  // CUDA's name (cudaN) is the device number a rank passes to cudaSetDevice.
  if (info(osdev, "Backend") == "CUDA") gpu->name = osdev->name;
  if (std::string model = info(osdev, "GPUModel"); !model.empty()) gpu->model = model;
}

// One NIC per PCI function: its verbs device if it has one, else its interface.
void addNic(hwloc_topology_t t, hwloc_obj_t osdev, hwloc_obj_t pci, Topology& out) {
  std::string bus = busId(pci);
  auto nic = std::find_if(out.nics.begin(), out.nics.end(), [&](const Nic& n) { return n.pciBusId == bus; });
  if (nic == out.nics.end()) {
    nic = out.nics.insert(out.nics.end(), Nic{});
    nic->pciBusId = bus;
    nic->numa = numaOf(t, osdev);
  }
  if (osdev->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS) {
    RdmaLink link = rdmaLink(osdev->name);
    nic->kind = NicKind::Rdma;
    nic->name = osdev->name;
    nic->linkLayer = link.linkLayer;
    if (link.speedGbps > 0) nic->speedGbps = link.speedGbps;
  } else {
    nic->netdev = osdev->name;
    if (nic->kind == NicKind::Netdev) nic->name = osdev->name;
    if (nic->speedGbps == 0) nic->speedGbps = netdevSpeedGbps(osdev->name);
  }
}

void addIoDevices(hwloc_topology_t t, Topology& out) {
  for (hwloc_obj_t d = nullptr; (d = hwloc_get_next_osdev(t, d));) {
    hwloc_obj_t pci = pciDeviceOf(d);
    if (!pci || !d->name) continue;  // virtual devices carry no hardware to place
    switch (d->attr->osdev.type) {
      case HWLOC_OBJ_OSDEV_GPU:
      case HWLOC_OBJ_OSDEV_COPROC: addGpu(t, d, pci, out); break;
      case HWLOC_OBJ_OSDEV_NETWORK:
      case HWLOC_OBJ_OSDEV_OPENFABRICS: addNic(t, d, pci, out); break;
      default: break;
    }
  }
}

}  // namespace

Topology probeTopology() {
  HwlocTopology topo = loadHwloc();
  hwloc_topology_t t = topo.get();
  Topology out;
  out.hostId = hostIdentity();
  out.hostName = hostName();
  out.pus = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
  out.cores = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
  if (out.cores == 0) out.cores = out.pus;  // platforms where hwloc sees threads only
  addPackages(t, out);
  addNumaNodes(t, out);
  addCaches(t, out);
  addIoDevices(t, out);
  if (!out.gpus.empty()) applyNvlinks(out.gpus, readNvlinks());
  return out;
}

}  // namespace braid
