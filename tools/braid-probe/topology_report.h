#pragma once
// The topology braid-probe reports on, and its text form.
#include "options.h"
#include "topology/topology.h"

#include <cstdio>

namespace probe {

// --topo FILE when given, else currentTopology() (BRAID_TOPO_FILE or this machine).
// Errors name the file and the setting or flag that named it.
braid::Topology topologyInForce(const Options& o);

void printTopology(std::FILE* out, const braid::Topology& topo);

}  // namespace probe
