#include "core/status_board.h"

#include "bootstrap/bootstrap.h"
#include "core/env.h"
#include "core/log.h"
#include "core/socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace braid {
namespace {

constexpr std::uint32_t kMagic = 0x42535442;  // "BTSB"
enum FrameType : std::uint32_t { kHello = 1, kQuery, kReply, kNotice, kBye };
struct FrameHeader {
  std::uint32_t magic;
  std::uint32_t type;
  std::uint64_t id;
  std::uint32_t bytes;
  std::uint32_t reserved;
};
static_assert(sizeof(FrameHeader) == 24);
constexpr std::size_t kMaxPayload = 8192;
// A peer that stops reading its link is hung; its outbox stops growing here.
constexpr std::size_t kMaxOutbox = 1 << 20;

struct Hello {
  unsigned char secret[16];
  std::int32_t rank;
  std::int32_t reserved;
};
struct BoardAddress {
  SockAddr address;
};
struct NoticeHead {
  std::int32_t kind;
  std::int32_t culprit;  // -1: the sender's own failure
};

std::string frame(std::uint32_t type, std::uint64_t id, const void* payload, std::size_t bytes) {
  FrameHeader h{kMagic, type, id, static_cast<std::uint32_t>(bytes), 0};
  std::string out(reinterpret_cast<const char*>(&h), sizeof h);
  out.append(static_cast<const char*>(payload), bytes);
  return out;
}

std::string who(int rank) { return "rank " + std::to_string(rank); }

}  // namespace

struct StatusBoard::Peer {
  explicit Peer(Socket s) : socket(std::move(s)) {}
  Socket socket;
  std::mutex writeMutex;  // outbox and every send on the socket
  std::string outbox;
  std::vector<unsigned char> inbox;  // the board's thread only
  std::atomic<Link> link{Link::Up};  // written by the board's thread, under answerMutex_
  std::uint64_t answeredId = 0;      // guarded by answerMutex_
  RankRecord answer;
  bool finalRecord = false;          // `answer` came with the peer's goodbye: its last word

  // Sends what the socket takes now; true if bytes remain queued.
  bool flushLocked() {
    while (!outbox.empty() && socket.valid()) {
      ssize_t k = ::send(socket.fd(), outbox.data(), outbox.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (k > 0) {
        outbox.erase(0, static_cast<std::size_t>(k));
        continue;
      }
      if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
      outbox.clear();  // the link is broken: the reader sees it and reports
      return false;
    }
    return false;
  }
  // Queues a whole frame (never part of one) and sends what it can.
  bool post(const std::string& bytes) {
    std::lock_guard<std::mutex> lock(writeMutex);
    if (outbox.size() + bytes.size() <= kMaxOutbox) outbox += bytes;
    return flushLocked();
  }
};

StatusBoard::StatusBoard(Bootstrap& bootstrap, const std::array<unsigned char, 16>& secret,
                         StatusEvents& events)
    : rank_(bootstrap.rank()), size_(bootstrap.size()), events_(events), stateSince_(std::chrono::steady_clock::now()) {
  record_.pid = static_cast<std::int32_t>(getpid());
  const Env& env = Env::get();
  Deadline deadline(env.timeout());
  Socket listener = Socket::listen(chooseInterfaceAddress(env.socketIfname()));
  BoardAddress mine{};
  mine.address = listener.localAddress();
  std::vector<BoardAddress> all(static_cast<std::size_t>(size_));
  bootstrap.allGather(&mine, sizeof mine, all.data());
  peers_.resize(static_cast<std::size_t>(size_));

  // Connect down, accept up: a connect completes in the listener's backlog, so no rank
  // waits for another to reach its accepts first.
  Hello hello{};
  std::memcpy(hello.secret, secret.data(), 16);
  hello.rank = rank_;
  const std::string helloFrame = frame(kHello, 0, &hello, sizeof hello);
  for (int r = 0; r < rank_; ++r) {
    Socket s = Socket::connect(all[r].address, deadline);
    s.sendAll(helloFrame.data(), helloFrame.size(), deadline);
    peers_[r] = std::make_unique<Peer>(std::move(s));
  }
  for (int missing = size_ - 1 - rank_; missing > 0;) {
    Socket s = listener.accept(deadline);
    if (!s.valid())
      throw TimeoutError(who(rank_) + ": " + std::to_string(missing) +
                             " higher ranks did not open their status links before BRAID_TIMEOUT",
                         ErrorContext{rank_, -1, "", "status"});
    FrameHeader h{};
    Hello theirs{};
    try {
      Deadline helloDeadline(std::chrono::milliseconds(std::min(deadline.remainingMs(), 5000)));
      s.recvAll(&h, sizeof h, helloDeadline);
      if (h.magic != kMagic || h.type != kHello || h.bytes != sizeof theirs) throw SystemError("not a status hello");
      s.recvAll(&theirs, sizeof theirs, helloDeadline);
    } catch (const Error& e) {
      BRAID_WARN(who(rank_) + ": dropped a status connection: " + e.what());
      continue;
    }
    bool valid = std::memcmp(theirs.secret, secret.data(), 16) == 0 && theirs.rank > rank_ && theirs.rank < size_ &&
                 !peers_[theirs.rank];
    if (!valid) {
      BRAID_WARN(who(rank_) + ": dropped a status connection with a wrong secret or rank");
      continue;
    }
    peers_[theirs.rank] = std::make_unique<Peer>(std::move(s));
    --missing;
  }
  for (auto& p : peers_)
    if (p) {
      p->socket.setNonBlocking();
      p->socket.setNoDelay();
    }
  if (::pipe2(wakeFds_, O_NONBLOCK | O_CLOEXEC) != 0)
    throw SystemError(who(rank_) + ": pipe for the status board: " + std::strerror(errno));
  if (size_ > 1) thread_ = std::thread([this] { serve(); });
}

StatusBoard::~StatusBoard() {
  close(false);
  // Only here: until the board is destroyed another thread may still call wake() (a
  // failing call's notice racing an abort), and a descriptor closed under it could be
  // reused by an unrelated file that would then get the wake-up byte.
  for (int& fd : wakeFds_)
    if (fd >= 0) ::close(fd), fd = -1;
}

void StatusBoard::enterCollective(const CallDesc& d) {
  std::lock_guard<std::mutex> lock(recordMutex_);
  record_.entered = d;
  record_.state = static_cast<std::int32_t>(CallState::InCollective);
  stateSince_ = std::chrono::steady_clock::now();
}

void StatusBoard::enterPointToPoint() {
  std::lock_guard<std::mutex> lock(recordMutex_);
  record_.state = static_cast<std::int32_t>(CallState::InPointToPoint);
  stateSince_ = std::chrono::steady_clock::now();
}

void StatusBoard::leave(CallState now) {
  std::lock_guard<std::mutex> lock(recordMutex_);
  if (now == CallState::Idle && record_.state == static_cast<std::int32_t>(CallState::InCollective))
    record_.completed = record_.entered;
  record_.state = static_cast<std::int32_t>(now);
  stateSince_ = std::chrono::steady_clock::now();
}

RankRecord StatusBoard::record() const {
  std::lock_guard<std::mutex> lock(recordMutex_);
  RankRecord r = record_;
  r.msInState = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - stateSince_)
                    .count();
  return r;
}

std::vector<StatusBoard::Answer> StatusBoard::queryAll(std::chrono::milliseconds limit) {
  std::vector<Answer> out(static_cast<std::size_t>(size_));
  out[rank_] = Answer{Link::Self, true, record()};
  Deadline deadline(limit);
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> lock(answerMutex_);
    if (closed_) return out;
    id = ++queryId_;
  }
  const std::string query = frame(kQuery, id, nullptr, 0);
  bool queued = false;
  for (auto& p : peers_)
    if (p && p->link == Link::Up) queued |= p->post(query);
  if (queued) wake();
  std::unique_lock<std::mutex> lock(answerMutex_);
  answerCv_.wait_until(lock, deadline.at(), [&] {
    for (auto& p : peers_)
      if (p && p->link == Link::Up && p->answeredId != id) return false;
    return true;
  });
  for (int r = 0; r < size_; ++r) {
    const auto& p = peers_[r];
    if (!p) continue;
    out[r].link = p->link;
    out[r].answered = p->answeredId == id || (p->link == Link::Left && p->finalRecord);
    if (out[r].answered) out[r].record = p->answer;
  }
  return out;
}

void StatusBoard::notifyAll(ErrorKind kind, const std::string& text, int culprit) {
  NoticeHead head{static_cast<std::int32_t>(kind), culprit};
  std::string payload(reinterpret_cast<const char*>(&head), sizeof head);
  payload += text.substr(0, kMaxPayload - sizeof head);
  const std::string notice = frame(kNotice, 0, payload.data(), payload.size());
  bool queued = false;
  for (auto& p : peers_)
    if (p && p->link == Link::Up) queued |= p->post(notice);
  if (queued) wake();
}

void StatusBoard::wake() {
  char one = 1;
  if (wakeFds_[1] >= 0) {
    ssize_t k = ::write(wakeFds_[1], &one, 1);  // a full pipe is a wake-up already pending
    (void)k;
  }
}

void StatusBoard::close(bool goodbye) {
  {
    std::lock_guard<std::mutex> lock(answerMutex_);
    if (closed_) return;
    closed_ = stopping_ = true;
  }
  answerCv_.notify_all();
  wake();
  if (thread_.joinable()) thread_.join();
  if (goodbye) {
    // The last record goes with the goodbye: a peer whose call failed after this rank
    // left can still say what this rank's last call was.
    RankRecord last = record();
    const std::string bye = frame(kBye, 0, &last, sizeof last);
    for (auto& p : peers_)
      if (p && p->link == Link::Up) p->post(bye);
  }
  // What is still queued (a goodbye, a failure notice) gets a short, bounded chance.
  Deadline deadline(std::chrono::milliseconds(200));
  for (;;) {
    std::vector<pollfd> waiting;
    for (auto& p : peers_) {
      if (!p) continue;
      std::lock_guard<std::mutex> lock(p->writeMutex);
      if (p->flushLocked()) waiting.push_back({p->socket.fd(), POLLOUT, 0});
    }
    if (waiting.empty() || deadline.expired()) break;
    ::poll(waiting.data(), waiting.size(), deadline.remainingMs(50));
  }
  // Under each peer's write lock: a notice posted by another thread may be sending.
  for (auto& p : peers_) {
    if (!p) continue;
    std::lock_guard<std::mutex> lock(p->writeMutex);
    p->socket.close();
  }
}

void StatusBoard::markClosed(int peer, Link how, const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(answerMutex_);
    if (peers_[peer]->link != Link::Up) return;
    peers_[peer]->link = how;
  }
  answerCv_.notify_all();
  if (how == Link::Gone) events_.onPeerGone(peer, why);
}

void StatusBoard::handleFrame(int peer, std::uint32_t type, std::uint64_t id, const unsigned char* payload,
                              std::size_t bytes) {
  Peer& p = *peers_[peer];
  switch (type) {
    case kQuery: {
      RankRecord mine = record();
      p.post(frame(kReply, id, &mine, sizeof mine));
      return;
    }
    case kReply:
      if (bytes != sizeof(RankRecord)) break;
      {
        std::lock_guard<std::mutex> lock(answerMutex_);
        p.answeredId = id;
        std::memcpy(&p.answer, payload, sizeof p.answer);
      }
      answerCv_.notify_all();
      return;
    case kNotice: {
      if (bytes < sizeof(NoticeHead)) break;
      NoticeHead head;
      std::memcpy(&head, payload, sizeof head);
      auto kind = static_cast<ErrorKind>(head.kind);
      if (kind != ErrorKind::Timeout && kind != ErrorKind::Aborted) kind = ErrorKind::Remote;
      // A culprit out of range (or this rank) is not believed: the sender is blamed.
      const int culprit = head.culprit >= 0 && head.culprit < static_cast<int>(peers_.size()) && peers_[head.culprit]
                              ? head.culprit
                              : peer;
      events_.onPeerNotice(peer, culprit, kind, std::string(reinterpret_cast<const char*>(payload) + sizeof head,
                                                   bytes - sizeof head));
      return;
    }
    case kBye:
      if (bytes == sizeof(RankRecord)) {
        std::lock_guard<std::mutex> lock(answerMutex_);
        std::memcpy(&p.answer, payload, sizeof p.answer);
        p.finalRecord = true;
      }
      markClosed(peer, Link::Left, "");
      return;
    default: break;
  }
  markClosed(peer, Link::Gone, "it sent a malformed status message (a different Braid build?)");
}

void StatusBoard::serve() {
  std::vector<pollfd> fds;
  std::vector<int> owner;
  unsigned char buffer[4096];
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(answerMutex_);
      if (stopping_) return;
    }
    fds.assign(1, pollfd{wakeFds_[0], POLLIN, 0});
    owner.assign(1, -1);
    for (int r = 0; r < size_; ++r) {
      Peer* p = peers_[r].get();
      if (!p || p->link != Link::Up) continue;
      short events = POLLIN;
      {
        std::lock_guard<std::mutex> lock(p->writeMutex);
        if (!p->outbox.empty()) events |= POLLOUT;
      }
      fds.push_back({p->socket.fd(), events, 0});
      owner.push_back(r);
    }
    // Idle links cost nothing; the timeout only bounds how long a stop could go unseen
    // if a wake-up were ever lost.
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) {
      BRAID_WARN(who(rank_) + ": status board poll failed: " + std::strerror(errno));
      return;
    }
    if (fds[0].revents) while (::read(wakeFds_[0], buffer, sizeof buffer) > 0) {}
    for (std::size_t i = 1; i < fds.size(); ++i) {
      const int r = owner[i];
      Peer& p = *peers_[r];
      if (fds[i].revents & POLLOUT) {
        std::lock_guard<std::mutex> lock(p.writeMutex);
        p.flushLocked();
      }
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      bool closedByPeer = false;
      std::string error;
      for (;;) {
        ssize_t k = ::recv(p.socket.fd(), buffer, sizeof buffer, MSG_DONTWAIT);
        if (k > 0) {
          p.inbox.insert(p.inbox.end(), buffer, buffer + k);
          continue;
        }
        if (k == 0) closedByPeer = true;
        else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) error = std::strerror(errno);
        break;
      }
      // Whole frames first: a goodbye that arrived with the close still counts.
      std::size_t used = 0;
      while (p.link == Link::Up && p.inbox.size() - used >= sizeof(FrameHeader)) {
        FrameHeader h;
        std::memcpy(&h, p.inbox.data() + used, sizeof h);
        if (h.magic != kMagic || h.bytes > kMaxPayload) {
          markClosed(r, Link::Gone, "it sent a malformed status message (a different Braid build?)");
          break;
        }
        if (p.inbox.size() - used < sizeof h + h.bytes) break;
        handleFrame(r, h.type, h.id, p.inbox.data() + used + sizeof h, h.bytes);
        used += sizeof h + h.bytes;
      }
      p.inbox.erase(p.inbox.begin(), p.inbox.begin() + static_cast<std::ptrdiff_t>(used));
      if (closedByPeer || !error.empty())
        markClosed(r, Link::Gone,
                   closedByPeer ? "its status link closed without a goodbye (process exited or was killed)"
                                : "its status link failed: " + error);
    }
  }
}

}  // namespace braid
