#include "options.h"

#include <cstring>
#include <stdexcept>
#include <string_view>

namespace probe {

const char* const kUsage =
    "usage: braid-probe [--topology] [--json] [--topo FILE]\n"
    "       braid-probe --transports [--ranks N] [--ranks-per-node L] [--topo FILE]\n"
    "       braid-probe --decisions [--ranks N] [--ranks-per-node L] [--topo FILE]\n"
    "       braidrun -n N braid-probe --calibrate FILE\n"
    "       braid-probe --env [--markdown] | --version | --help\n"
    "  --topology        this machine's topology (the default report); BRAID_TOPO_FILE honoured\n"
    "  --json            print the topology as JSON (the format BRAID_TOPO_FILE reads)\n"
    "  --topo FILE       use the topology in FILE instead of this machine\n"
    "  --transports      the transport and link class of each pair of ranks, as modelled;\n"
    "                    under braidrun, the transport each rank really uses to each peer\n"
    "  --decisions       the tuner's choice per collective and size, with the runner-up\n"
    "                    (BRAID_TUNING_FILE, BRAID_ALGO and BRAID_CHUNK honoured)\n"
    "  --ranks N         ranks to model (default 8)\n"
    "  --ranks-per-node L\n"
    "                    ranks per node (default: all on one node); a node's ranks are\n"
    "                    spread round-robin over the topology's NUMA nodes\n"
    "  --calibrate FILE  measure latency, bandwidth and reduction speed between ranks 0\n"
    "                    and 1, and each algorithm's time on this job (8 B to 1 MiB),\n"
    "                    and write them as a tuning file (for BRAID_TUNING_FILE)\n"
    "  --env             every BRAID_* setting: value in force, its source, description\n"
    "  --markdown        print the settings as the README's table (defaults, no values)\n";

namespace {

int positive(std::string_view flag, const char* text) {
  std::size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || text[used] != '\0' || n <= 0)
    throw std::invalid_argument(std::string(flag) + ": '" + text + "' is not a positive integer");
  return n;
}

}  // namespace

Options parseOptions(int argc, char** argv) {
  Options o;
  const char* reportFlag = nullptr;  // the flag that chose the report, to name a clash
  auto choose = [&](Report r, const char* flag) {
    if (reportFlag && o.report != r)
      throw std::invalid_argument(std::string(flag) + " cannot be combined with " + reportFlag);
    o.report = r;
    reportFlag = flag;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) throw std::invalid_argument(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--topology") choose(Report::Topology, argv[i]);
    else if (arg == "--json") o.json = true;
    else if (arg == "--topo") o.topoFile = value();
    else if (arg == "--transports") choose(Report::Transports, argv[i]);
    else if (arg == "--decisions") choose(Report::Decisions, argv[i]);
    else if (arg == "--ranks") o.ranks = positive(arg, value());
    else if (arg == "--ranks-per-node") o.ranksPerNode = positive(arg, value());
    else if (arg == "--calibrate") {
      choose(Report::Calibrate, argv[i]);
      o.tuningFile = value();
    } else if (arg == "--env") choose(Report::Env, argv[i]);
    else if (arg == "--markdown") o.markdown = true;
    else if (arg == "--version") choose(Report::Version, argv[i]);
    else if (arg == "--help" || arg == "-h") choose(Report::Help, argv[i]);
    else throw std::invalid_argument("unknown argument '" + std::string(arg) + "'");
  }
  if (o.markdown && o.report != Report::Env) throw std::invalid_argument("--markdown only goes with --env");
  if (o.json && o.report != Report::Topology) throw std::invalid_argument("--json only goes with --topology");
  if (o.ranksPerNode && *o.ranksPerNode > o.ranks)
    throw std::invalid_argument("--ranks-per-node " + std::to_string(*o.ranksPerNode) + " exceeds --ranks " +
                                std::to_string(o.ranks));
  return o;
}

}  // namespace probe
