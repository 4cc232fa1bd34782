#include "topology/nvlink_probe.h"

#include "core/log.h"

#include <dlfcn.h>

#include <algorithm>

namespace braid {

double nvlinkLaneGBps(unsigned version) {
  if (version == 0) return 0;
  if (version == 1) return 20;
  return version >= 7 ? 50 : 25;
}

void applyNvlinks(std::vector<Gpu>& gpus, const std::vector<GpuNvlinks>& reports) {
  auto reportOf = [&](const Gpu& g) -> const GpuNvlinks* {
    const std::string bus = canonicalBusId(g.pciBusId);
    for (const GpuNvlinks& r : reports)
      if (canonicalBusId(r.busId) == bus) return &r;
    return nullptr;
  };
  auto onSwitch = [&](const Gpu& g) {
    const GpuNvlinks* r = reportOf(g);
    return r && std::any_of(r->lanes.begin(), r->lanes.end(), [](const NvlinkLane& l) { return l.remoteIsSwitch; });
  };
  for (Gpu& g : gpus) {
    g.nvlinkPeers.clear();
    g.nvlinkGBps = 0;
    const GpuNvlinks* r = reportOf(g);
    if (!r) continue;
    for (const NvlinkLane& lane : r->lanes) g.nvlinkGBps += lane.gbps;
    const std::string self = canonicalBusId(g.pciBusId);
    for (const Gpu& other : gpus) {
      const std::string bus = canonicalBusId(other.pciBusId);
      if (bus == self) continue;
      const bool direct = std::any_of(r->lanes.begin(), r->lanes.end(), [&](const NvlinkLane& l) {
        return !l.remoteIsSwitch && canonicalBusId(l.remoteBusId) == bus;
      });
      if (direct || (onSwitch(g) && onSwitch(other))) g.nvlinkPeers.push_back(bus);
    }
  }
}

namespace {

// NVML's ABI, as its header declares it: facts we must match, not code.
using nvmlReturn = int;
using nvmlDevice = struct NvmlDeviceOpaque*;
constexpr nvmlReturn kNvmlSuccess = 0;
constexpr unsigned kNvmlMaxLinks = 18;  // NVML_NVLINK_MAX_LINKS (Hopper and Blackwell)
constexpr unsigned kNvmlEnabled = 1;    // NVML_FEATURE_ENABLED
constexpr unsigned kNvmlLinkToSwitch = 2;  // NVML_NVLINK_DEVICE_TYPE_SWITCH
struct NvmlPciInfo {                    // nvmlPciInfo_t (v2 and v3)
  char busIdLegacy[16];
  unsigned domain, bus, device, pciDeviceId, pciSubSystemId;
  char busId[32];
};

struct Nvml {
  void* lib = nullptr;
  nvmlReturn (*init)() = nullptr;
  nvmlReturn (*shutdown)() = nullptr;
  nvmlReturn (*count)(unsigned*) = nullptr;
  nvmlReturn (*handle)(unsigned, nvmlDevice*) = nullptr;
  nvmlReturn (*pci)(nvmlDevice, NvmlPciInfo*) = nullptr;
  nvmlReturn (*linkState)(nvmlDevice, unsigned, unsigned*) = nullptr;
  nvmlReturn (*linkVersion)(nvmlDevice, unsigned, unsigned*) = nullptr;
  nvmlReturn (*remotePci)(nvmlDevice, unsigned, NvmlPciInfo*) = nullptr;
  nvmlReturn (*remoteType)(nvmlDevice, unsigned, unsigned*) = nullptr;  // older drivers lack it

  template <class F>
  bool find(F& fn, const char* name) {
    fn = reinterpret_cast<F>(dlsym(lib, name));
    return fn != nullptr;
  }
  // Why NVML cannot be used, or "" when every required entry point is there.
  std::string open() {
    lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return "libnvidia-ml.so.1 not found";
    find(remoteType, "nvmlDeviceGetNvLinkRemoteDeviceType");
    if (!find(init, "nvmlInit_v2") || !find(shutdown, "nvmlShutdown") || !find(count, "nvmlDeviceGetCount_v2") ||
        !find(handle, "nvmlDeviceGetHandleByIndex_v2") || !find(pci, "nvmlDeviceGetPciInfo_v3") ||
        !find(linkState, "nvmlDeviceGetNvLinkState") || !find(linkVersion, "nvmlDeviceGetNvLinkVersion") ||
        !find(remotePci, "nvmlDeviceGetNvLinkRemotePciInfo_v2"))
      return "libnvidia-ml.so.1 lacks an NVLink entry point";
    return init() == kNvmlSuccess ? "" : "nvmlInit failed";
  }
};

GpuNvlinks lanesOf(Nvml& nvml, nvmlDevice dev) {
  GpuNvlinks out;
  NvmlPciInfo info{};
  if (nvml.pci(dev, &info) != kNvmlSuccess) return out;
  out.busId = info.busId;
  for (unsigned link = 0; link < kNvmlMaxLinks; ++link) {
    unsigned active = 0, version = 0, type = 0;
    NvmlPciInfo remote{};
    if (nvml.linkState(dev, link, &active) != kNvmlSuccess || active != kNvmlEnabled) continue;
    if (nvml.remotePci(dev, link, &remote) != kNvmlSuccess) continue;
    if (nvml.linkVersion(dev, link, &version) != kNvmlSuccess) version = 0;
    const bool toSwitch = nvml.remoteType && nvml.remoteType(dev, link, &type) == kNvmlSuccess && type == kNvmlLinkToSwitch;
    out.lanes.push_back({remote.busId, toSwitch, nvlinkLaneGBps(version)});
  }
  return out;
}

}  // namespace

std::vector<GpuNvlinks> readNvlinks() {
  Nvml nvml;
  const std::string why = nvml.open();
  std::vector<GpuNvlinks> out;
  if (why.empty()) {
    unsigned n = 0;
    if (nvml.count(&n) == kNvmlSuccess)
      for (unsigned i = 0; i < n; ++i) {
        nvmlDevice dev = nullptr;
        if (nvml.handle(i, &dev) == kNvmlSuccess) out.push_back(lanesOf(nvml, dev));
      }
    nvml.shutdown();
  } else {
    BRAID_INFO("no NVLink information: " + why);
  }
  if (nvml.lib) dlclose(nvml.lib);
  return out;
}

}  // namespace braid
