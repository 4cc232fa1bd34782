#pragma once
// --decisions: the table the tuner would use for N ranks over the topology in force.
#include "options.h"

namespace probe {

// Throws braid::InvalidArgument naming BRAID_TUNING_FILE, BRAID_ALGO or --topo when
// one of them is bad.
void printDecisions(const Options& o);

}  // namespace probe
