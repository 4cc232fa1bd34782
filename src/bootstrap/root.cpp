// The rendezvous root: a poll loop over the listening socket and the connections of
// ranks that are joining. It never blocks on one connection, so a stranger that sends
// nothing, or garbage, costs the job nothing but a log line.
#include "bootstrap/bootstrap.h"
#include "bootstrap/hello_acceptor.h"
#include "bootstrap/wire.h"
#include "core/env.h"
#include "core/log.h"

#include <braid/error.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

namespace braid {
namespace {

struct Joiner {
  Socket socket;
  wire::JoinHello hello{};
  std::size_t received = 0;
  Deadline deadline;
  std::string peerName;
};

int oldestPending(const std::map<int, Joiner>& pending) {
  auto oldest = pending.begin();
  for (auto it = pending.begin(); it != pending.end(); ++it)
    if (it->second.deadline.at() < oldest->second.deadline.at()) oldest = it;
  return oldest->first;
}

std::string peerNameOf(int fd) {
  SockAddr a;
  a.length = sizeof a.storage;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0) return "?";
  return a.toString();
}

}  // namespace

struct BootstrapRoot::State {
  int stopPipe[2] = {-1, -1};
  ~State() {
    if (stopPipe[0] >= 0) ::close(stopPipe[0]);
    if (stopPipe[1] >= 0) ::close(stopPipe[1]);
  }
};

namespace {

// Serves rounds until `rounds` are done (0: forever), stop is signalled, or nobody
// joins for a whole BRAID_TIMEOUT when the root serves a bounded number of rounds.
void serve(Socket listener, std::array<unsigned char, 16> secret, int rounds,
           std::shared_ptr<BootstrapRoot::State> state) {
  const auto timeout = Env::get().timeout();
  std::map<int, Joiner> pending;  // by fd: hellos still arriving
  std::map<int, Joiner> joined;   // by rank: complete, valid hellos of this round
  int roundSize = -1;
  std::uint32_t round = 0;
  Deadline idle(timeout);
  std::vector<pollfd> fds;

  auto drop = [&](int fd, const std::string& why) {
    BRAID_WARN("bootstrap root: dropped connection from " + pending.at(fd).peerName + ": " + why);
    pending.erase(fd);
  };
  auto reply = [&](Joiner& j, wire::JoinStatus status) {
    wire::JoinReply r{wire::kReplyMagic, status, roundSize, round};
    try {
      j.socket.sendAll(&r, sizeof r, Deadline(timeout));
    } catch (const Error& e) {
      BRAID_WARN("bootstrap root: could not answer rank " + std::to_string(j.hello.rank) + ": " + e.what());
    }
  };

  for (;;) {
    if (rounds > 0 && static_cast<int>(round) >= rounds) return;
    if (rounds > 0 && joined.empty() && idle.expired()) {
      BRAID_WARN("bootstrap root: nobody joined within BRAID_TIMEOUT; stopping");
      return;
    }
    fds.clear();
    fds.push_back({state->stopPipe[0], POLLIN, 0});
    fds.push_back({listener.fd(), POLLIN, 0});
    for (auto& [fd, j] : pending) fds.push_back({fd, POLLIN, 0});
    int n = ::poll(fds.data(), fds.size(), 200);
    if (n < 0 && errno != EINTR) return;
    if (fds[0].revents) return;
    if (fds[1].revents & POLLIN) {
      Socket s = listener.accept(Deadline(std::chrono::milliseconds(0)));
      if (s.valid()) {
        // A flood must not exhaust descriptors: the connection waiting longest makes room.
        if (pending.size() >= kMaxPending) drop(oldestPending(pending), "too many connections waiting to say hello");
        int fd = s.fd();
        // Its own short deadline: a silent stranger is let go long before BRAID_TIMEOUT.
        pending.emplace(fd, Joiner{std::move(s), {}, 0, Deadline(std::min(timeout, kHelloDeadline)), peerNameOf(fd)});
      }
    }
    for (std::size_t i = 2; i < fds.size(); ++i) {
      int fd = fds[i].fd;
      auto it = pending.find(fd);
      if (it == pending.end()) continue;
      Joiner& j = it->second;
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        auto* dst = reinterpret_cast<unsigned char*>(&j.hello) + j.received;
        ssize_t got = ::recv(fd, dst, sizeof j.hello - j.received, MSG_DONTWAIT);
        if (got == 0) {
          drop(fd, "closed after " + std::to_string(j.received) + " of " + std::to_string(sizeof j.hello) +
                       " hello bytes");
          continue;
        }
        if (got < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) drop(fd, std::strerror(errno));
          continue;
        }
        j.received += static_cast<std::size_t>(got);
        // Reject garbage as soon as the first word shows it, not after a full hello.
        if (!wire::couldBeJoinHello(wire::Bytes(reinterpret_cast<unsigned char*>(&j.hello), j.received))) {
          drop(fd, "not a Braid hello");
          continue;
        }
      }
      if (j.received < sizeof j.hello) {
        if (j.deadline.expired()) drop(fd, "sent no complete hello within " + std::to_string(kHelloDeadline.count()) + " ms");
        continue;
      }
      auto parsed = wire::parseJoinHello(wire::bytesOf(j.hello), secret);
      if (!parsed) { drop(fd, parsed.why); continue; }
      const wire::JoinHello& h = *parsed.value;
      if (roundSize < 0) roundSize = h.size;
      Joiner joiner = std::move(j);
      pending.erase(fd);
      if (h.size != roundSize) { reply(joiner, wire::JoinStatus::SizeMismatch); continue; }
      if (joined.count(h.rank)) { reply(joiner, wire::JoinStatus::DuplicateRank); continue; }
      int rank = h.rank;
      joined.emplace(rank, std::move(joiner));
    }
    if (roundSize > 0 && static_cast<int>(joined.size()) == roundSize) {
      std::vector<wire::Address> table;
      for (auto& [rank, j] : joined) table.push_back(j.hello.listen);
      for (auto& [rank, j] : joined) {
        reply(j, wire::JoinStatus::Ok);
        try {
          j.socket.sendAll(table.data(), table.size() * sizeof(wire::Address), Deadline(timeout));
        } catch (const Error& e) {
          BRAID_WARN("bootstrap root: could not send the table to rank " + std::to_string(rank) + ": " + e.what());
        }
      }
      BRAID_INFO("bootstrap root: round " + std::to_string(round) + " done, " + std::to_string(roundSize) + " ranks");
      joined.clear();
      roundSize = -1;
      ++round;
      idle = Deadline(timeout);
    }
  }
}

}  // namespace

BootstrapRoot::BootstrapRoot(const SockAddr& listenOn, const std::array<unsigned char, 16>& secret, int rounds)
    : state_(std::make_shared<State>()) {
  if (::pipe2(state_->stopPipe, O_CLOEXEC) != 0) throw SystemError("pipe: " + std::string(std::strerror(errno)));
  Socket listener = Socket::listen(listenOn);
  info_.address = listener.localAddress();
  info_.secret = secret;
  thread_ = std::thread(serve, std::move(listener), secret, rounds, state_);
}

BootstrapRoot::~BootstrapRoot() {
  if (thread_.joinable()) {
    stop();
    thread_.join();
  }
}

void BootstrapRoot::stop() {
  char c = 1;
  [[maybe_unused]] auto n = ::write(state_->stopPipe[1], &c, 1);
}

void BootstrapRoot::detach() {
  if (thread_.joinable()) thread_.detach();
}

}  // namespace braid
