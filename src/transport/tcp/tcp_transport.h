#pragma once
// What the tcp transport reads from other processes, as pure functions over bytes (the
// fuzz targets in fuzz/ drive them): the endpoint a rank publishes in its PeerInfo, and
// the hello that opens every socket a peer connects to us.
#include "bootstrap/wire.h"
#include "core/socket.h"
#include "transport/tcp/tcp_connection.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace braid::tcp {

// The endpoint is a SockAddr's bytes (listening address and its length).
inline void encodeEndpoint(const SockAddr& address, unsigned char* endpoint) {
  std::memcpy(endpoint, &address, sizeof address);
}

// The peer's listening address, or empty when the bytes hold no usable IP address.
inline std::optional<SockAddr> parseEndpoint(wire::Bytes endpoint) {
  if (endpoint.size() < sizeof(SockAddr)) return std::nullopt;
  SockAddr raw;
  std::memcpy(static_cast<void*>(&raw), endpoint.data(), sizeof raw);
  if (raw.length > sizeof raw.storage) return std::nullopt;
  return SockAddr::fromWire(&raw.storage, raw.length);
}

// What this rank expects of a hello.
struct HelloExpectation {
  int self = -1;  // the accepting rank: only higher ranks connect to it
  int size = 0;
  std::uint64_t tagHash = 0;
  const unsigned char* secret = nullptr;  // 16 bytes
  int sockets = 0;                        // this rank's BRAID_TCP_SOCKETS
};

enum class HelloVerdict {
  Accept,
  Drop,              // a stranger, or a connection for another communicator
  OtherSocketCount,  // one of ours started with another BRAID_TCP_SOCKETS: a setup error
};

struct HelloCheck {
  HelloVerdict verdict = HelloVerdict::Drop;
  Hello hello{};
  std::string why;  // for Drop
};

inline HelloCheck checkHello(wire::Bytes bytes, const HelloExpectation& e) {
  HelloCheck c;
  auto drop = [&](std::string why) {
    c.verdict = HelloVerdict::Drop;
    c.why = std::move(why);
    return c;
  };
  if (bytes.size() != sizeof(Hello)) return drop("a hello of the wrong length");
  std::memcpy(&c.hello, bytes.data(), sizeof c.hello);
  const Hello& h = c.hello;
  if (h.magic != Hello::kMagic) return drop("not a Braid tcp hello");
  if (!wire::sameSecret(h.secret, e.secret)) return drop("wrong secret");
  if (h.tagHash != e.tagHash) return drop("it belongs to another communicator");
  if (h.rank <= e.self || h.rank >= e.size)
    return drop("rank " + std::to_string(h.rank) + " is not a rank that connects to this one");
  // It holds the secret, so it is one of ours: a different K is a setup error to report.
  if (h.sockets != static_cast<std::uint32_t>(e.sockets)) {
    c.verdict = HelloVerdict::OtherSocketCount;
    return c;
  }
  if (h.index >= static_cast<std::uint32_t>(e.sockets))
    return drop("socket index " + std::to_string(h.index) + " out of range");
  c.verdict = HelloVerdict::Accept;
  return c;
}

// Whether a connection's first bytes can still become a hello.
inline bool couldBeHello(wire::Bytes prefix) {
  const std::uint32_t magic = Hello::kMagic;
  std::size_t n = prefix.size() < 4 ? prefix.size() : 4;
  return n == 0 || std::memcmp(prefix.data(), &magic, n) == 0;
}

}  // namespace braid::tcp
