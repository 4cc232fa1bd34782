// braid-probe: what Braid sees on this machine: its topology, the transport between
// each pair of ranks, the tuner's decisions, calibrated link costs, and the settings.
#include "calibrate.h"
#include "decisions_report.h"
#include "env_report.h"
#include "options.h"
#include "topology_report.h"
#include "transports_report.h"

#include <braid/version.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace {

void run(const probe::Options& o) {
  switch (o.report) {
    case probe::Report::Topology: {
      const braid::Topology topo = probe::topologyInForce(o);
      if (o.json) std::printf("%s\n", braid::toJson(topo).c_str());
      else probe::printTopology(stdout, topo);
      return;
    }
    case probe::Report::Transports:
      // BRAID_RANK is braidrun's launcher variable, not a setting: Env does not own it.
      if (std::getenv("BRAID_RANK")) probe::printTransportsInUse();
      else probe::printTransportModel(o);
      return;
    case probe::Report::Decisions: probe::printDecisions(o); return;
    case probe::Report::Calibrate: probe::calibrate(o.tuningFile); return;
    case probe::Report::Env: probe::printEnv(o.markdown); return;
    case probe::Report::Version:
      std::printf("braid %d.%d.%d\n", BRAID_VERSION_MAJOR, BRAID_VERSION_MINOR, BRAID_VERSION_PATCH);
      return;
    case probe::Report::Help: std::fputs(probe::kUsage, stdout); return;
  }
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
    run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "braid-probe: %s\n", e.what());
    return 1;
  }
  return 0;
}
