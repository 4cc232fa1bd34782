#include "bootstrap/wire.h"

#include <cstring>

namespace braid::wire {
namespace {

// The first word of a message, from however many bytes have arrived (up to four).
bool prefixMatches(Bytes prefix, std::uint32_t magic) {
  unsigned char want[4];
  std::memcpy(want, &magic, 4);
  std::size_t n = prefix.size() < 4 ? prefix.size() : 4;
  return n == 0 || std::memcmp(prefix.data(), want, n) == 0;
}

template <class T>
bool readExact(Bytes bytes, T& out) {
  if (bytes.size() != sizeof(T)) return false;
  std::memcpy(&out, bytes.data(), sizeof(T));
  return true;
}

}  // namespace

bool sameSecret(const unsigned char* a, const unsigned char* b) {
  unsigned char diff = 0;
  for (int i = 0; i < 16; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool couldBeJoinHello(Bytes prefix) { return prefixMatches(prefix, kJoinMagic); }
bool couldBeRingHello(Bytes prefix) { return prefixMatches(prefix, kRingMagic); }

Parsed<JoinHello> parseJoinHello(Bytes bytes, const Secret& secret) {
  using P = Parsed<JoinHello>;
  JoinHello h;
  if (!readExact(bytes, h)) return P::refuse("a hello of the wrong length");
  if (h.magic != kJoinMagic) return P::refuse("not a Braid hello");
  if (h.version != kVersion) return P::refuse("another protocol version");
  if (!sameSecret(h.secret, secret.data())) return P::refuse("wrong secret");
  if (h.size < 1 || h.size > kMaxRanks) return P::refuse("size out of range");
  if (h.rank < 0 || h.rank >= h.size) return P::refuse("rank out of range");
  if (h.listen.length > sizeof h.listen.storage || !SockAddr::fromWire(&h.listen.storage, h.listen.length))
    return P::refuse("no usable listening address");
  return P{h};
}

Parsed<JoinReply> parseJoinReply(Bytes bytes, int size) {
  using P = Parsed<JoinReply>;
  JoinReply r;
  if (!readExact(bytes, r)) return P::refuse("a reply of the wrong length");
  if (r.magic != kReplyMagic) return P::refuse("not a Braid reply");
  switch (r.status) {
    case JoinStatus::Ok:
      if (r.size != size) return P::refuse("an accepted join with another size");
      return P{r};
    case JoinStatus::SizeMismatch:
      // The root names the size it holds; it is only ever printed, but must be sane.
      if (r.size < 1 || r.size > kMaxRanks) return P::refuse("a size mismatch naming an impossible size");
      return P{r};
    case JoinStatus::DuplicateRank:
      return P{r};
  }
  return P::refuse("an unknown join status");
}

Parsed<std::vector<SockAddr>> parseAddressTable(Bytes bytes, int size) {
  using P = Parsed<std::vector<SockAddr>>;
  if (size < 1 || size > kMaxRanks) return P::refuse("size out of range");
  if (bytes.size() != static_cast<std::size_t>(size) * sizeof(Address)) return P::refuse("a table of the wrong length");
  std::vector<SockAddr> out;
  out.reserve(static_cast<std::size_t>(size));
  for (int i = 0; i < size; ++i) {
    Address a;
    std::memcpy(&a, bytes.data() + static_cast<std::size_t>(i) * sizeof a, sizeof a);
    auto addr = a.length <= sizeof a.storage ? SockAddr::fromWire(&a.storage, a.length) : std::nullopt;
    if (!addr) return P::refuse("a table entry that is no usable address");
    out.push_back(*addr);
  }
  return P{std::move(out)};
}

Parsed<RingHello> parseRingHello(Bytes bytes, const Secret& secret, int prev, std::uint32_t round) {
  using P = Parsed<RingHello>;
  RingHello h;
  if (!readExact(bytes, h)) return P::refuse("a ring hello of the wrong length");
  if (h.magic != kRingMagic) return P::refuse("not a Braid ring hello");
  if (!sameSecret(h.secret, secret.data())) return P::refuse("wrong secret");
  if (h.rank != prev) return P::refuse("not the previous rank");
  if (h.round != round) return P::refuse("another communicator's round");
  return P{h};
}

Parsed<std::uint64_t> parseFrameLength(Bytes bytes, std::uint64_t expected) {
  using P = Parsed<std::uint64_t>;
  std::uint64_t len;
  if (!readExact(bytes, len)) return P::refuse("a length word of the wrong size");
  if (len != expected) return P::refuse("a block of another length (ranks disagree on the call)");
  return P{len};
}

}  // namespace braid::wire
