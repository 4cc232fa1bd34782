#pragma once
// The PeerInfo table that ranks all-gather at init, read back from the gathered bytes.
// Each entry was written by another process, so none is used before it is checked:
// its rank is the slot it arrived in, its strings end inside their arrays, and its
// numbers are in range. The transports' endpoint bytes inside stay opaque here; each
// transport parses its own (tcp/tcp_transport.h).
#include "bootstrap/wire.h"
#include "transport/transport.h"

#include <vector>

namespace braid {

// One entry, expected to be rank `rank`'s.
wire::Parsed<PeerInfo> parsePeerInfo(wire::Bytes bytes, int rank);

// The whole gathered table of `size` entries. Throws RemoteError naming the first rank
// whose entry is malformed (with `self`, the rank reading it, in the message).
std::vector<PeerInfo> decodePeerTable(wire::Bytes gathered, int size, int self);

}  // namespace braid
