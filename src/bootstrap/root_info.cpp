// The unique id's 128 bytes and its hex text: pure functions, without sockets or the
// root, so that fuzz/ can drive them alone. A unique id arrives through environment
// variables and command lines, so nothing in it is trusted.
#include <braid/error.h>
#include <braid/unique_id.h>

#include "bootstrap/bootstrap.h"

#include <cstring>

namespace braid {
namespace {

// Layout of the 128 bytes: magic, version, address length, address, secret.
constexpr unsigned char kMagic[4] = {'B', 'R', 'I', 'D'};
constexpr std::size_t kAddrOffset = 8, kAddrBytes = 28, kSecretOffset = 40;

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::array<unsigned char, 16>> parseSecretHex(std::string_view text) {
  if (text.size() != 32) return std::nullopt;
  std::array<unsigned char, 16> s{};
  for (std::size_t i = 0; i < s.size(); ++i) {
    int hi = hexDigit(text[2 * i]), lo = hexDigit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    s[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return s;
}

RootInfo RootInfo::decode(const UniqueId& id) {
  const auto& b = id.bytes;
  if (std::memcmp(b.data(), kMagic, 4) != 0 || b[4] != 1)
    throw InvalidArgument("unique id: not made by Braid's UniqueId::create (bad magic or version)");
  std::size_t len = b[6] | (b[7] << 8);
  if (len > kAddrBytes) throw InvalidArgument("unique id: malformed root address");
  // Only an IPv4 or IPv6 address of exactly its length, with a port: anything else
  // would reach connect() and fail there with a less helpful message.
  auto address = SockAddr::fromWire(b.data() + kAddrOffset, len);
  if (!address) throw InvalidArgument("unique id: malformed root address");
  RootInfo r;
  r.address = *address;
  std::memcpy(r.secret.data(), b.data() + kSecretOffset, 16);
  return r;
}

UniqueId RootInfo::encode() const {
  if (address.length > kAddrBytes) throw InvalidArgument("root address too long for a unique id");
  UniqueId id;
  std::memcpy(id.bytes.data(), kMagic, 4);
  id.bytes[4] = 1;
  id.bytes[6] = static_cast<unsigned char>(address.length & 0xff);
  id.bytes[7] = static_cast<unsigned char>(address.length >> 8);
  std::memcpy(id.bytes.data() + kAddrOffset, &address.storage, address.length);
  std::memcpy(id.bytes.data() + kSecretOffset, secret.data(), 16);
  return id;
}

std::string UniqueId::toString() const {
  static const char* hex = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  return s;
}

UniqueId UniqueId::fromString(const std::string& text) {
  if (text.size() != 256) throw InvalidArgument("unique id text must be 256 hex digits, got " + std::to_string(text.size()));
  auto nibble = [&](char c) -> int {
    int d = hexDigit(c);
    if (d < 0) throw InvalidArgument("unique id text has a non-hex character");
    return d;
  };
  UniqueId id;
  for (std::size_t i = 0; i < id.bytes.size(); ++i)
    id.bytes[i] = static_cast<unsigned char>(nibble(text[2 * i]) << 4 | nibble(text[2 * i + 1]));
  return id;
}

}  // namespace braid
