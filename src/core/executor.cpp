#include "core/executor.h"

#include "core/host_identity.h"

#include <braid/error.h>

#include <algorithm>
#include <cstring>
#include <sched.h>

namespace braid {

Executor::Executor(int rank, std::vector<Connection*> connections, Doorbell* doorbell, bool oversubscribed)
    : rank_(rank), connections_(std::move(connections)), doorbell_(doorbell), oversubscribed_(oversubscribed) {
  // Room for every socket of every peer up front, so the first sleep allocates nothing.
  pollFds_.reserve(connections_.size() * 16);
}

void* Executor::at(const Region& r) const {
  return static_cast<char*>(buffers_->base[r.buffer]) + r.offset * buffers_->elemSize;
}

void Executor::complete(const Plan& plan, std::uint32_t step) {
  ++finished_;
  for (std::uint32_t i = plan.firstDependent[step]; i < plan.firstDependent[step + 1]; ++i) {
    std::uint32_t d = plan.dependents[i];
    if (--waitingOn_[d] == 0 && plan.steps[d].peer < 0) localReady_.push_back(d);
  }
}

void Executor::runLocal(const Plan& plan, std::uint32_t index) {
  const Step& s = plan.steps[index];
  const std::size_t bytes = s.dst.count * buffers_->elemSize;
  if (DeviceCompute* gpu = buffers_->device) {
    // Local steps are rare (a rank's own share of an out-of-place call): waiting for
    // each keeps the dependency logic the host's.
    if (s.kind != StepKind::Copy) gpu->wait(gpu->combine(at(s.dst), at(s.dst), at(s.src), s.dst.count), *deadline_);
    else if (at(s.dst) != at(s.src)) gpu->wait(gpu->copy(at(s.dst), at(s.src), bytes), *deadline_);
  } else if (s.kind == StepKind::Copy) {
    std::memmove(at(s.dst), at(s.src), bytes);
  } else {
    buffers_->combine(at(s.dst), at(s.dst), at(s.src), s.dst.count);
  }
  complete(plan, index);
}

void Executor::postReady(const Plan& plan, std::size_t p) {
  Connection* c = connections_[plan.peers[p]];
  const auto& sends = plan.sendsTo[p];
  while (sendPosted_[p] < sends.size() && waitingOn_[sends[sendPosted_[p]]] == 0) {
    const Step& s = plan.steps[sends[sendPosted_[p]++]];
    c->postSend(at(s.src), s.src.count * buffers_->elemSize);
  }
  const auto& recvs = plan.recvsFrom[p];
  while (recvPosted_[p] < recvs.size() && waitingOn_[recvs[recvPosted_[p]]] == 0) {
    const Step& s = plan.steps[recvs[recvPosted_[p]++]];
    RecvTarget t;
    t.dst = at(s.dst);
    t.bytes = s.dst.count * buffers_->elemSize;
    if (s.kind == StepKind::RecvReduce) {
      t.src = at(s.src);
      t.combine = buffers_->combine;
      t.elemSize = buffers_->elemSize;
    }
    c->postRecv(t);
  }
}

bool Executor::progressAll(const Plan& plan) {
  bool moved = false;
  for (std::size_t p = 0; p < plan.peers.size(); ++p) {
    Connection* c = connections_[plan.peers[p]];
    postReady(plan, p);
    if (!c->busy()) continue;
    moved |= c->progress();
    // The wire is FIFO, so the n-th completion is the n-th posted step.
    while (sendDone_[p] < c->sendsDone() - sendBase_[p]) complete(plan, plan.sendsTo[p][sendDone_[p]++]);
    while (recvDone_[p] < c->recvsDone() - recvBase_[p]) complete(plan, plan.recvsFrom[p][recvDone_[p]++]);
  }
  while (!localReady_.empty()) {
    std::uint32_t s = localReady_.back();
    localReady_.pop_back();
    runLocal(plan, s);
    moved = true;
  }
  return moved;
}

void Executor::sleep(const Plan& plan, std::uint32_t seen) {
  pollFds_.clear();
  bool hasShm = false;
  for (int peer : plan.peers) {
    Connection* c = connections_[peer];
    if (!c->busy()) continue;
    std::size_t before = pollFds_.size();
    c->addPollFds(pollFds_);
    if (pollFds_.size() == before) hasShm = true;
    c->checkPeer();
    // The sleep comes after a pass that moved nothing: what the peer sent is taken.
    if (c->peerGoneFor(kGoneGrace))
      throw RemoteError("rank " + std::to_string(peer) + " (host " + c->peerHost() + ") is gone (its status link " +
                            "closed) and nothing it sent is left for rank " + std::to_string(rank_) + " over " +
                            c->transportName(),
                        ErrorContext{rank_, peer, c->peerHost(), c->transportName()});
  }
  // Short slices: the deadline and peer liveness are rechecked between them.
  if (pollFds_.empty()) {
    if (doorbell_) doorbell_->wait(seen, 100);
    else sched_yield();  // nothing to sleep on: let the peers run
  } else if (!hasShm || !doorbell_) {
    // A GPU's descriptor stays ready while its work runs: let the ranks sharing this core run.
    if (::poll(pollFds_.data(), pollFds_.size(), 100) > 0 && oversubscribed_) sched_yield();
  } else if (::poll(pollFds_.data(), pollFds_.size(), 0) <= 0) {  // a ready descriptor: no sleep
    doorbell_->wait(seen, 1);
  } else if (oversubscribed_) {
    sched_yield();
  }
}

void Executor::run(const Plan& plan, const ExecutionBuffers& buffers, const Deadline& deadline, const char* what) {
  buffers_ = &buffers;
  deadline_ = &deadline;
  const std::size_t n = plan.steps.size(), peers = plan.peers.size();
  waitingOn_.resize(n);
  localReady_.clear();
  finished_ = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    waitingOn_[i] = plan.steps[i].numDeps;
    if (waitingOn_[i] == 0 && plan.steps[i].peer < 0) localReady_.push_back(i);
  }
  sendPosted_.assign(peers, 0);
  recvPosted_.assign(peers, 0);
  sendDone_.assign(peers, 0);
  recvDone_.assign(peers, 0);
  sendBase_.resize(peers);
  recvBase_.resize(peers);
  for (std::size_t p = 0; p < peers; ++p) {
    Connection* c = connections_[plan.peers[p]];
    if (!c) throw InvalidUsage("rank " + std::to_string(rank_) + ": no connection to rank " + std::to_string(plan.peers[p]));
    sendBase_[p] = c->sendsPosted();
    recvBase_[p] = c->recvsPosted();
    c->setSignature(buffers.signature);
  }
  try {
    loop(plan, deadline, what);
  } catch (...) {
    failed(what);
  }
}

void Executor::loop(const Plan& plan, const Deadline& deadline, const char* what) {
  const std::size_t n = plan.steps.size();
  // Spinning pays off only when every rank has a core of its own; with more ranks than
  // cores, yielding a few times first hands the core to a peer that shares it, which
  // is cheaper than a sleep and a wake-up when the peer answers at once.
  const int spinLimit = oversubscribed_ ? 0 : 4000;
  const int yieldLimit = oversubscribed_ ? 32 : 0;
  int idle = 0;
  while (finished_ < n) {
    if (abort_ && abort_->load(std::memory_order_relaxed)) aborted(what);
    std::uint32_t seen = doorbell_ ? doorbell_->read() : 0;
    if (progressAll(plan)) {
      idle = 0;
      continue;
    }
    if (++idle < spinLimit) continue;
    if (idle <= spinLimit + yieldLimit) {
      sched_yield();
      continue;
    }
    if (deadline.expired()) timedOut(plan, what);
    try {
      sleep(plan, seen);
    } catch (const RemoteError&) {
      // A peer may write its last message and exit between our last look and its
      // liveness check (plans where a rank's final step is a send, such as trees,
      // end that way): what it left must be taken before it is declared gone.
      if (!progressAll(plan)) throw;
      idle = 0;
    }
  }
}

std::string Executor::hostOf(int rank) const {
  if (rank == rank_) return hostName();
  if (rank >= 0 && rank < static_cast<int>(connections_.size()) && connections_[rank])
    return connections_[rank]->peerHost();
  return "unknown host";
}

// Called from a catch block: tells the peers, then throws what the caller should see.
void Executor::failed(const char* what) {
  try {
    throw;
  } catch (const PeerNoticeError& e) {
    // Name the rank that failed first, with its host, and pass the word on: a peer
    // that waits on this rank may not be connected to the reporter's wait.
    const FailureNotice notice = e.notice;
    const int reporter = e.context().peer;
    const std::string transport = e.context().transport;
    RemoteError named("rank " + std::to_string(rank_) + ": rank " + std::to_string(notice.culprit) + " (host " +
                          hostOf(notice.culprit) + ") " + describeNotice(notice.kind) + ", reported by rank " +
                          std::to_string(reporter) + " (host " + hostOf(reporter) + ") over " + transport + "; " +
                          what + " cannot complete",
                      ErrorContext{rank_, notice.culprit, hostOf(notice.culprit), transport});
    tellPeers(notice, reporter, kNoticeWindow);
    throw named;
  } catch (const AbortedError&) {
    // Whoever raised the abort flag knows why (a user's abort, a peer seen failing on
    // the status links) and tells the peers itself; a notice from here could only say
    // "aborted" and would blame this rank for another's failure.
    throw;
  } catch (const Error& e) {
    tellPeers(noticeFor(e), -1, kNoticeWindow);
    throw;
  } catch (...) {
    tellPeers(FailureNotice{FailureNotice::Kind::LocalFailure, rank_}, -1, kNoticeWindow);
    throw;
  }
}

FailureNotice Executor::noticeFor(const Error& e) const {
  if (auto* n = dynamic_cast<const PeerNoticeError*>(&e)) return n->notice;
  FailureNotice notice;
  notice.culprit = e.context().peer >= 0 ? e.context().peer : rank_;
  if (dynamic_cast<const CallMismatchError*>(&e)) notice.kind = FailureNotice::Kind::Mismatch;
  else if (e.kind() == ErrorKind::Timeout) notice.kind = FailureNotice::Kind::PeerTimedOut;
  else if (e.kind() == ErrorKind::Remote) notice.kind = FailureNotice::Kind::PeerGone;
  else notice = FailureNotice{FailureNotice::Kind::LocalFailure, rank_};
  return notice;
}

void Executor::tellPeers(const FailureNotice& notice, int reporter, std::chrono::milliseconds window) {
  // The failure path may allocate; it runs once per broken communicator.
  std::vector<Connection*> pending;
  for (int r = 0; r < static_cast<int>(connections_.size()); ++r) {
    Connection* c = connections_[r];
    if (!c || r == notice.culprit || r == reporter) continue;
    try {
      c->postNotice(notice);
      pending.push_back(c);
    } catch (...) {
      // A broken connection has nobody left to tell.
    }
  }
  const Deadline until(window);
  while (!pending.empty()) {
    pending.erase(std::remove_if(pending.begin(), pending.end(),
                                 [](Connection* c) {
                                   try {
                                     return c->flushNotice();
                                   } catch (...) {
                                     return true;
                                   }
                                 }),
                  pending.end());
    if (pending.empty() || until.expired()) break;
    // Waiting for a peer to read: back off instead of spinning against it for a core.
    ::poll(nullptr, 0, 1);
  }
}

void Executor::aborted(const char* what) const {
  // The flag may be raised because someone noticed a peer fail (a status channel, say)
  // before this run did: a failure visible here is the better answer, since it names
  // the peer. Every connection, not only this plan's: the failed rank may be one this
  // rank does not wait on.
  for (Connection* c : connections_)
    if (c) c->checkPeer();
  throw AbortedError("rank " + std::to_string(rank_) + ": " + what + " was aborted", ErrorContext{rank_, -1, "", ""});
}

void Executor::timedOut(const Plan& plan, const char* what) {
  std::string owed;
  int firstPeer = -1;
  std::string host, transport;
  for (std::size_t p = 0; p < plan.peers.size(); ++p) {
    std::size_t sends = plan.sendsTo[p].size() - sendDone_[p], recvs = plan.recvsFrom[p].size() - recvDone_[p];
    if (!sends && !recvs) continue;
    Connection* c = connections_[plan.peers[p]];
    if (firstPeer < 0) {
      firstPeer = plan.peers[p];
      host = c->peerHost();
      transport = c->transportName();
    }
    owed += " rank " + std::to_string(plan.peers[p]) + " (" + c->peerHost() + ", " + c->transportName() +
            "): " + std::to_string(recvs) + " receives and " + std::to_string(sends) + " sends pending";
    const std::string wire = c->wireState();
    owed += wire.empty() ? ";" : " [" + wire + "];";
  }
  throw TimeoutError("rank " + std::to_string(rank_) + ": " + what + " did not complete before BRAID_TIMEOUT;" + owed,
                     ErrorContext{rank_, firstPeer, host, transport});
}

}  // namespace braid
