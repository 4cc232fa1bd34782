// The root's view of a joining rank: the early first-word check on every prefix, then
// the whole hello. An accepted hello must satisfy everything the root relies on.
#include "bootstrap/wire.h"
#include "fuzz_common.h"

using namespace braid;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  wire::Bytes bytes(data, size);
  bool early = true;
  for (std::size_t n = 1; n <= size && n <= sizeof(wire::JoinHello); ++n) early = early && wire::couldBeJoinHello(bytes.first(n));
  auto hello = wire::parseJoinHello(bytes, fuzz::kSecret);
  if (hello) {
    const wire::JoinHello& h = *hello.value;
    FUZZ_CHECK(early);  // the early check never drops what the full parse accepts
    FUZZ_CHECK(h.size >= 1 && h.size <= wire::kMaxRanks);
    FUZZ_CHECK(h.rank >= 0 && h.rank < h.size);
    FUZZ_CHECK(SockAddr::fromWire(&h.listen.storage, h.listen.length).has_value());
  } else {
    FUZZ_CHECK(hello.why != nullptr && hello.why[0] != '\0');
  }
  return 0;
}
