#include "topology/nic_sysfs.h"

#include <filesystem>
#include <fstream>

namespace braid {
namespace {

std::string firstLine(const std::filesystem::path& file) {
  std::string line;
  std::ifstream in(file);
  std::getline(in, line);
  return line;
}

}  // namespace

double netdevSpeedGbps(const std::string& ifname) {
  // Mb/s; virtual and down links report -1 or refuse the read (EINVAL).
  std::string text = firstLine("/sys/class/net/" + ifname + "/speed");
  try {
    long mbps = std::stol(text);
    return mbps > 0 ? static_cast<double>(mbps) / 1000.0 : 0.0;
  } catch (const std::exception&) {
    return 0.0;
  }
}

double parseRdmaRateGbps(const std::string& text) {
  try {
    double gbps = std::stod(text);
    return gbps > 0 ? gbps : 0.0;
  } catch (const std::exception&) {
    return 0.0;
  }
}

RdmaLink rdmaLink(const std::string& device) {
  RdmaLink best;
  std::error_code ec;
  std::filesystem::directory_iterator ports("/sys/class/infiniband/" + device + "/ports", ec);
  if (ec) return best;
  bool seenPort = false;
  for (const auto& port : ports) {
    double gbps = parseRdmaRateGbps(firstLine(port.path() / "rate"));
    // Any port gives the link layer even at unknown speed; a faster one replaces it.
    if (!seenPort || gbps > best.speedGbps) best = {gbps, firstLine(port.path() / "link_layer")};
    seenPort = true;
  }
  return best;
}

}  // namespace braid
