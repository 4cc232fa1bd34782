#pragma once
// Messages of the rendezvous protocol. Everything a stranger could send is fixed-size
// or length-checked against a cap before anything is allocated.
#include <cstdint>
#include <sys/socket.h>

namespace braid::wire {

constexpr std::uint32_t kJoinMagic = 0x4252444a;   // "BRDJ"
constexpr std::uint32_t kReplyMagic = 0x42524452;  // "BRDR"
constexpr std::uint32_t kRingMagic = 0x42524447;   // "BRDG"
constexpr std::uint32_t kVersion = 1;
constexpr int kMaxRanks = 1 << 20;

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

}  // namespace braid::wire
