#pragma once
// The shared-memory transport, for ranks on the same host (same PeerInfo::hostId).
//
// connect() is three phases separated by two barriers: every rank creates its own
// segment (it receives there), then maps the segments of its peers, then removes its
// segment's name, so that nothing is left in /dev/shm even if a process is later killed.
// The barriers come from the bootstrap; connectWith() takes them from the caller, so
// tests can run ranks as threads of one process.
#include "transport/transport.h"

#include <functional>
#include <memory>

namespace braid::shm {

class Segment;

class ShmTransport final : public Transport {
 public:
  ShmTransport();
  ~ShmTransport() override;

  const char* name() const override { return "shm"; }
  // Publishes nothing: a segment's name follows from the communicator tag and the rank.
  void publish(TransportContext& ctx, unsigned char* endpoint) override;
  bool canConnect(const PeerInfo& self, const PeerInfo& peer) const override;
  std::vector<std::unique_ptr<Connection>> connect(TransportContext& ctx, int endpointSlot,
                                                   const std::vector<int>& peers) override;

  // connect(), with `barrier` returning once every rank of the communicator has called
  // it as many times. Sets ctx.doorbell when `peers` is not empty; the Doorbell stays
  // valid while this transport or any connection it made exists. Once per transport.
  std::vector<std::unique_ptr<Connection>> connectWith(TransportContext& ctx, const std::vector<int>& peers,
                                                       const std::function<void()>& barrier);

 private:
  std::shared_ptr<Segment> own_;
  bool connected_ = false;
};

}  // namespace braid::shm
