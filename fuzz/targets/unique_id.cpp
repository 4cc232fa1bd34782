// The unique id: its 128 bytes (RootInfo::decode) and its hex text (UniqueId::fromString,
// BRAID_SECRET's parseSecretHex). Whatever decodes must encode back to itself.
#include "bootstrap/bootstrap.h"
#include "fuzz_common.h"

#include <braid/error.h>

#include <cstring>
#include <string>

using namespace braid;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  UniqueId id;
  std::memcpy(id.bytes.data(), data, size < id.bytes.size() ? size : id.bytes.size());
  try {
    RootInfo info = RootInfo::decode(id);
    FUZZ_CHECK(info.address.port() != 0);
    RootInfo again = RootInfo::decode(info.encode());
    FUZZ_CHECK(again.address.length == info.address.length);
    FUZZ_CHECK(std::memcmp(&again.address.storage, &info.address.storage, info.address.length) == 0);
    FUZZ_CHECK(again.secret == info.secret);
  } catch (const InvalidArgument&) {
  }
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    UniqueId parsed = UniqueId::fromString(text);
    FUZZ_CHECK(text.size() == 256);
    // toString writes lower case; compare case-insensitively.
    std::string back = parsed.toString();
    for (std::size_t i = 0; i < back.size(); ++i)
      FUZZ_CHECK(back[i] == text[i] || (text[i] >= 'A' && text[i] <= 'F' && back[i] == text[i] - 'A' + 'a'));
  } catch (const InvalidArgument&) {
  }
  if (auto secret = parseSecretHex(text)) FUZZ_CHECK(text.size() == 32);
  return 0;
}
