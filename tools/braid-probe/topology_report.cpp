#include "topology_report.h"

#include "core/env.h"

#include <braid/error.h>

#include <string>

namespace probe {
namespace {

std::string bytesText(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char text[32];
  std::snprintf(text, sizeof text, v == static_cast<double>(static_cast<std::uint64_t>(v)) ? "%.0f %s" : "%.1f %s", v,
                units[u]);
  return text;
}

std::string numaText(int numa) { return numa < 0 ? "?" : std::to_string(numa); }
std::string orUnknown(const std::string& s) { return s.empty() ? "?" : s; }

}  // namespace

braid::Topology topologyInForce(const Options& o) {
  if (o.topoFile) {
    try {
      return braid::loadTopologyFile(*o.topoFile);
    } catch (const std::exception& e) {
      throw braid::InvalidArgument(std::string("--topo: ") + e.what());  // e names the file
    }
  }
  try {
    return braid::currentTopology();
  } catch (const std::exception& e) {
    if (braid::Env::get().value("BRAID_TOPO_FILE").empty()) throw;
    throw braid::InvalidArgument(std::string("BRAID_TOPO_FILE: ") + e.what());  // e names the file
  }
}

void printTopology(std::FILE* out, const braid::Topology& t) {
  std::fprintf(out, "host %s (id %s): %d cores, %d hardware threads\n", t.hostName.c_str(), t.hostId.c_str(), t.cores,
               t.pus);
  std::fprintf(out, "packages: %zu\n", t.packages.size());
  for (const auto& p : t.packages)
    std::fprintf(out, "  package %d  cpus %s  %s\n", p.id, orUnknown(p.cpuset).c_str(), orUnknown(p.model).c_str());
  std::fprintf(out, "NUMA nodes: %zu\n", t.numaNodes.size());
  for (const auto& n : t.numaNodes)
    std::fprintf(out, "  numa %d  package %s  cpus %s  memory %s\n", n.id, numaText(n.package).c_str(),
                 n.cpuset.empty() ? "(none)" : n.cpuset.c_str(), bytesText(n.memoryBytes).c_str());
  std::fprintf(out, "caches:\n");
  for (const auto& c : t.caches)
    std::fprintf(out, "  L%d %-11s %10s  x%-4d shared by %d core(s)\n", c.level, c.type.c_str(),
                 bytesText(c.sizeBytes).c_str(), c.count, c.sharedByCores);
  std::fprintf(out, "GPUs: %zu\n", t.gpus.size());
  for (const auto& g : t.gpus) {
    char nvlink[64] = "no nvlink";
    if (!g.nvlinkPeers.empty())
      std::snprintf(nvlink, sizeof nvlink, "nvlink %g GB/s to %zu GPU(s)", g.nvlinkGBps, g.nvlinkPeers.size());
    std::fprintf(out, "  %-8s pci %s  numa %s  %s  %s\n", g.name.c_str(), orUnknown(g.pciBusId).c_str(),
                 numaText(g.numa).c_str(), orUnknown(g.model).c_str(), nvlink);
  }
  std::fprintf(out, "NICs: %zu\n", t.nics.size());
  for (const auto& n : t.nics) {
    char speed[32] = "speed ?";
    if (n.speedGbps > 0) std::snprintf(speed, sizeof speed, "%g Gb/s", n.speedGbps);
    std::fprintf(out, "  %-10s %-6s %-10s pci %s  numa %s  %s%s%s\n", n.name.c_str(), braid::toString(n.kind),
                 n.netdev == n.name ? "" : n.netdev.c_str(), orUnknown(n.pciBusId).c_str(), numaText(n.numa).c_str(), speed, n.linkLayer.empty() ? "" : "  ", n.linkLayer.c_str());
  }
}

}  // namespace probe
