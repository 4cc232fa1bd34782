// A rank's view of the root's answer. The first byte picks the size this rank joined
// with (1..8), the next sizeof(JoinReply) bytes are the reply, the rest the table.
#include "bootstrap/wire.h"
#include "fuzz_common.h"

using namespace braid;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  if (size < 1) return 0;
  int ranks = 1 + data[0] % 8;
  wire::Bytes rest(data + 1, size - 1);
  std::size_t replyBytes = rest.size() < sizeof(wire::JoinReply) ? rest.size() : sizeof(wire::JoinReply);
  auto reply = wire::parseJoinReply(rest.first(replyBytes), ranks);
  if (reply && reply.value->status == wire::JoinStatus::Ok) FUZZ_CHECK(reply.value->size == ranks);
  auto table = wire::parseAddressTable(rest.subspan(replyBytes), ranks);
  if (table) {
    FUZZ_CHECK(table.value->size() == static_cast<std::size_t>(ranks));
    for (const SockAddr& a : *table.value) FUZZ_CHECK(a.port() != 0 && a.toString() != "<no address>");
  }
  return 0;
}
