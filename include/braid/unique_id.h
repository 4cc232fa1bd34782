#pragma once
#include <array>
#include <cstddef>
#include <string>

namespace braid {

/// The rendezvous token: the root's address and a random 128-bit secret, in 128 bytes
/// (the size of ncclUniqueId). Creating one starts the rendezvous root in the calling
/// process; it serves one communicator's initialisation and then stops (or stops when
/// BRAID_TIMEOUT passes with ranks still missing).
struct UniqueId {
  std::array<unsigned char, 128> bytes{};

  /// Starts a root listening on BRAID_SOCKET_IFNAME's address (or the first usable
  /// interface, loopback last) and returns its id.
  static UniqueId create();
  /// As create(), but listens on a given "host:port" (port 0 picks one).
  static UniqueId createAt(const std::string& hostPort);
  /// Hex text, for passing through environment variables and command lines.
  std::string toString() const;
  /// Parses toString()'s output; throws InvalidArgument on malformed text.
  static UniqueId fromString(const std::string& text);
};

}  // namespace braid
