#include "topology/nvlink_probe.h"

#include "core/log.h"

#include <dlfcn.h>

#include <algorithm>

namespace braid {

double nvlinkLaneGBps(unsigned version, int ccMajor) {
  constexpr int kBlackwell = 10;
  if (version == 0) return 0;
  if (version == 1) return 20;
  return version >= 7 || (version == 5 && ccMajor >= kBlackwell) ? 50 : 25;
}

void applyNvlinks(std::vector<Gpu>& gpus, const std::vector<GpuNvlinks>& reports) {
  // Each GPU's bus id, report and whether it has a lane to an NVSwitch, looked up once.
  const std::size_t n = gpus.size();
  std::vector<std::string> bus(n);
  std::vector<const GpuNvlinks*> report(n, nullptr);
  std::vector<bool> onSwitch(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    bus[i] = canonicalBusId(gpus[i].pciBusId);
    for (const GpuNvlinks& r : reports)
      if (!report[i] && canonicalBusId(r.busId) == bus[i]) report[i] = &r;
    onSwitch[i] = report[i] && std::any_of(report[i]->lanes.begin(), report[i]->lanes.end(),
                                           [](const NvlinkLane& l) { return l.remoteIsSwitch; });
  }
  for (std::size_t i = 0; i < n; ++i) {
    Gpu& g = gpus[i];
    g.nvlinkPeers.clear();
    g.nvlinkGBps = 0;
    if (!report[i]) continue;
    const auto& lanes = report[i]->lanes;
    for (const NvlinkLane& lane : lanes) g.nvlinkGBps += lane.gbps;
    for (std::size_t j = 0; j < n; ++j) {
      if (bus[j] == bus[i]) continue;
      const bool direct = std::any_of(lanes.begin(), lanes.end(), [&](const NvlinkLane& l) {
        return !l.remoteIsSwitch && canonicalBusId(l.remoteBusId) == bus[j];
      });
      if (direct || (onSwitch[i] && onSwitch[j])) g.nvlinkPeers.push_back(bus[j]);
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
  nvmlReturn (*capability)(nvmlDevice, int*, int*) = nullptr;             // and this

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
    find(capability, "nvmlDeviceGetCudaComputeCapability");
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
  int ccMajor = -1, ccMinor = -1;
  if (!nvml.capability || nvml.capability(dev, &ccMajor, &ccMinor) != kNvmlSuccess) ccMajor = -1;
  for (unsigned link = 0; link < kNvmlMaxLinks; ++link) {
    unsigned active = 0, version = 0, type = 0;
    NvmlPciInfo remote{};
    if (nvml.linkState(dev, link, &active) != kNvmlSuccess || active != kNvmlEnabled) continue;
    if (nvml.remotePci(dev, link, &remote) != kNvmlSuccess) continue;
    if (nvml.linkVersion(dev, link, &version) != kNvmlSuccess) version = 0;
    const bool toSwitch = nvml.remoteType && nvml.remoteType(dev, link, &type) == kNvmlSuccess && type == kNvmlLinkToSwitch;
    out.lanes.push_back({remote.busId, toSwitch, nvlinkLaneGBps(version, ccMajor)});
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
