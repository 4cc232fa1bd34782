#pragma once
// Messages of the rendezvous protocol, and the only code that reads them from bytes.
//
// Every parser here is a pure function over a byte span: no sockets, no allocation
// before a length is checked, no exceptions. Each says why it refused, so accept loops
// can log the reason and fuzz targets (fuzz/) can drive them with arbitrary input.
#include "core/socket.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <sys/socket.h>
#include <vector>

namespace braid::wire {

constexpr std::uint32_t kJoinMagic = 0x4252444a;   // "BRDJ"
constexpr std::uint32_t kReplyMagic = 0x42524452;  // "BRDR"
constexpr std::uint32_t kRingMagic = 0x42524447;   // "BRDG"
constexpr std::uint32_t kVersion = 2;  // 2: PeerInfo::setupError
constexpr int kMaxRanks = 1 << 20;

using Bytes = std::span<const unsigned char>;
using Secret = std::array<unsigned char, 16>;

struct Address {
  std::uint32_t length;
  sockaddr_storage storage;
};

struct JoinHello {
  std::uint32_t magic;
  std::uint32_t version;
  unsigned char secret[16];
  std::int32_t rank;
  std::int32_t size;
  Address listen;  // where this rank accepts its ring predecessor
};

enum class JoinStatus : std::int32_t { Ok = 0, SizeMismatch = 1, DuplicateRank = 2 };

struct JoinReply {
  std::uint32_t magic;
  JoinStatus status;
  std::int32_t size;      // the size the root holds for this round
  std::uint32_t round;    // distinguishes communicators made through one root
  // Followed, when status is Ok, by `size` Address entries.
};

struct RingHello {
  std::uint32_t magic;
  unsigned char secret[16];
  std::int32_t rank;
  std::uint32_t round;
};

// A parse result: the value, or a static text saying why the bytes were refused.
template <class T>
struct Parsed {
  std::optional<T> value;
  const char* why = "";
  explicit operator bool() const { return value.has_value(); }
  static Parsed refuse(const char* reason) { return Parsed{std::nullopt, reason}; }
};

// Compares in constant time: no early exit that tells a guesser how much matched.
bool sameSecret(const unsigned char* a, const unsigned char* b);

// Accept-loop helpers: whether the first bytes of a connection can still become a
// message of this kind, so garbage is dropped at its first word, not after a full read.
bool couldBeJoinHello(Bytes prefix);
bool couldBeRingHello(Bytes prefix);

// The root's view of a join: the whole hello, with the job's secret.
Parsed<JoinHello> parseJoinHello(Bytes bytes, const Secret& secret);
// A rank's view of the root's answer: the fixed reply (a size other than `size` with
// status Ok is refused), then the table of `size` listening addresses.
Parsed<JoinReply> parseJoinReply(Bytes bytes, int size);
Parsed<std::vector<SockAddr>> parseAddressTable(Bytes bytes, int size);
// Whom a rank accepts into the ring: its predecessor `prev` of round `round`.
Parsed<RingHello> parseRingHello(Bytes bytes, const Secret& secret, int prev, std::uint32_t round);
// The length word in front of each all-gather block: it must be the `expected` bytes
// this rank gathers (ranks that disagree on the call are caught, nothing is allocated).
Parsed<std::uint64_t> parseFrameLength(Bytes bytes, std::uint64_t expected);

// Reads a struct's bytes (the wire is this struct's layout on one ABI: all ranks of a
// job run the same build).
template <class T>
Bytes bytesOf(const T& value) {
  return Bytes(reinterpret_cast<const unsigned char*>(&value), sizeof value);
}

}  // namespace braid::wire
