#pragma once
// Finding and opening the RDMA port this rank uses: the first ACTIVE port that
// BRAID_IB_HCA accepts, with its GID (RoCE) chosen as gid_select.h says. Only built
// when libibverbs was found (BRAID_HAVE_IBVERBS).
#ifdef BRAID_HAVE_IBVERBS
#include "transport/ibverbs/mr_cache.h"
#include "transport/ibverbs/verbs_endpoint.h"
#include "transport/ibverbs/verbs_settings.h"

#include <infiniband/verbs.h>

#include <memory>
#include <string>

namespace braid::verbs {

class VerbsDevice {
 public:
  // The device to use, or null with `whyNone` saying why there is none (no device, no
  // ACTIVE port). Throws InvalidArgument for a setting that names what does not exist
  // (BRAID_IB_HCA matching no device, BRAID_IB_GID_INDEX naming no GID).
  static std::shared_ptr<VerbsDevice> open(const IbSettings& settings, std::string& whyNone);
  ~VerbsDevice();
  VerbsDevice(const VerbsDevice&) = delete;
  VerbsDevice& operator=(const VerbsDevice&) = delete;

  PortEndpoint endpoint(int qps) const;
  // "rxe0 port 1 (RoCE, GID 1 ...)", for logs and errors.
  std::string describe() const;

  ibv_context* context() const { return context_; }
  ibv_pd* pd() const { return pd_; }
  int port() const { return port_; }
  LinkLayer linkLayer() const { return link_; }
  int gidIndex() const { return gidIndex_; }
  const ibv_port_attr& portAttr() const { return attr_; }
  const std::string& name() const { return name_; }

 private:
  VerbsDevice() = default;
  ibv_context* context_ = nullptr;
  ibv_pd* pd_ = nullptr;
  int port_ = 0;
  ibv_port_attr attr_{};
  LinkLayer link_ = LinkLayer::None;
  int gidIndex_ = 0;
  ibv_gid gid_{};
  std::string name_, gidWhy_;
};

// Registers host memory with ibv_reg_mr, and dma-buf memory (GPU buffers, later) with
// ibv_reg_dmabuf_mr, on one protection domain.
class VerbsRegistrar final : public Registrar {
 public:
  explicit VerbsRegistrar(std::shared_ptr<VerbsDevice> device) : device_(std::move(device)) {}
  Registration registerRegion(const MemoryRegion& region) override;
  void deregister(const Registration& reg) override;

 private:
  std::shared_ptr<VerbsDevice> device_;
};

}  // namespace braid::verbs
#endif
