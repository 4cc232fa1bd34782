// What a communicator does when something goes wrong: it records the first failure
// (its own, a peer's notice, a peer's death), tells the peers once, names the rank at
// fault with a report of every rank's state, refuses later calls, and aborts within the
// bound it promises. The happy path is in communicator_impl.cpp.
#include "core/communicator_impl.h"

#include "core/log.h"
#include "core/rethrow.h"
#include "core/status_report.h"

#include <thread>
#include <utility>

namespace braid {

bool CommunicatorImpl::recordFailure(ErrorKind kind, const std::string& what, const ErrorContext& ctx, bool fromPeer) {
  std::lock_guard<std::mutex> lock(failureMutex_);
  if (failed_) return false;
  failed_ = true;
  failedByPeer_ = fromPeer;
  failureKind_ = kind;
  failure_ = what;
  failureCtx_ = ctx;
  return true;
}

void CommunicatorImpl::onPeerGone(int peer, const std::string& why) {
  const std::string text = peerName(peer) + ", pid " + std::to_string(peers_[peer].pid) + ", is gone: " + why;
  // Between calls this is the only witness, and the next call must not wait on a dead
  // rank (refuseIfBroken). A call in flight goes on: what the dead rank sent before it
  // died may be all it needs; if not, a wait on it fails once that data is taken (the
  // connection is marked), and a peer that waits on it says so to the others.
  if (recordFailure(ErrorKind::Remote, text, ErrorContext{rank_, peer, peers_[peer].hostName, "status"}, false))
    BRAID_WARN("rank " + std::to_string(rank_) + ": " + text);
  // The board's thread ends before the connections are freed (abort, destructor).
  if (connections_[peer]) connections_[peer]->markPeerGone();
  std::lock_guard<std::mutex> lock(ipcMutex_);
  if (!ipcConnections_.empty() && ipcConnections_[peer]) ipcConnections_[peer]->markPeerGone();
}

void CommunicatorImpl::onPeerNotice(int peer, int culprit, ErrorKind kind, const std::string& text) {
  (void)peer;  // the text says who reported it; the error names the rank at fault
  const ErrorKind as = kind == ErrorKind::Timeout ? ErrorKind::Timeout : ErrorKind::Remote;
  recordFailure(as, text, ErrorContext{rank_, culprit, peers_[culprit].hostName, "status"}, true);
  // The call in flight cannot finish (the peer has left it, and the executor's own
  // notices do not reach every rank, e.g. not the one it blames): stop it now rather
  // than at BRAID_TIMEOUT. Idle, the next call throws this failure at once.
  stopRun_.store(true);
}

std::exception_ptr CommunicatorImpl::asyncError() const {
  std::lock_guard<std::mutex> lock(failureMutex_);
  if (!failed_) return nullptr;
  try {
    if (aborted_)
      throw AbortedError("rank " + std::to_string(rank_) + ": the communicator was aborted (Communicator::abort())",
                         ErrorContext{rank_, -1, "", ""});
    throwError(failureKind_, failure_, failureCtx_);
  } catch (...) {
    return std::current_exception();
  }
}

void CommunicatorImpl::abort() {
  // An abort that follows a failure passes the failure on: peers that have not seen it
  // yet should hear its cause, not only that this rank gave up.
  ErrorKind cause = ErrorKind::Aborted;
  std::string notice = "rank " + std::to_string(rank_) + " (" + peers_[rank_].hostName +
                       ") aborted its communicator (Communicator::abort())";
  int culprit = -1;
  {
    std::lock_guard<std::mutex> lock(failureMutex_);
    if (aborted_) return;
    aborted_ = true;
    if (failed_) {
      cause = failureKind_;
      notice = failure_ + "\n  (" + notice + " after this)";
      culprit = failureCtx_.peer;
    } else {
      failed_ = true;
      failureKind_ = ErrorKind::Aborted;
      failure_ = "rank " + std::to_string(rank_) + " aborted the communicator";
      failureCtx_ = ErrorContext{rank_, -1, "", ""};
    }
  }
  stopRun_.store(true);
  // Peers waiting on this rank stop too, naming it; closing the board also wakes a
  // timeout report that is asking peers for their state.
  if (board_) {
    board_->notifyAll(cause, notice, culprit);
    board_->close(true);  // a deliberate end: peers keep this rank's last record
  }
  std::deque<Queued> queued;
  {
    std::lock_guard<std::mutex> lock(queueMutex_);
    stopping_ = true;
    queued.swap(queue_);
  }
  queueCv_.notify_all();
  for (auto& item : queued)
    item.state->finish(std::make_exception_ptr(AbortedError(
        "rank " + std::to_string(rank_) + ": " + item.what + " was never run: the communicator was aborted",
        ErrorContext{rank_, -1, "", ""})));
  queued.clear();  // dropped staged work releases its streams now, while their ticket word exists
  // The executor notices the flag within ~100 ms; a second is the bound promised. Polled
  // with try_lock rather than a timed lock: GCC 12's ThreadSanitizer does not see the
  // pthread_mutex_clocklock that try_lock_for uses, and then reports false races.
  std::unique_lock<std::mutex> exec(execMutex_, std::defer_lock);
  for (const Deadline stopBy(std::chrono::seconds(1)); !exec.try_lock() && !stopBy.expired();)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!exec.owns_lock()) {
    BRAID_WARN("rank " + std::to_string(rank_) + ": abort: the call in flight did not stop within 1 s; its "
               "connections are freed when the communicator is destroyed");
    return;
  }
  releaseResources();
  // The bound left for streams to copy back what they hold; staging they still hold stays.
  device_->shutdown(std::chrono::milliseconds(200));
  exec.unlock();
  if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
}

void CommunicatorImpl::releaseResources() {
  // Reverse order of construction: the executor uses the connections, the connections
  // use the transports' segments, the board and transports were set up over the bootstrap.
  deviceExecutor_.reset();
  {
    std::lock_guard<std::mutex> lock(ipcMutex_);
    ipcConnections_.clear();
  }
  executor_.reset();
  connections_.clear();
  transports_.clear();
  board_.reset();
  bootstrap_.reset();
  root_.reset();
  plans_.clear();
  std::vector<unsigned char>().swap(scratch_);
  std::vector<unsigned char>().swap(preMultiplied_);
}

void CommunicatorImpl::checkUsable() const {
  std::lock_guard<std::mutex> lock(failureMutex_);
  if (aborted_)
    throw AbortedError("rank " + std::to_string(rank_) + ": the communicator was aborted (Communicator::abort()); "
                       "create a new one", ErrorContext{rank_, -1, "", ""});
  if (failed_)
    throwError(failureKind_, "rank " + std::to_string(rank_) + ": communicator is unusable after an earlier failure: " +
                                 failure_, ErrorContext{rank_, failureCtx_.peer, failureCtx_.host, failureCtx_.transport});
}

std::string CommunicatorImpl::timeoutReport(const CallDesc* current) {
  // Peers answer from their board's thread in microseconds; one that cannot answer in
  // 2 s is hung or unreachable, and saying so is the report.
  const int askMs = 2000;
  auto answers = board_->queryAll(std::chrono::milliseconds(askMs));
  std::vector<std::string> hosts;
  for (const auto& p : peers_) hosts.emplace_back(p.hostName);
  return statusReport(rank_, current, answers, hosts, askMs);
}

void CommunicatorImpl::failRun(const Error& e, const char* what, const CallDesc* current) {
  const std::string me = "rank " + std::to_string(rank_);
  const std::string call = current ? toString(*current) : std::string(what);
  if (e.kind() == ErrorKind::Aborted && aborted())
    throw AbortedError(me + ": " + call + " was ended by Communicator::abort()", ErrorContext{rank_, -1, "", ""});
  const bool stopped = e.kind() == ErrorKind::Aborted;  // by onPeerNotice or onPeerGone
  if (!stopped && e.kind() != ErrorKind::Remote && e.kind() != ErrorKind::Timeout) throw;  // not the job's failure
  // Asking the peers takes a round trip: a notice of the first failure, if one is on its
  // way, has arrived by then.
  const std::string report = timeoutReport(current);
  ErrorKind kind = e.kind();
  ErrorContext ctx = e.context();
  std::string message = e.what();
  // A peer that reached BRAID_TIMEOUT first tells this rank over the data connections;
  // for this rank it is the same timeout, and the report is what explains it.
  if (message.find(describeNotice(FailureNotice::Kind::PeerTimedOut)) != std::string::npos) kind = ErrorKind::Timeout;
  {
    std::lock_guard<std::mutex> lock(failureMutex_);
    if (failed_ && (failedByPeer_ || stopped)) {
      // The first failure was another rank's (its notice), or a peer's death that the
      // status link saw first and stopped this call for: it leads, what this rank saw
      // follows.
      kind = failureKind_;
      ctx = failureCtx_;
      message = me + ": " + call + " stopped because " + failure_ +
                (stopped ? std::string() : "\n  this rank then saw: " + message);
    } else if (current) {
      message += " [this rank: " + call + "]";
    }
  }
  if (stopped && kind == ErrorKind::Aborted) kind = ErrorKind::Remote;  // a peer aborted: for this rank, a peer failed
  message += report;
  recordFailure(kind, message, ctx, false);
  bool tell = false;
  {
    std::lock_guard<std::mutex> lock(failureMutex_);
    tell = !notified_ && !failedByPeer_;
    notified_ = true;
  }
  // The executor tells the peers it was running with; this reaches every rank, idle
  // ones too (their asyncError()), with the whole account.
  if (tell) board_->notifyAll(kind, message, ctx.peer);
  throwError(kind, message, ctx);
}

void CommunicatorImpl::notifyPeersOfFailureOnce() {
  bool tell = false;
  ErrorKind kind = ErrorKind::Remote;
  std::string text;
  int culprit = -1;
  {
    std::lock_guard<std::mutex> lock(failureMutex_);
    if (failed_ && !aborted_) {  // abort() tells the peers itself
      tell = !notified_ && !failedByPeer_;
      notified_ = true;
      kind = failureKind_;
      text = failure_;
      culprit = failureCtx_.peer;
    }
  }
  if (tell && board_) board_->notifyAll(kind, text, culprit);
}

void CommunicatorImpl::refuseIfBroken() {
  // A failure seen between calls, outside any run: this is where the peers hear of it.
  if (!aborted()) notifyPeersOfFailureOnce();
  checkUsable();
}

}  // namespace braid
