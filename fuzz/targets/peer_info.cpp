// The PeerInfo table gathered at init: as many whole entries as the input holds (at
// least one), decoded as the communicator does, then every endpoint slot of every
// accepted entry through the tcp transport's endpoint parser.
#include "bootstrap/peer_table.h"
#include "fuzz_common.h"
#include "transport/tcp/tcp_transport.h"

#include <braid/error.h>

#include <cstring>

using namespace braid;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  wire::Bytes bytes(data, size);
  // A single entry, whatever its length (the parser must refuse wrong lengths).
  auto one = parsePeerInfo(bytes, 0);
  if (one) FUZZ_CHECK(size == sizeof(PeerInfo) && one.value->rank == 0);
  int ranks = static_cast<int>(size / sizeof(PeerInfo));
  if (ranks == 0) return 0;
  try {
    auto table = decodePeerTable(bytes.first(static_cast<std::size_t>(ranks) * sizeof(PeerInfo)), ranks, 0);
    FUZZ_CHECK(static_cast<int>(table.size()) == ranks);
    for (int r = 0; r < ranks; ++r) {
      const PeerInfo& p = table[static_cast<std::size_t>(r)];
      FUZZ_CHECK(p.rank == r);
      // What the communicator does with an entry: its strings as C strings.
      FUZZ_CHECK(std::strlen(p.hostId) < sizeof p.hostId && std::strlen(p.hostName) < sizeof p.hostName);
      // A peer's setup error is printed as it came: one line of printable ASCII.
      FUZZ_CHECK(std::strlen(p.setupError) < sizeof p.setupError);
      for (const char* c = p.setupError; *c; ++c) FUZZ_CHECK(*c >= 0x20 && *c <= 0x7e);
      // What the tuner prices with, and the settings it compares: in range.
      FUZZ_CHECK(p.networkGBps >= 0 && p.networkGBps <= 1e6 && p.nvlinkGBps >= 0 && p.nvlinkGBps <= 1e6);
      FUZZ_CHECK(p.checkLevel <= 2);
      for (const auto& slot : p.endpoint)
        if (auto a = tcp::parseEndpoint(slot)) FUZZ_CHECK(a->port() != 0);
    }
  } catch (const RemoteError&) {
  }
  return 0;
}
