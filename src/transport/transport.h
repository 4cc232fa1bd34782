#pragma once
// A Transport makes Connections. It publishes an endpoint (bytes every rank learns
// through the bootstrap all-gather), says from two peers' descriptions whether it can
// join them, and then connects a set of peers collectively. Transports are tried in
// priority order per peer (shm before tcp); BRAID_TRANSPORTS overrides the set.
// A new backend is one folder plus one line in registry.cpp.
#include "transport/connection.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace braid {

class Bootstrap;
class Doorbell;

// What one rank tells every other rank about itself at init. Fixed size, so that the
// all-gather is one flat buffer.
struct PeerInfo {
  static constexpr std::size_t kEndpointBytes = 256;
  static constexpr int kMaxTransports = 4;
  int rank = -1;
  int pid = 0;
  char hostId[128] = {};  // hostname + boot id, or BRAID_HOST_ID
  char hostName[64] = {};
  int package = -1, numa = -1;  // where this rank runs, for the tuner; -1 when unknown
  int gpu = -1, nvlinkDomain = -1;  // its GPU at init (RankPlacement); -1 when none or unknown
  double networkGBps = 0, nvlinkGBps = 0;  // its host's LinkSpeeds; 0 when unknown
  // Settings every rank must share (core/shared_settings.h): BRAID_CHECK, BRAID_CUDA_IPC,
  // digests of BRAID_ALGO and of the tuning file's contents (0: none), BRAID_CHUNK (0:
  // unset).
  std::uint64_t checkLevel = 0, cudaIpc = 0, algoDigest = 0, tuningDigest = 0, chunkBytes = 0;
  // Why this rank failed before the gather, one line of printable ASCII ("": it did not);
  // room for a setting's name, its value and why it was refused.
  char setupError[232] = {};
  std::array<std::array<unsigned char, kEndpointBytes>, kMaxTransports> endpoint{};
};
// Ranks all-gather it as bytes: a change of layout is a new bootstrap wire::kVersion.
static_assert(sizeof(PeerInfo) == 1528, "PeerInfo changed: raise wire::kVersion");

// Shared by all transports of one communicator during setup.
struct TransportContext {
  int rank = -1;
  int size = 0;
  std::string commTag;               // unique per communicator (from the unique id): names shm segments
  std::array<unsigned char, 16> secret{};  // every accepted connection must present it
  const std::vector<PeerInfo>* peers = nullptr;  // indexed by rank, after the all-gather
  Bootstrap* bootstrap = nullptr;
  Doorbell* doorbell = nullptr;      // this rank's doorbell, if a transport set one up
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual const char* name() const = 0;
  // Fills this rank's endpoint (<= PeerInfo::kEndpointBytes) before the all-gather.
  // May open listening sockets or shared memory that connect() uses later.
  virtual void publish(TransportContext& ctx, unsigned char* endpoint) = 0;
  virtual bool canConnect(const PeerInfo& self, const PeerInfo& peer) const = 0;
  // Collective: every rank calls it (with possibly no peers), in the same transport
  // order, so transports may use bootstrap barriers. `peers` are the ranks this rank
  // reaches through this transport; `endpointSlot` is where they published. Returns one
  // connection per peer, in the order of `peers`.
  virtual std::vector<std::unique_ptr<Connection>> connect(TransportContext& ctx, int endpointSlot,
                                                           const std::vector<int>& peers) = 0;
};

// The transports compiled in, in priority order.
std::vector<std::unique_ptr<Transport>> makeTransports();
std::unique_ptr<Transport> makeShmTransport();
std::unique_ptr<Transport> makeTcpTransport();

}  // namespace braid
