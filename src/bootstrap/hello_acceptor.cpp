#include "bootstrap/hello_acceptor.h"

#include "core/log.h"

#include <braid/error.h>

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace braid {

struct HelloAcceptor::Pending {
  Socket socket;
  std::vector<unsigned char> bytes;  // helloBytes_ long, filled up to `got`
  std::size_t got = 0;
  Deadline deadline;
  std::string from;
};

namespace {

std::string peerOf(int fd) {
  SockAddr a;
  a.length = sizeof a.storage;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0) return "<unknown address>";
  return a.toString();
}

}  // namespace

HelloAcceptor::HelloAcceptor(Socket& listener, std::size_t helloBytes, std::string who, Prefix couldBeHello,
                             std::chrono::milliseconds perConnection)
    : listener_(listener),
      helloBytes_(helloBytes),
      who_(std::move(who)),
      couldBeHello_(std::move(couldBeHello)),
      perConnection_(perConnection) {}

HelloAcceptor::~HelloAcceptor() = default;

void HelloAcceptor::drop(std::size_t index, const std::string& why) {
  BRAID_WARN(who_ + ": dropped a connection from " + pending_[index].from + ": " + why);
  pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(index));
  ++dropped_;
}

void HelloAcceptor::acceptOne() {
  Socket s = listener_.accept(Deadline(std::chrono::milliseconds(0)));
  if (!s.valid()) return;
  // A flood must not exhaust descriptors: the connection waiting longest makes room.
  if (pending_.size() >= kMaxPending) drop(0, "too many connections waiting to say hello");
  std::string from = peerOf(s.fd());
  pending_.push_back(Pending{std::move(s), std::vector<unsigned char>(helloBytes_), 0,
                             Deadline(perConnection_), std::move(from)});
}

bool HelloAcceptor::readSome(std::size_t index) {
  Pending& p = pending_[index];
  ssize_t r = ::recv(p.socket.fd(), p.bytes.data() + p.got, helloBytes_ - p.got, MSG_DONTWAIT);
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
  if (r < 0) {
    drop(index, std::strerror(errno));
    return false;
  }
  if (r == 0) {
    drop(index, "it closed after " + std::to_string(p.got) + " of " + std::to_string(helloBytes_) + " hello bytes");
    return false;
  }
  p.got += static_cast<std::size_t>(r);
  if (!couldBeHello_(wire::Bytes(p.bytes.data(), p.got))) {
    drop(index, "not a Braid hello");
    return false;
  }
  return p.got == helloBytes_;
}

std::optional<HelloAcceptor::Accepted> HelloAcceptor::next(const Judge& judge, const Deadline& deadline) {
  std::vector<pollfd> fds;
  for (;;) {
    // Strangers past their own deadline go first, so they never linger.
    for (std::size_t i = pending_.size(); i-- > 0;)
      if (pending_[i].deadline.expired())
        drop(i, "no complete hello within " + std::to_string(perConnection_.count()) + " ms");
    if (deadline.expired()) return std::nullopt;

    fds.assign(1, pollfd{listener_.fd(), POLLIN, 0});
    int wait = deadline.remainingMs(1000);
    for (Pending& p : pending_) {
      fds.push_back(pollfd{p.socket.fd(), POLLIN, 0});
      wait = std::min(wait, p.deadline.remainingMs() + 1);
    }
    int n = ::poll(fds.data(), fds.size(), wait);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SystemError(who_ + ": poll: " + std::strerror(errno));
    }
    // Backwards, so that dropping pending_[i] keeps the earlier ones aligned with fds.
    for (std::size_t i = pending_.size(); i-- > 0;) {
      if (!fds[i + 1].revents || !readSome(i)) continue;
      Pending done = std::move(pending_[i]);
      pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
      std::string why = judge(wire::Bytes(done.bytes.data(), done.bytes.size()));
      if (why.empty()) return Accepted{std::move(done.socket), std::move(done.bytes)};
      BRAID_WARN(who_ + ": dropped a connection from " + done.from + ": " + why);
      ++dropped_;
    }
    if (fds[0].revents & POLLIN) acceptOne();
  }
}

}  // namespace braid
