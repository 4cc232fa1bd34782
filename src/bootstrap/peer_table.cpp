#include "bootstrap/peer_table.h"

#include <braid/error.h>

#include <cstring>

namespace braid {
namespace {

// NUMA, package and GPU ids come from the OS; far beyond any real machine means corruption.
constexpr int kMaxPlacementId = 1 << 16;
// GB/s; a petabyte per second is far beyond any link.
constexpr double kMaxGBps = 1e6;

bool terminated(const char* s, std::size_t cap) { return std::memchr(s, '\0', cap) != nullptr; }
// A terminated string that is printed as it came: no control characters, ASCII only.
bool printable(const char* s) {
  for (; *s; ++s)
    if (*s < 0x20 || *s > 0x7e) return false;
  return true;
}

}  // namespace

wire::Parsed<PeerInfo> parsePeerInfo(wire::Bytes bytes, int rank) {
  using P = wire::Parsed<PeerInfo>;
  if (bytes.size() != sizeof(PeerInfo)) return P::refuse("an entry of the wrong length");
  PeerInfo p;
  std::memcpy(static_cast<void*>(&p), bytes.data(), sizeof p);
  if (p.rank != rank) return P::refuse("an entry that names another rank");
  if (p.pid < 0) return P::refuse("a negative pid");
  if (!terminated(p.hostId, sizeof p.hostId)) return P::refuse("an unterminated host id");
  if (!terminated(p.hostName, sizeof p.hostName)) return P::refuse("an unterminated host name");
  if (p.package < -1 || p.package > kMaxPlacementId || p.numa < -1 || p.numa > kMaxPlacementId)
    return P::refuse("a package or NUMA node out of range");
  if (p.gpu < -1 || p.gpu > kMaxPlacementId || p.nvlinkDomain < -1 || p.nvlinkDomain > kMaxPlacementId)
    return P::refuse("a GPU or NVLink domain out of range");
  if (!(p.networkGBps >= 0 && p.networkGBps <= kMaxGBps) || !(p.nvlinkGBps >= 0 && p.nvlinkGBps <= kMaxGBps))
    return P::refuse("a link speed that is negative, not a number or beyond any link");
  if (p.checkLevel > 2 || p.cudaIpc > 1) return P::refuse("an unknown BRAID_CHECK level or BRAID_CUDA_IPC value");
  if (!terminated(p.setupError, sizeof p.setupError) || !printable(p.setupError))
    return P::refuse("a setup error that is not one line of printable text");
  return P{p};
}

std::vector<PeerInfo> decodePeerTable(wire::Bytes gathered, int size, int self) {
  if (size < 1 || gathered.size() != static_cast<std::size_t>(size) * sizeof(PeerInfo))
    throw RemoteError("rank " + std::to_string(self) + ": the gathered peer table has " +
                          std::to_string(gathered.size()) + " bytes, not " + std::to_string(size) + " entries",
                      ErrorContext{self, -1, "", "bootstrap"});
  std::vector<PeerInfo> out;
  out.reserve(static_cast<std::size_t>(size));
  for (int r = 0; r < size; ++r) {
    auto entry = parsePeerInfo(gathered.subspan(static_cast<std::size_t>(r) * sizeof(PeerInfo), sizeof(PeerInfo)), r);
    if (!entry)
      throw RemoteError("rank " + std::to_string(self) + ": rank " + std::to_string(r) +
                            " published a malformed peer description: " + entry.why,
                        ErrorContext{self, r, "", "bootstrap"});
    out.push_back(*entry.value);
  }
  return out;
}

}  // namespace braid
