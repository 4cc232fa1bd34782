#pragma once
// Out-of-band rendezvous and collectives over TCP, used at init (all-gather of peer
// descriptions, barriers while transports connect) and for control messages.
//
// Rendezvous: ranks connect to the root named in the UniqueId, present the secret and
// their own listening address; the root answers each with everyone's address. Then
// each rank connects to the next rank, and all-gathers run around that ring. Every
// wait has a deadline (BRAID_TIMEOUT); every failure names the peer.
#include <braid/unique_id.h>

#include "core/deadline.h"
#include "core/socket.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace braid {

// The fields packed into a UniqueId's 128 bytes.
struct RootInfo {
  SockAddr address;
  std::array<unsigned char, 16> secret{};
  static RootInfo decode(const UniqueId& id);  // throws InvalidArgument if malformed
  UniqueId encode() const;
};

// BRAID_SECRET's text: exactly 32 hex digits, else empty.
std::optional<std::array<unsigned char, 16>> parseSecretHex(std::string_view text);

// The rendezvous root: a background thread serving `rounds` communicator inits (0 =
// until stop()). braidrun keeps one for the whole job; UniqueId::create() starts one
// that serves a single init. A connection without the secret, with a malformed or
// oversized hello, or silent past its deadline is dropped and logged; it does not
// disturb ranks that join properly.
class BootstrapRoot {
 public:
  BootstrapRoot(const SockAddr& listenOn, const std::array<unsigned char, 16>& secret, int rounds);
  ~BootstrapRoot();
  RootInfo info() const { return info_; }
  void stop();
  // Detaches the thread so it outlives this object (UniqueId::create()); it ends by
  // itself after its rounds or when BRAID_TIMEOUT passes with nobody joining.
  void detach();
  struct State;  // shared with the thread, which may outlive this object

 private:
  std::shared_ptr<State> state_;
  RootInfo info_;
  std::thread thread_;
};

class Bootstrap {
 public:
  // Collective over `size` ranks. Throws on a bad secret, a size mismatch, or timeout.
  Bootstrap(const UniqueId& id, int rank, int size);
  ~Bootstrap();
  int rank() const { return rank_; }
  int size() const { return size_; }
  // Distinguishes communicators made from the same root (braidrun's serves many).
  const std::string& commTag() const { return commTag_; }
  const std::array<unsigned char, 16>& secret() const { return secret_; }

  // all[i*bytes ...] = rank i's `mine`. `all` holds size*bytes.
  void allGather(const void* mine, std::size_t bytes, void* all);
  void barrier();

 private:
  int rank_, size_;
  std::string commTag_;
  std::array<unsigned char, 16> secret_{};
  Socket next_, prev_;
};

}  // namespace braid
