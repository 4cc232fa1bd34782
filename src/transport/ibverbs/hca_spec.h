#pragma once
// BRAID_IB_HCA (alias NCCL_IB_HCA): which RDMA devices and ports the ibverbs transport
// may use, in NCCL's syntax so that existing job scripts keep working:
//   "mlx5"              devices whose name starts with mlx5, any port
//   "mlx5_0:1,mlx5_1"   port 1 of mlx5_0, and any port of mlx5_1 (prefixes)
//   "=mlx5_0"           exactly mlx5_0 (not mlx5_01)
//   "^mlx5_2"           every device but those starting with mlx5_2; "^=mlx5_2" exactly
// An empty spec accepts everything.
#include <string>
#include <vector>

namespace braid::verbs {

struct HcaSpec {
  struct Entry {
    std::string device;
    int port = -1;  // -1: any port
  };
  bool exclude = false;  // '^': the entries name what to leave out
  bool exact = false;    // '=': names must match whole, not as prefixes
  std::vector<Entry> entries;

  bool empty() const { return entries.empty(); }
  // Whether port `port` of device `device` may be used.
  bool accepts(const std::string& device, int port) const;
  // Whether any port of `device` could be accepted (to skip opening a device at all).
  bool mayUseDevice(const std::string& device) const;
};

// Throws InvalidArgument naming BRAID_IB_HCA when the text is malformed (an entry with
// no name, a port that is not a positive number).
HcaSpec parseHcaSpec(const std::string& text);

}  // namespace braid::verbs
