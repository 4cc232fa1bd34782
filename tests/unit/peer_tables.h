#pragma once
// Peer tables for tests of what ranks decide from the gathered PeerInfo.
#include "transport/transport.h"

#include <vector>

namespace braid::testing {

// `n` entries, each naming its rank and nothing else.
inline std::vector<PeerInfo> blankPeerTable(int n) {
  std::vector<PeerInfo> peers(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) peers[static_cast<std::size_t>(r)].rank = r;
  return peers;
}

}  // namespace braid::testing
