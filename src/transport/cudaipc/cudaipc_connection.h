#pragma once
// GPU to GPU between ranks on one host: a receiver reads its peer's chunk straight
// from the peer's GPU memory (CUDA IPC), copying or reducing it into its own on its
// own stream. No byte of payload crosses host memory.
//
// The bytes move by pull, so only small control messages travel, over the host
// connection the two ranks already have (shm, or tcp):
//   offer  sender -> receiver: "my n-th message is this exported range"
//   done   receiver -> sender: "I have finished reading your n-th message"
// A send completes at its done (until then the receiver may still read it), a receive
// when its copy or reduction has completed on the GPU. Both sides know how many
// control messages each run brings (one offer per message, one done per message), so
// the control connection is left with nothing posted at the end of a run and serves
// host-memory runs in between.
#include "transport/connection.h"
#include "transport/device_compute.h"

#include <deque>
#include <string>
#include <vector>

namespace braid {

class CudaIpcConnection final : public Connection {
 public:
  CudaIpcConnection(Connection& control, DeviceCompute& gpu);

  void postSend(const void* data, std::size_t bytes) override;
  void postRecv(const RecvTarget& target) override;
  bool progress() override;
  void addPollFds(std::vector<pollfd>& fds) const override;
  const char* transportName() const override { return "cudaipc"; }
  void checkPeer() const override { control_.checkPeer(); }
  std::string wireState() const override;
  void postNotice(const FailureNotice& notice) override { control_.postNotice(notice); }
  bool flushNotice() override { return control_.flushNotice(); }

  // After a run: true once the control messages this side posted have left, so the
  // control connection carries nothing of this run into the next.
  bool settle();

  struct Control {
    static constexpr std::uint32_t kOffer = 1, kDone = 2;
    std::uint32_t kind = 0;
    std::uint32_t reserved = 0;
    std::uint64_t bytes = 0;  // an offer's payload size
    ExportedRange range;      // an offer's payload
  };

 private:
  struct Posted {
    Control message;
    std::uint64_t index;  // its number among the control connection's sends or receives
  };
  void postControl(const Control& message);
  void postControlReceives();
  bool takeControl();
  bool startPulls();
  bool finishPulls();
  // Moves the control messages on and forgets those sent; true if anything moved.
  bool flushControl();
  [[noreturn]] void protocolError(const std::string& what) const;

  Connection& control_;
  DeviceCompute& gpu_;
  std::deque<Posted> outbox_, inbox_;  // deques: posted buffers must not move
  OpQueue<RecvTarget> targets_;        // receives posted and not yet pulled
  std::deque<Control> offers_;         // offers arrived and not yet pulled
  std::deque<std::uint64_t> pulls_;    // tickets of the pulls in flight, in order
  std::uint64_t offersIn_ = 0;
};

}  // namespace braid
