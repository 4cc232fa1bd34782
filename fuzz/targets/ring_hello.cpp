// Whom a rank lets into the bootstrap ring. The first byte picks the predecessor and
// round it expects; the rest is what arrived on its ring listener.
#include "bootstrap/wire.h"
#include "fuzz_common.h"

using namespace braid;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  if (size < 1) return 0;
  int prev = data[0] % 4;
  std::uint32_t round = data[0] / 4 % 4;
  wire::Bytes bytes(data + 1, size - 1);
  bool early = true;
  for (std::size_t n = 1; n <= bytes.size() && n <= sizeof(wire::RingHello); ++n)
    early = early && wire::couldBeRingHello(bytes.first(n));
  auto hello = wire::parseRingHello(bytes, fuzz::kSecret, prev, round);
  if (hello) {
    FUZZ_CHECK(early);
    FUZZ_CHECK(hello.value->rank == prev && hello.value->round == round);
    FUZZ_CHECK(wire::sameSecret(hello.value->secret, fuzz::kSecret.data()));
  }
  return 0;
}
