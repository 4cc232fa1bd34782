// The tcp transport's endpoint (a rank's listening address) as published in PeerInfo.
// Whatever parses must encode back to bytes that parse to the same address.
#include "fuzz_common.h"
#include "transport/tcp/tcp_transport.h"
#include "transport/transport.h"

#include <cstring>

using namespace braid;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  auto addr = tcp::parseEndpoint(wire::Bytes(data, size));
  if (!addr) return 0;
  FUZZ_CHECK(addr->port() != 0);
  unsigned char again[PeerInfo::kEndpointBytes] = {};
  tcp::encodeEndpoint(*addr, again);
  auto back = tcp::parseEndpoint(wire::Bytes(again, sizeof again));
  FUZZ_CHECK(back && back->length == addr->length && back->toString() == addr->toString());
  return 0;
}
