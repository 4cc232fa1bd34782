// The hello on each socket a peer opens to a rank's tcp listener. The first byte picks
// the accepting rank, the size and K; the rest is what arrived.
#include "fuzz_common.h"
#include "transport/tcp/tcp_transport.h"

using namespace braid;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  if (size < 1) return 0;
  tcp::HelloExpectation e;
  e.size = 2 + data[0] % 4;
  e.self = data[0] / 4 % e.size;
  e.sockets = 1 + data[0] / 16 % 4;
  e.tagHash = 0x0123456789abcdefull;
  e.secret = fuzz::kSecret.data();
  wire::Bytes bytes(data + 1, size - 1);
  bool early = true;
  for (std::size_t n = 1; n <= bytes.size() && n <= sizeof(tcp::Hello); ++n) early = early && tcp::couldBeHello(bytes.first(n));
  tcp::HelloCheck c = tcp::checkHello(bytes, e);
  if (c.verdict == tcp::HelloVerdict::Drop) {
    FUZZ_CHECK(!c.why.empty());
    return 0;
  }
  FUZZ_CHECK(early);
  FUZZ_CHECK(c.hello.rank > e.self && c.hello.rank < e.size);
  if (c.verdict == tcp::HelloVerdict::Accept) FUZZ_CHECK(c.hello.index < static_cast<std::uint32_t>(e.sockets));
  return 0;
}
