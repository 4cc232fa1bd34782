#ifdef BRAID_HAVE_IBVERBS
#include "transport/ibverbs/verbs_connection.h"

#include "core/deadline.h"
#include "core/env.h"

#include <braid/error.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

namespace braid::verbs {
namespace {

// What a work request was, kept in its wr_id next to its lane.
enum WorkKind : std::uint64_t { kData = 1, kCredit = 2, kToken = 3 };
std::uint64_t workId(int lane, WorkKind kind) { return (static_cast<std::uint64_t>(lane) << 8) | kind; }
int laneOf(std::uint64_t id) { return static_cast<int>(id >> 8); }
WorkKind kindOf(std::uint64_t id) { return static_cast<WorkKind>(id & 0xff); }

const char* kindName(WorkKind k) {
  switch (k) {
    case kData: return "a data write";
    case kCredit: return "a credit message";
    case kToken: return "a receive request";
  }
  return "a work request";
}

std::uint32_t randomPsn() {
  static thread_local std::mt19937 gen(std::random_device{}());
  return gen() & 0xffffff;
}

// Teardown waits at most this long for writes already handed to the NIC to land.
constexpr std::chrono::milliseconds kDrainLimit{5000};

}  // namespace

VerbsConnection::VerbsConnection(int selfRank, int peerRank, std::string peerHost, std::shared_ptr<VerbsDevice> device,
                                 RingGeometry geometry)
    : Connection(selfRank, peerRank, std::move(peerHost)),
      device_(std::move(device)),
      geometry_(geometry),
      registrar_(device_) {
  const std::uint32_t S = geometry_.slots;
  const int depth = static_cast<int>(2 * S + 2);  // data + credits in flight, per queue
  const std::size_t ringBytes = static_cast<std::size_t>(S) * geometry_.slotBytes;
  const std::size_t total = ringBytes * 2 * static_cast<std::size_t>(geometry_.lanes);
  const ErrorContext ectx{self_, peer_, peerHost_, "ibverbs"};
  try {
    void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw SystemError(std::string("ibverbs: cannot map ring memory: ") + std::strerror(errno), ectx);
    memory_ = static_cast<unsigned char*>(p);
    rings_ = registrar_.registerRegion(MemoryRegion{memory_, total});
    channel_ = ibv_create_comp_channel(device_->context());
    if (!channel_) throw SystemError(std::string("ibverbs: ibv_create_comp_channel: ") + std::strerror(errno), ectx);
    fcntl(channel_->fd, F_SETFL, fcntl(channel_->fd, F_GETFL) | O_NONBLOCK);
    cq_ = ibv_create_cq(device_->context(), 2 * depth * geometry_.lanes, nullptr, channel_, 0);
    if (!cq_) throw SystemError(std::string("ibverbs: ibv_create_cq: ") + std::strerror(errno), ectx);
    wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd_ < 0) throw SystemError(std::string("ibverbs: eventfd: ") + std::strerror(errno), ectx);
    lanes_.reserve(static_cast<std::size_t>(geometry_.lanes));
    for (int j = 0; j < geometry_.lanes; ++j) {
      lanes_.emplace_back(S);
      Lane& l = lanes_.back();
      l.stage = memory_ + ringBytes * static_cast<std::size_t>(j);
      l.ring = memory_ + ringBytes * static_cast<std::size_t>(geometry_.lanes + j);
      l.psn = randomPsn();
      ibv_qp_init_attr init{};
      init.send_cq = cq_;
      init.recv_cq = cq_;
      init.qp_type = IBV_QPT_RC;
      init.sq_sig_all = 1;
      init.cap.max_send_wr = static_cast<std::uint32_t>(depth);
      init.cap.max_recv_wr = static_cast<std::uint32_t>(depth);
      init.cap.max_send_sge = 1;
      init.cap.max_recv_sge = 1;
      l.qp = ibv_create_qp(device_->pd(), &init);
      if (!l.qp) throw SystemError(std::string("ibverbs: ibv_create_qp: ") + std::strerror(errno), ectx);
      ibv_qp_attr attr{};
      attr.qp_state = IBV_QPS_INIT;
      attr.pkey_index = 0;
      attr.port_num = static_cast<std::uint8_t>(device_->port());
      attr.qp_access_flags = IBV_ACCESS_REMOTE_WRITE;
      transition(l, attr, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS, "INIT");
      // Receive requests may be posted in INIT; the peer can write as soon as it is RTS.
      for (int t = 0; t < depth; ++t) postReceiveToken(j);
    }
  } catch (...) {
    release();
    throw;
  }
}

VerbsConnection::~VerbsConnection() {
  // Chunks already handed to the NIC must land before their queue pair goes away: a
  // rank whose last step was a send would otherwise leave its peer waiting.
  if (!broken_ && cq_) {
    const auto until = std::chrono::steady_clock::now() + std::min(kDrainLimit, Env::get().timeout());
    auto busy = [&] {
      for (const Lane& l : lanes_)
        if (l.send.inFlight() > 0 || l.creditsInFlight > 0) return true;
      return false;
    };
    try {
      while (busy() && std::chrono::steady_clock::now() < until) pollCompletions();
    } catch (...) {
      // The peer is gone; there is nobody left to deliver to.
    }
  }
  release();
}

void VerbsConnection::release() {
  for (Lane& l : lanes_)
    if (l.qp) ibv_destroy_qp(l.qp), l.qp = nullptr;
  if (cq_) ibv_destroy_cq(cq_), cq_ = nullptr;
  if (channel_) ibv_destroy_comp_channel(channel_), channel_ = nullptr;
  if (rings_.handle) registrar_.deregister(rings_), rings_ = Registration{};
  if (memory_) {
    munmap(memory_, static_cast<std::size_t>(geometry_.slots) * geometry_.slotBytes * 2 * geometry_.lanes);
    memory_ = nullptr;
  }
  if (wakeFd_ >= 0) ::close(wakeFd_), wakeFd_ = -1;
}

QpRecord VerbsConnection::localRecord(int lane) const {
  const Lane& l = lanes_.at(static_cast<std::size_t>(lane));
  QpRecord r;
  r.qpn = l.qp->qp_num;
  r.psn = l.psn;
  r.ringAddr = reinterpret_cast<std::uint64_t>(l.ring);
  r.rkey = rings_.rkey;
  r.slots = geometry_.slots;
  r.slotBytes = geometry_.slotBytes;
  return r;
}

void VerbsConnection::transition(Lane& l, ibv_qp_attr& attr, int mask, const char* state) {
  int rc = ibv_modify_qp(l.qp, &attr, mask);
  if (rc == 0) return;
  std::string hint;
  if (std::string(state) == "RTR" && device_->linkLayer() == LinkLayer::Ethernet)
    hint = " (is the GID routable to the peer? see BRAID_IB_GID_INDEX)";
  throw SystemError("ibverbs: rank " + std::to_string(self_) + " cannot move queue pair " +
                        std::to_string(l.qp->qp_num) + " to " + state + " towards rank " + std::to_string(peer_) +
                        " (host " + peerHost_ + ") on " + device_->describe() + ": " + std::strerror(rc) + hint,
                    ErrorContext{self_, peer_, peerHost_, "ibverbs"});
}

void VerbsConnection::connectLanes(const std::vector<QpRecord>& remote, const PortEndpoint& peer,
                                   const IbSettings& s) {
  const ErrorContext ectx{self_, peer_, peerHost_, "ibverbs"};
  for (std::size_t j = 0; j < lanes_.size(); ++j) {
    Lane& l = lanes_[j];
    const QpRecord& r = remote.at(j);
    if (r.qpn == 0)
      throw RemoteError("ibverbs: rank " + std::to_string(peer_) + " (host " + peerHost_ +
                            ") made no queue pair for rank " + std::to_string(self_) +
                            " (do all ranks use the same BRAID_TRANSPORTS?)",
                        ectx);
    if (r.slots != geometry_.slots || r.slotBytes != geometry_.slotBytes)
      throw RemoteError("ibverbs: rank " + std::to_string(peer_) + " uses rings of " + std::to_string(r.slots) + " x " +
                            std::to_string(r.slotBytes) + " bytes, this rank " + std::to_string(geometry_.slots) +
                            " x " + std::to_string(geometry_.slotBytes) + " (different Braid builds?)",
                        ectx);
    l.remoteRing = r.ringAddr;
    l.remoteKey = r.rkey;

    ibv_qp_attr rtr{};
    rtr.qp_state = IBV_QPS_RTR;
    rtr.path_mtu = static_cast<ibv_mtu>(std::min<int>(device_->portAttr().active_mtu, peer.activeMtu));
    rtr.dest_qp_num = r.qpn;
    rtr.rq_psn = r.psn;
    rtr.max_dest_rd_atomic = 1;
    rtr.min_rnr_timer = 12;  // 0.64 ms; receive requests are reposted at once, so RNR is rare
    rtr.ah_attr.dlid = peer.lid;
    rtr.ah_attr.sl = static_cast<std::uint8_t>(s.serviceLevel);
    rtr.ah_attr.port_num = static_cast<std::uint8_t>(device_->port());
    if (device_->linkLayer() == LinkLayer::Ethernet) {
      // RoCE has no LIDs: every packet carries a GRH, routed by GID.
      rtr.ah_attr.is_global = 1;
      std::memcpy(rtr.ah_attr.grh.dgid.raw, peer.gid.data(), 16);
      rtr.ah_attr.grh.sgid_index = static_cast<std::uint8_t>(device_->gidIndex());
      rtr.ah_attr.grh.hop_limit = 64;
      rtr.ah_attr.grh.traffic_class = static_cast<std::uint8_t>(s.trafficClass);
    }
    transition(l, rtr,
               IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                   IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER,
               "RTR");

    ibv_qp_attr rts{};
    rts.qp_state = IBV_QPS_RTS;
    rts.sq_psn = l.psn;
    rts.timeout = static_cast<std::uint8_t>(s.timeout);
    rts.retry_cnt = static_cast<std::uint8_t>(s.retryCount);
    rts.rnr_retry = 7;  // "forever": a live peer always reposts; a dead one fails on retry_cnt
    rts.max_rd_atomic = 1;
    transition(l, rts,
               IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
                   IBV_QP_MAX_QP_RD_ATOMIC,
               "RTS");
  }
}

void VerbsConnection::postReceiveToken(int lane) {
  if (lanes_[static_cast<std::size_t>(lane)].dead) return;  // its queue pair only flushes now
  ibv_recv_wr wr{};
  wr.wr_id = workId(lane, kToken);
  wr.num_sge = 0;  // arrivals write into the ring (or carry no data): nothing lands here
  ibv_recv_wr* bad = nullptr;
  if (int rc = ibv_post_recv(lanes_[static_cast<std::size_t>(lane)].qp, &wr, &bad)) throwPostError("ibv_post_recv", lane, rc);
}

void VerbsConnection::postSend(const void* data, std::size_t bytes) {
  writer_.push(data, bytes, signature_);
  ++sendsPosted_;
}

void VerbsConnection::postRecv(const RecvTarget& target) {
  reader_.post(target, signature_);
  ++recvsPosted_;
}

bool VerbsConnection::progress() {
  if (broken_ && !firstError_.empty())
    throw RemoteError(firstError_, ErrorContext{self_, peer_, peerHost_, "ibverbs"});
  bool moved = pollCompletions();
  moved = readArrived() || moved;
  moved = returnCredits() || moved;
  moved = writeChunks() || moved;
  // Everything that arrived before a lane died has been read: what is still owed can
  // no longer move.
  if (!laneError_.empty() && busy()) {
    broken_ = true;
    firstError_ = laneError_ + " while messages with it were still pending";
    throw RemoteError(firstError_, ErrorContext{self_, peer_, peerHost_, "ibverbs"});
  }
  return moved;
}

bool VerbsConnection::pollCompletions() {
  if (armed_) {
    // Only after addPollFds armed the queue: keeps the syscalls off the spinning path.
    armed_ = false;
    ibv_cq* cq = nullptr;
    void* unused = nullptr;
    while (ibv_get_cq_event(channel_, &cq, &unused) == 0) ibv_ack_cq_events(cq, 1);
    std::uint64_t count;
    while (::read(wakeFd_, &count, sizeof count) == static_cast<ssize_t>(sizeof count)) {
    }
  }
  bool any = !stash_.empty();
  if (any) {
    // Taken out first: a completion that throws must not be handled twice later.
    pending_.swap(stash_);
    stash_.clear();
    for (const ibv_wc& wc : pending_) handle(wc);
    pending_.clear();
  }
  ibv_wc wc[32];
  for (;;) {
    int n = ibv_poll_cq(cq_, 32, wc);
    if (n < 0)
      throw SystemError("ibverbs: ibv_poll_cq failed on the connection to rank " + std::to_string(peer_),
                        ErrorContext{self_, peer_, peerHost_, "ibverbs"});
    for (int i = 0; i < n; ++i) handle(wc[i]);
    any = any || n > 0;
    if (n < 32) break;
  }
  return any;
}

void VerbsConnection::handle(const ibv_wc& wc) {
  if (wc.status != IBV_WC_SUCCESS) {
    if (noticePosted_) {  // after a failure: the notice is best effort
      broken_ = true;
      return;
    }
    const WorkKind kind = kindOf(wc.wr_id);
    if (kind == kCredit || kind == kToken) {
      // A peer that finished and tore down its queue pairs fails our credits (and so
      // the lane's receive requests) without anything being wrong: only if this rank
      // still needs the lane is it an error (progress() checks that).
      Lane& dead = lanes_.at(static_cast<std::size_t>(laneOf(wc.wr_id)));
      if (kind == kCredit) --dead.creditsInFlight;
      dead.dead = true;
      if (laneError_.empty()) laneError_ = describeCompletionError(wc);
      return;
    }
    throwCompletionError(wc);
  }
  const int j = laneOf(wc.wr_id);
  Lane& l = lanes_.at(static_cast<std::size_t>(j));
  switch (wc.opcode) {
    case IBV_WC_RDMA_WRITE:
      l.send.completed();
      break;
    case IBV_WC_SEND:
      --l.creditsInFlight;
      break;
    case IBV_WC_RECV_RDMA_WITH_IMM: {
      std::uint32_t len = ntohl(wc.imm_data);
      if (len == 0 || len > geometry_.slotBytes)
        throw RemoteError("ibverbs: rank " + std::to_string(peer_) + " (host " + peerHost_ + ") wrote a chunk of " +
                              std::to_string(len) + " bytes into a " + std::to_string(geometry_.slotBytes) +
                              "-byte slot (corrupt stream)",
                          ErrorContext{self_, peer_, peerHost_, "ibverbs"});
      l.chunkLen[l.recv.arrived()] = len;
      postReceiveToken(j);
      break;
    }
    case IBV_WC_RECV:
      if (wc.wc_flags & IBV_WC_WITH_IMM) l.send.credited(ntohl(wc.imm_data));
      postReceiveToken(j);
      break;
    default:
      break;
  }
}

bool VerbsConnection::readArrived() {
  bool moved = false;
  const auto k = static_cast<std::uint64_t>(lanes_.size());
  const std::uint64_t finishedBefore = reader_.finished();
  if (!noticePosted_) reader_.settle(who());
  for (;;) {
    Lane& l = lanes_[recvChunk_ % k];
    if (!l.recv.hasChunk()) break;
    const std::uint32_t slot = l.recv.frontSlot();
    const std::size_t len = l.chunkLen[slot];
    const unsigned char* data = l.ring + static_cast<std::size_t>(slot) * geometry_.slotBytes;
    // After a failure what arrives is read past, so a peer blocked on credits gets them.
    std::size_t off = noticePosted_ ? StreamReader::discard(len) : reader_.consume(data, len, l.readOffset, who());
    moved = moved || off != l.readOffset;
    l.readOffset = off;
    if (off < len) break;  // waits for a receive to be posted
    l.recv.consumed();
    l.readOffset = 0;
    ++recvChunk_;
    moved = true;
  }
  recvsDone_ = reader_.finished();
  return moved || recvsDone_ != finishedBefore;
}

bool VerbsConnection::returnCredits() {
  bool moved = false;
  for (std::size_t j = 0; j < lanes_.size(); ++j) {
    Lane& l = lanes_[j];
    if (l.dead || l.recv.uncredited() == 0 || l.creditsInFlight >= static_cast<int>(geometry_.slots)) continue;
    ibv_send_wr wr{};
    wr.wr_id = workId(static_cast<int>(j), kCredit);
    wr.opcode = IBV_WR_SEND_WITH_IMM;
    wr.num_sge = 0;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.imm_data = htonl(static_cast<std::uint32_t>(l.recv.takeCredits()));
    ibv_send_wr* bad = nullptr;
    if (int rc = ibv_post_send(l.qp, &wr, &bad)) throwPostError("ibv_post_send (credits)", static_cast<int>(j), rc);
    ++l.creditsInFlight;
    moved = true;
  }
  return moved;
}

bool VerbsConnection::writeChunks() {
  bool moved = false;
  const auto k = static_cast<std::uint64_t>(lanes_.size());
  while (writer_.pending()) {
    const int j = static_cast<int>(sendChunk_ % k);
    Lane& l = lanes_[static_cast<std::size_t>(j)];
    if (l.dead || !l.send.canPost()) break;
    const std::uint32_t slot = l.send.nextSlot();
    unsigned char* chunk = l.stage + static_cast<std::size_t>(slot) * geometry_.slotBytes;
    const std::size_t len = writer_.fill(chunk, geometry_.slotBytes);
    if (len == 0) break;
    ibv_sge sge{};
    sge.addr = reinterpret_cast<std::uint64_t>(chunk);
    sge.length = static_cast<std::uint32_t>(len);
    sge.lkey = rings_.lkey;
    ibv_send_wr wr{};
    wr.wr_id = workId(j, kData);
    wr.opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.imm_data = htonl(static_cast<std::uint32_t>(len));
    wr.wr.rdma.remote_addr = l.remoteRing + static_cast<std::uint64_t>(slot) * geometry_.slotBytes;
    wr.wr.rdma.rkey = l.remoteKey;
    ibv_send_wr* bad = nullptr;
    if (int rc = ibv_post_send(l.qp, &wr, &bad)) throwPostError("ibv_post_send", j, rc);
    l.send.posted();
    ++sendChunk_;
    moved = true;
  }
  sendsDone_ = writer_.finished();
  return moved;
}

void VerbsConnection::addPollFds(std::vector<pollfd>& fds) const {
  if (!armed_) {
    ibv_req_notify_cq(cq_, 0);
    armed_ = true;
  }
  // A completion that came before the queue was armed raises no event: look once more,
  // and if one is there, make the wake-up descriptor readable so poll() returns at once.
  ibv_wc wc[16];
  int n = ibv_poll_cq(cq_, 16, wc);
  for (int i = 0; i < n; ++i) stash_.push_back(wc[i]);
  if (!stash_.empty()) {
    std::uint64_t one = 1;
    (void)!::write(wakeFd_, &one, sizeof one);
    fds.push_back(pollfd{wakeFd_, POLLIN, 0});
  }
  fds.push_back(pollfd{channel_->fd, POLLIN, 0});
}

void VerbsConnection::checkPeer() const {
  if (auto notice = reader_.waitingNotice())
    throw PeerNoticeError(*notice, ErrorContext{self_, peer_, peerHost_, "ibverbs"});
}

std::string VerbsConnection::wireState() const {
  std::string s;
  for (std::size_t j = 0; j < lanes_.size(); ++j) {
    const Lane& l = lanes_[j];
    s += (j ? "; lane " : "lane ") + std::to_string(j) + " (queue pair " + std::to_string(l.qp->qp_num) +
         "): out " + l.send.describe() + ", " + std::to_string(l.creditsInFlight) + " credit messages in flight; in " +
         l.recv.describe() + (l.dead ? "; failed" : "");
  }
  return s + "; messages: " + std::to_string(writer_.finished()) + " copied out, " +
         std::to_string(reader_.finished()) + " taken in; " + std::to_string(stash_.size()) +
         " completions polled, not yet handled";
}

void VerbsConnection::postNotice(const FailureNotice& notice) {
  if (noticePosted_) return;
  noticePosted_ = true;
  writer_.pushNotice(notice);
  sendsPosted_ = writer_.queued();
}

bool VerbsConnection::flushNotice() {
  if (!noticePosted_ || noticeDone_) return true;
  try {
    pollCompletions();
    readArrived();
    returnCredits();
    writeChunks();
  } catch (const Error&) {
    broken_ = true;  // nobody is left to tell
  }
  bool inFlight = false;
  for (const Lane& l : lanes_) inFlight = inFlight || l.send.inFlight() > 0;
  noticeDone_ = broken_ || (!writer_.pending() && !inFlight);
  return noticeDone_;
}

std::string VerbsConnection::describeCompletionError(const ibv_wc& wc) const {
  std::string hint;
  if (wc.status == IBV_WC_RETRY_EXC_ERR)
    hint = " (no answer after BRAID_IB_RETRY_CNT retries of BRAID_IB_TIMEOUT: the peer's process or host is gone, "
           "or the link is down)";
  else if (wc.status == IBV_WC_REM_ACCESS_ERR || wc.status == IBV_WC_REM_INV_REQ_ERR)
    hint = " (the peer's NIC rejected the request: its queue pair was torn down, or the transport failed)";
  return "rank " + std::to_string(self_) + ": ibverbs " + kindName(kindOf(wc.wr_id)) + " to rank " +
         std::to_string(peer_) + " (host " + peerHost_ + ") failed on queue pair " + std::to_string(wc.qp_num) + " of " +
         device_->name() + ": " + ibv_wc_status_str(wc.status) + hint;
}

void VerbsConnection::throwCompletionError(const ibv_wc& wc) {
  broken_ = true;
  firstError_ = describeCompletionError(wc);
  throw RemoteError(firstError_, ErrorContext{self_, peer_, peerHost_, "ibverbs"});
}

void VerbsConnection::throwPostError(const char* what, int lane, int err) const {
  throw SystemError("ibverbs: " + std::string(what) + " on queue pair " +
                        std::to_string(lanes_[static_cast<std::size_t>(lane)].qp->qp_num) + " to rank " +
                        std::to_string(peer_) + " (host " + peerHost_ + ") failed: " + std::strerror(err),
                    ErrorContext{self_, peer_, peerHost_, "ibverbs"});
}

}  // namespace braid::verbs
#endif
