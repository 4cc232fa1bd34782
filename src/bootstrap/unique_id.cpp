#include <braid/error.h>
#include <braid/unique_id.h>

#include "bootstrap/bootstrap.h"
#include "core/env.h"

#include <sys/random.h>

#include <cstring>

namespace braid {
namespace {

// Layout of the 128 bytes: magic, version, address length, address, secret.
constexpr unsigned char kMagic[4] = {'B', 'R', 'I', 'D'};
constexpr std::size_t kAddrOffset = 8, kAddrBytes = 28, kSecretOffset = 40;

std::array<unsigned char, 16> randomSecret() {
  std::array<unsigned char, 16> s{};
  std::size_t got = 0;
  while (got < s.size()) {
    ssize_t n = getrandom(s.data() + got, s.size() - got, 0);
    if (n < 0) throw SystemError("getrandom failed");
    got += static_cast<std::size_t>(n);
  }
  return s;
}

}  // namespace

RootInfo RootInfo::decode(const UniqueId& id) {
  const auto& b = id.bytes;
  if (std::memcmp(b.data(), kMagic, 4) != 0 || b[4] != 1)
    throw InvalidArgument("unique id: not made by Braid's UniqueId::create (bad magic or version)");
  std::size_t len = b[6] | (b[7] << 8);
  if (len == 0 || len > kAddrBytes) throw InvalidArgument("unique id: malformed root address");
  RootInfo r;
  std::memcpy(&r.address.storage, b.data() + kAddrOffset, len);
  r.address.length = static_cast<socklen_t>(len);
  auto family = r.address.storage.ss_family;
  if (family != AF_INET && family != AF_INET6) throw InvalidArgument("unique id: malformed root address family");
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

UniqueId UniqueId::create() { return createAt(""); }

UniqueId UniqueId::createAt(const std::string& hostPort) {
  SockAddr where = hostPort.empty() ? chooseInterfaceAddress(Env::get().socketIfname()) : SockAddr::parse(hostPort);
  // The root serves this one init, then its thread ends by itself.
  BootstrapRoot root(where, randomSecret(), 1);
  UniqueId id = root.info().encode();
  root.detach();
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
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw InvalidArgument("unique id text has a non-hex character");
  };
  UniqueId id;
  for (std::size_t i = 0; i < id.bytes.size(); ++i)
    id.bytes[i] = static_cast<unsigned char>(nibble(text[2 * i]) << 4 | nibble(text[2 * i + 1]));
  return id;
}

}  // namespace braid
