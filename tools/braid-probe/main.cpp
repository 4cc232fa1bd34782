// braid-probe: what Braid sees on this machine: its topology, the transport between
// each pair of ranks, the tuner's decisions, calibrated link costs, and the settings.
#include "calibrate.h"
#include "decisions_report.h"
#include "env_report.h"
#include "options.h"
#include "topology_report.h"
#include "transports_report.h"

#include "core/env.h"

#include <braid/version.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace {

// Whether the report went through (false: it printed why not).
bool run(const probe::Options& o) {
  // Reports that act on the settings take none that a communicator would refuse.
  if (o.report != probe::Report::Env && o.report != probe::Report::Version && o.report != probe::Report::Help)
    braid::Env::get().requireValid(-1);
  switch (o.report) {
    case probe::Report::Topology: {
      const braid::Topology topo = probe::topologyInForce(o);
      if (o.json) std::printf("%s\n", braid::toJson(topo).c_str());
      else probe::printTopology(stdout, topo);
      return true;
    }
    case probe::Report::Transports:
      // BRAID_RANK is braidrun's launcher variable, not a setting: Env does not own it.
      if (std::getenv("BRAID_RANK")) probe::printTransportsInUse();
      else probe::printTransportModel(o);
      return true;
    case probe::Report::Decisions: probe::printDecisions(o); return true;
    case probe::Report::Calibrate: probe::calibrate(o.tuningFile); return true;
    case probe::Report::Env: return probe::printEnv(o.markdown);
    case probe::Report::Version:
      std::printf("braid %d.%d.%d\n", BRAID_VERSION_MAJOR, BRAID_VERSION_MINOR, BRAID_VERSION_PATCH);
      return true;
    case probe::Report::Help: std::fputs(probe::kUsage, stdout); return true;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  probe::Options options;
  try {
    options = probe::parseOptions(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "braid-probe: %s\n%s", e.what(), probe::kUsage);
    return 2;
  }
  try {
    if (!run(options)) return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "braid-probe: %s\n", e.what());
    return 1;
  }
  return 0;
}
