// The length word in front of each bootstrap all-gather block: the first eight bytes
// are what this rank expects, the rest what its predecessor sent.
#include "bootstrap/wire.h"
#include "fuzz_common.h"

#include <cstring>

using namespace braid;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  if (size < 8) return 0;
  std::uint64_t expected;
  std::memcpy(&expected, data, 8);
  auto len = wire::parseFrameLength(wire::Bytes(data + 8, size - 8), expected);
  if (len) FUZZ_CHECK(*len.value == expected && size == 16);
  return 0;
}
