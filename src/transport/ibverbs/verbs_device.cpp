#ifdef BRAID_HAVE_IBVERBS
#include "transport/ibverbs/verbs_device.h"

#include "core/env.h"
#include "transport/ibverbs/gid_select.h"

#include <braid/error.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace braid::verbs {
namespace {

constexpr int kAccess = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;

struct DeviceList {
  ibv_device** list = nullptr;
  int count = 0;
  ~DeviceList() {
    if (list) ibv_free_device_list(list);
  }
};

std::string portName(const std::string& device, int port) { return device + " port " + std::to_string(port); }

// The interface BRAID_SOCKET_IFNAME selects (its first name or prefix), so that the GID
// chosen is the one on the network the job's sockets use; "" for none or an exclusion.
std::string preferredInterface() {
  std::string spec = Env::get().socketIfname();
  if (spec.empty() || spec[0] == '^') return "";
  if (spec[0] == '=') spec.erase(0, 1);
  return spec.substr(0, spec.find(','));
}

}  // namespace

std::shared_ptr<VerbsDevice> VerbsDevice::open(const IbSettings& s, std::string& whyNone) {
  DeviceList devices;
  errno = 0;
  devices.list = ibv_get_device_list(&devices.count);
  if (!devices.list || devices.count == 0) {
    int err = errno;
    whyNone = "no RDMA device: ibv_get_device_list found none";
    if (err == ENOSYS) whyNone += " (the kernel has no RDMA support loaded: ib_uverbs)";
    else if (err != 0) whyNone += std::string(" (") + std::strerror(err) + ")";
    return nullptr;
  }
  std::string names, reasons;
  bool anyAccepted = false;
  for (int i = 0; i < devices.count; ++i) {
    const std::string name = ibv_get_device_name(devices.list[i]);
    names += (names.empty() ? "" : ", ") + name;
    if (!s.hca.mayUseDevice(name)) continue;
    ibv_context* ctx = ibv_open_device(devices.list[i]);
    if (!ctx) {
      reasons += (reasons.empty() ? "" : "; ") + name + ": cannot open (" + std::strerror(errno) + ")";
      continue;
    }
    std::shared_ptr<VerbsDevice> dev(new VerbsDevice());
    dev->context_ = ctx;  // closed by the destructor unless kept
    dev->name_ = name;
    ibv_device_attr attr{};
    if (ibv_query_device(ctx, &attr) != 0) {
      reasons += (reasons.empty() ? "" : "; ") + name + ": ibv_query_device failed";
      continue;
    }
    for (int p = 1; p <= attr.phys_port_cnt; ++p) {
      if (!s.hca.accepts(name, p)) continue;
      anyAccepted = true;
      ibv_port_attr pa{};
      if (ibv_query_port(ctx, static_cast<std::uint8_t>(p), &pa) != 0) continue;
      auto note = [&](const std::string& why) {
        reasons += (reasons.empty() ? "" : "; ") + portName(name, p) + " " + why;
      };
      if (pa.state != IBV_PORT_ACTIVE) {
        note(std::string("is ") + ibv_port_state_str(pa.state));
        continue;
      }
      int gidIndex = 0;
      std::string why;
      if (pa.link_layer == IBV_LINK_LAYER_ETHERNET) {
        auto table = readGidTable("/sys/class/infiniband/" + name + "/ports/" + std::to_string(p), pa.gid_tbl_len);
        GidChoice c = s.gidIndex >= 0 ? checkForcedGid(table, s.gidIndex, portName(name, p))
                                      : chooseGid(table, preferredInterface());
        if (c.index < 0) {
          note(c.why);
          continue;
        }
        gidIndex = c.index;
        why = c.why;
      } else {
        if (pa.lid == 0) {
          note("has no LID (is a subnet manager running?)");
          continue;
        }
        if (s.gidIndex >= pa.gid_tbl_len)
          throw InvalidArgument("BRAID_IB_GID_INDEX=" + std::to_string(s.gidIndex) + " is past the GID table of " +
                                portName(name, p) + " (" + std::to_string(pa.gid_tbl_len) + " entries)");
        gidIndex = s.gidIndex >= 0 ? s.gidIndex : 0;
      }
      if (ibv_query_gid(ctx, static_cast<std::uint8_t>(p), gidIndex, &dev->gid_) != 0) {
        note("cannot read GID " + std::to_string(gidIndex));
        continue;
      }
      dev->pd_ = ibv_alloc_pd(ctx);
      if (!dev->pd_) {
        note(std::string("cannot allocate a protection domain (") + std::strerror(errno) + ")");
        continue;
      }
      dev->port_ = p;
      dev->attr_ = pa;
      dev->link_ = pa.link_layer == IBV_LINK_LAYER_ETHERNET ? LinkLayer::Ethernet : LinkLayer::InfiniBand;
      dev->gidIndex_ = gidIndex;
      dev->gidWhy_ = why;
      return dev;
    }
  }
  if (!s.hca.empty() && !anyAccepted)
    throw InvalidArgument("BRAID_IB_HCA='" + s.hcaText + "' matches no port of the RDMA devices here (" + names + ")");
  whyNone = "no usable RDMA port (" + (reasons.empty() ? std::string("devices: ") + names : reasons) + ")";
  return nullptr;
}

VerbsDevice::~VerbsDevice() {
  if (pd_) ibv_dealloc_pd(pd_);
  if (context_) ibv_close_device(context_);
}

PortEndpoint VerbsDevice::endpoint(int qps) const {
  PortEndpoint e;
  e.usable = 1;
  e.linkLayer = link_;
  e.port = static_cast<std::uint8_t>(port_);
  e.activeMtu = static_cast<std::uint8_t>(attr_.active_mtu);
  e.lid = attr_.lid;
  e.gidIndex = static_cast<std::uint8_t>(gidIndex_);
  e.qps = static_cast<std::uint8_t>(qps);
  std::memcpy(e.gid.data(), gid_.raw, 16);
  std::strncpy(e.device, name_.c_str(), sizeof e.device - 1);
  return e;
}

std::string VerbsDevice::describe() const {
  std::string d = portName(name_, port_);
  if (link_ == LinkLayer::Ethernet) return d + " (RoCE, " + gidWhy_ + ")";
  return d + " (InfiniBand, LID " + std::to_string(attr_.lid) + ")";
}

Registration VerbsRegistrar::registerRegion(const MemoryRegion& region) {
  ibv_mr* mr = nullptr;
  void* addr = const_cast<void*>(region.addr);
  if (region.kind == MemoryKind::Host) {
    mr = ibv_reg_mr(device_->pd(), addr, region.bytes, kAccess);
  } else {
    mr = ibv_reg_dmabuf_mr(device_->pd(), region.dmabufOffset, region.bytes,
                           reinterpret_cast<std::uint64_t>(region.addr), region.dmabufFd, kAccess);
  }
  if (!mr)
    throw SystemError("ibverbs: registering " + std::to_string(region.bytes) + " bytes on " + device_->name() +
                      " failed: " + std::strerror(errno) + " (locked-memory limit, ulimit -l?)");
  Registration r;
  r.base = reinterpret_cast<std::uintptr_t>(region.addr);
  r.bytes = region.bytes;
  r.lkey = mr->lkey;
  r.rkey = mr->rkey;
  r.handle = mr;
  return r;
}

void VerbsRegistrar::deregister(const Registration& reg) {
  if (reg.handle) ibv_dereg_mr(static_cast<ibv_mr*>(reg.handle));
}

}  // namespace braid::verbs
#endif
