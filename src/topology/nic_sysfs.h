#pragma once
// NIC link facts that hwloc does not report: speed and link layer, read from sysfs.
#include <string>

namespace braid {

// /sys/class/net/<ifname>/speed in Gb/s; 0 when unknown (link down, virtual device).
double netdevSpeedGbps(const std::string& ifname);

struct RdmaLink {
  double speedGbps = 0;   // 0 when no port reports a rate
  std::string linkLayer;  // "InfiniBand", "Ethernet" (RoCE), "" when unknown
};
// The fastest port of /sys/class/infiniband/<device>.
RdmaLink rdmaLink(const std::string& device);

// A port's rate file, "400 Gb/sec (4X NDR)" or "25 Gb/sec (1X EDR)", in Gb/s; 0 when
// the text does not start with a number.
double parseRdmaRateGbps(const std::string& text);

}  // namespace braid
