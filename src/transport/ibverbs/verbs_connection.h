#pragma once
// A Connection over K reliable-connected queue pairs ("lanes") to one peer.
//
// Data path (bounce buffers; stream.h has the byte layout, credit_window.h the flow
// control): messages are copied into this side's registered staging ring and written
// with RDMA WRITE WITH IMMEDIATE into the peer's registered receive ring; the
// immediate carries the chunk's length. Chunk c of the stream goes to lane c % K, so
// the receiver, which takes lane completions in order, reassembles the stream exactly.
// The receiver copies (or combines) out of its ring into the posted buffers, then
// returns credits with a zero-byte SEND WITH IMMEDIATE (the count). Both kinds of
// arrival consume a receive request that carries no buffer; one is posted back for
// each. Every work request is signalled, so the send queue never overflows.
//
// Failures: a peer that stops answering makes the NIC give up after BRAID_IB_RETRY_CNT
// retransmissions of BRAID_IB_TIMEOUT each, and the error completion becomes a
// RemoteError naming the peer, its host, the queue pair and ibv_wc_status_str. A
// failed credit message is the exception: a peer that finished its last collective
// may tear its queue pairs down while this rank still returns credits for what it
// read, so that error counts only once this rank needs the lane again.
#ifdef BRAID_HAVE_IBVERBS
#include "transport/connection.h"
#include "transport/ibverbs/credit_window.h"
#include "transport/ibverbs/mr_cache.h"
#include "transport/ibverbs/stream.h"
#include "transport/ibverbs/verbs_device.h"
#include "transport/ibverbs/verbs_endpoint.h"
#include "transport/ibverbs/verbs_settings.h"

#include <infiniband/verbs.h>

#include <memory>
#include <string>
#include <vector>

namespace braid::verbs {

struct RingGeometry {
  std::uint32_t slots = 16;
  std::uint32_t slotBytes = 64 * 1024;  // a multiple of 16 (stream.h)
  int lanes = 1;
};

class VerbsConnection final : public Connection {
 public:
  // Creates the queue pairs (in INIT, receive requests posted) and the rings.
  VerbsConnection(int selfRank, int peerRank, std::string peerHost, std::shared_ptr<VerbsDevice> device,
                  RingGeometry geometry);
  ~VerbsConnection() override;

  // What the peer needs to connect lane `lane` to this side.
  QpRecord localRecord(int lane) const;
  // Moves every lane to RTR and RTS towards the peer's records.
  void connectLanes(const std::vector<QpRecord>& remote, const PortEndpoint& peer, const IbSettings& settings);

  void postSend(const void* data, std::size_t bytes) override;
  void postRecv(const RecvTarget& target) override;
  bool progress() override;
  void addPollFds(std::vector<pollfd>& fds) const override;
  const char* transportName() const override { return "ibverbs"; }
  void checkPeer() const override;
  std::string wireState() const override;
  void postNotice(const FailureNotice& notice) override;
  bool flushNotice() override;

 private:
  struct Lane {
    ibv_qp* qp = nullptr;
    std::uint32_t psn = 0;
    SendWindow send;
    RecvWindow recv;
    std::vector<std::uint32_t> chunkLen;  // by slot: bytes of the chunk that landed there
    std::size_t readOffset = 0;           // into the front chunk
    std::uint64_t remoteRing = 0;
    std::uint32_t remoteKey = 0;
    int creditsInFlight = 0;  // credit SENDs not completed
    bool dead = false;        // a credit or receive request failed: the queue pair is in error
    unsigned char* stage = nullptr;
    unsigned char* ring = nullptr;
    explicit Lane(std::uint32_t slots) : send(slots), recv(slots), chunkLen(slots, 0) {}
  };

  bool pollCompletions();
  void handle(const ibv_wc& wc);
  bool readArrived();
  bool returnCredits();
  bool writeChunks();
  void postReceiveToken(int lane);
  void transition(Lane& lane, ibv_qp_attr& attr, int mask, const char* state);
  std::string describeCompletionError(const ibv_wc& wc) const;
  [[noreturn]] void throwCompletionError(const ibv_wc& wc);
  void release();  // frees the verbs objects and memory (destructor, failed constructor)
  [[noreturn]] void throwPostError(const char* what, int lane, int err) const;
  StreamPeer who() const { return StreamPeer{self_, peer_, peerHost_}; }

  std::shared_ptr<VerbsDevice> device_;
  RingGeometry geometry_;
  VerbsRegistrar registrar_;
  Registration rings_{};
  unsigned char* memory_ = nullptr;
  ibv_comp_channel* channel_ = nullptr;
  ibv_cq* cq_ = nullptr;
  int wakeFd_ = -1;  // eventfd: made readable when addPollFds finds completions waiting
  std::vector<Lane> lanes_;
  std::uint64_t sendChunk_ = 0, recvChunk_ = 0;  // stream chunks written / read, all lanes
  StreamWriter writer_;
  StreamReader reader_;
  // Completions polled by the const addPollFds, handled by the next progress().
  mutable std::vector<ibv_wc> stash_;
  std::vector<ibv_wc> pending_;  // the stash being handled (kept to reuse its storage)
  mutable bool armed_ = false;  // addPollFds asked for a completion event
  bool noticePosted_ = false, noticeDone_ = false, broken_ = false;
  std::string firstError_;  // the completion error that broke the connection
  std::string laneError_;   // the first failed credit or receive request (see handle())
};

}  // namespace braid::verbs
#endif
