#pragma once
// braid-probe's command line: one report (what to print) and the arguments it takes.
#include <optional>
#include <string>

namespace probe {

enum class Report { Topology, Transports, Decisions, Calibrate, Env, Version, Help };

struct Options {
  Report report = Report::Topology;
  bool json = false;                   // --topology: the JSON form instead of text
  bool markdown = false;               // --env: the README's table
  std::optional<std::string> topoFile; // --topo FILE: pose as that machine
  std::string tuningFile;              // --calibrate FILE: where the measured model goes
  int ranks = 8;
  std::optional<int> ranksPerNode;     // unset: every rank on one node
};

extern const char* const kUsage;

// Throws std::invalid_argument naming the offending argument.
Options parseOptions(int argc, char** argv);

}  // namespace probe
