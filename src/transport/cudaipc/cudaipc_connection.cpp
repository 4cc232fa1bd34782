#include "transport/cudaipc/cudaipc_connection.h"

namespace braid {

CudaIpcConnection::CudaIpcConnection(Connection& control, DeviceCompute& gpu)
    : Connection(control.self(), control.peer(), control.peerHost()), control_(control), gpu_(gpu) {}

void CudaIpcConnection::postSend(const void* data, std::size_t bytes) {
  Control offer;
  offer.kind = Control::kOffer;
  offer.bytes = bytes;
  // An empty message names no memory (its pointer may be one past an allocation).
  if (bytes > 0) offer.range = gpu_.exportRange(data);
  ++sendsPosted_;
  postControl(offer);
  postControlReceives();  // for its done
}

void CudaIpcConnection::postRecv(const RecvTarget& target) {
  targets_.push(target);
  ++recvsPosted_;
  postControlReceives();
}

void CudaIpcConnection::postControl(const Control& message) {
  control_.setSignature(signature_);  // the control messages belong to the call being run
  outbox_.push_back(Posted{message, control_.sendsPosted()});
  control_.postSend(&outbox_.back().message, sizeof(Control));
}

void CudaIpcConnection::postControlReceives() {
  // No more than the messages this run still owes us: a done per send posted, an offer
  // per receive posted (an offer may come before its receive is posted: the peer sends
  // when its data is ready). Posting more could take a message of the peer's next run.
  const std::uint64_t owed = (sendsPosted_ - sendsDone_) + (recvsPosted_ > offersIn_ ? recvsPosted_ - offersIn_ : 0);
  while (inbox_.size() < owed) {
    control_.setSignature(signature_);
    inbox_.push_back(Posted{Control{}, control_.recvsPosted()});
    RecvTarget t;
    t.dst = &inbox_.back().message;
    t.bytes = sizeof(Control);
    control_.postRecv(t);
  }
}

bool CudaIpcConnection::takeControl() {
  bool moved = false;
  while (!inbox_.empty() && control_.recvsDone() > inbox_.front().index) {
    const Control& m = inbox_.front().message;
    if (m.kind == Control::kOffer) {
      offers_.push_back(m);
      ++offersIn_;
    } else if (m.kind == Control::kDone) {
      if (sendsDone_ == sendsPosted_) protocolError("a done for a message this rank has not sent");
      ++sendsDone_;
    } else {
      protocolError("a control message of unknown kind " + std::to_string(m.kind));
    }
    inbox_.pop_front();
    moved = true;
  }
  return moved;
}

bool CudaIpcConnection::startPulls() {
  bool moved = false;
  while (!targets_.empty() && !offers_.empty()) {
    const RecvTarget& t = targets_.front();
    const Control& offer = offers_.front();
    if (offer.bytes != t.bytes)
      protocolError("a message of " + std::to_string(offer.bytes) + " bytes where " + std::to_string(t.bytes) +
                    " were expected");
    std::uint64_t ticket = 0;
    if (t.bytes > 0) {
      const void* theirs = gpu_.map(offer.range);
      ticket = t.combine ? gpu_.combine(t.dst, t.src, theirs, t.bytes / t.elemSize) : gpu_.copy(t.dst, theirs, t.bytes);
    }
    pulls_.push_back(ticket);
    targets_.pop();
    offers_.pop_front();
    moved = true;
  }
  return moved;
}

bool CudaIpcConnection::finishPulls() {
  bool moved = false;
  while (!pulls_.empty() && gpu_.done(pulls_.front())) {
    pulls_.pop_front();
    ++recvsDone_;
    Control done;
    done.kind = Control::kDone;
    postControl(done);
    moved = true;
  }
  return moved;
}

bool CudaIpcConnection::progress() {
  bool moved = false;
  if (control_.busy()) moved |= control_.progress();
  moved |= takeControl();
  moved |= startPulls();
  moved |= finishPulls();
  postControlReceives();
  return flushControl() || moved;
}

bool CudaIpcConnection::flushControl() {
  const bool moved = control_.busy() && control_.progress();
  while (!outbox_.empty() && control_.sendsDone() > outbox_.front().index) outbox_.pop_front();
  return moved;
}

bool CudaIpcConnection::settle() {
  flushControl();
  return outbox_.empty() && inbox_.empty() && pulls_.empty();
}

void CudaIpcConnection::addPollFds(std::vector<pollfd>& fds) const {
  control_.addPollFds(fds);
  if (!pulls_.empty() && gpu_.wakeFd() >= 0) fds.push_back(pollfd{gpu_.wakeFd(), POLLIN, 0});
}

std::string CudaIpcConnection::wireState() const {
  std::string inner = control_.wireState();
  return "cudaipc: " + std::to_string(sendsPosted_) + " offered, " + std::to_string(sendsDone_) + " read by the peer; " +
         std::to_string(offersIn_) + " offers in, " + std::to_string(pulls_.size()) + " pulls on the GPU, " +
         std::to_string(recvsDone_) + " pulled; control messages: " + std::to_string(outbox_.size()) + " out, " +
         std::to_string(inbox_.size()) + " awaited" + (inner.empty() ? "" : "; control link: " + inner);
}

void CudaIpcConnection::protocolError(const std::string& what) const {
  throw RemoteError("rank " + std::to_string(self_) + ": rank " + std::to_string(peer_) + " (" + peerHost_ +
                        ") sent " + what + " over cudaipc",
                    ErrorContext{self_, peer_, peerHost_, "cudaipc"});
}

}  // namespace braid
