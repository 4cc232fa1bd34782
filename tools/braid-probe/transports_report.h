#pragma once
// --transports: which transport and link class join each pair of ranks.
#include "options.h"

namespace probe {

// The model, for --ranks/--ranks-per-node over the topology in force: same host -> the
// first transport of BRAID_TRANSPORTS that accepts two ranks of one host, else the first
// that accepts two hosts (the test the communicator itself makes).
void printTransportModel(const Options& o);

// Under a launcher: every rank builds a Communicator and rank 0 prints the transport
// each rank really uses to each peer. Collective.
void printTransportsInUse();

}  // namespace probe
