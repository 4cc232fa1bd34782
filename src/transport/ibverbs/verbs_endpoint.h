#pragma once
// What a rank publishes about its RDMA port in its PeerInfo endpoint (all-gathered at
// init), and the per-queue-pair record swapped through the bootstrap at connect time.
// Both are read from other processes: parse, never trust.
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace braid::verbs {

enum class LinkLayer : std::uint8_t { None = 0, InfiniBand = 1, Ethernet = 2 };

struct PortEndpoint {
  static constexpr std::uint32_t kMagic = 0x42524456;  // "BRDV"
  std::uint32_t magic = kMagic;
  std::uint8_t usable = 0;  // 0: this rank has no usable device (reason in its log)
  LinkLayer linkLayer = LinkLayer::None;
  std::uint8_t port = 0;
  std::uint8_t activeMtu = 0;  // enum ibv_mtu
  std::uint16_t lid = 0;
  std::uint8_t gidIndex = 0;
  std::uint8_t qps = 0;  // BRAID_IB_QPS_PER_PEER of this rank
  std::array<std::uint8_t, 16> gid{};
  char device[64] = {};
};
static_assert(sizeof(PortEndpoint) <= 256, "must fit PeerInfo::kEndpointBytes");

inline void encodeEndpoint(const PortEndpoint& e, unsigned char* out) { std::memcpy(out, &e, sizeof e); }

// Empty when the bytes hold no endpoint of ours, or one that says "no device".
inline std::optional<PortEndpoint> parseEndpoint(const unsigned char* bytes) {
  PortEndpoint e;
  std::memcpy(static_cast<void*>(&e), bytes, sizeof e);
  if (e.magic != PortEndpoint::kMagic || !e.usable) return std::nullopt;
  if (e.linkLayer != LinkLayer::InfiniBand && e.linkLayer != LinkLayer::Ethernet) return std::nullopt;
  if (e.qps < 1 || e.qps > 16 || e.activeMtu < 1 || e.activeMtu > 5 || e.port == 0) return std::nullopt;
  e.device[sizeof e.device - 1] = '\0';
  return e;
}

// One queue pair of a rank towards one peer, as that peer needs it to connect.
struct QpRecord {
  std::uint32_t qpn = 0;  // 0: no queue pair (not a peer)
  std::uint32_t psn = 0;
  std::uint64_t ringAddr = 0;  // this lane's receive ring in the rank's memory
  std::uint32_t rkey = 0;
  std::uint32_t slots = 0;      // ring geometry, which both ends must agree on
  std::uint32_t slotBytes = 0;
  std::uint32_t reserved = 0;
};
static_assert(sizeof(QpRecord) == 32);

}  // namespace braid::verbs
