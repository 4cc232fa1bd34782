#include "core/socket.h"

#include <braid/error.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <thread>

namespace braid {
namespace {

[[noreturn]] void throwErrno(const std::string& what) {
  throw SystemError(what + ": " + std::strerror(errno));
}

// Waits for `events` on fd; false when the deadline passes first.
bool waitFor(int fd, short events, const Deadline& deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, deadline.remainingMs(1000));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) throwErrno("poll");
    if (deadline.expired()) return false;
  }
}

bool matchesSpec(const std::string& name, const std::string& spec) {
  if (spec.empty()) return true;
  bool exclude = spec[0] == '^';
  std::string list = exclude ? spec.substr(1) : spec;
  bool exact = !list.empty() && list[0] == '=';
  if (exact) list = list.substr(1);
  bool hit = false;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty() && (exact ? name == item : name.rfind(item, 0) == 0)) hit = true;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return exclude ? !hit : hit;
}

}  // namespace

int SockAddr::port() const {
  if (storage.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(storage).sin_port);
  if (storage.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(storage).sin6_port);
  return 0;
}

std::string SockAddr::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(storage).sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (storage.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(storage).sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  return "<no address>";
}

SockAddr SockAddr::parse(const std::string& hostPort) {
  std::string host, port;
  if (!hostPort.empty() && hostPort[0] == '[') {
    auto close = hostPort.find(']');
    if (close == std::string::npos || close + 1 >= hostPort.size() || hostPort[close + 1] != ':')
      throw InvalidArgument("address '" + hostPort + "' is not [ipv6]:port");
    host = hostPort.substr(1, close - 1);
    port = hostPort.substr(close + 2);
  } else {
    auto colon = hostPort.rfind(':');
    if (colon == std::string::npos) throw InvalidArgument("address '" + hostPort + "' is not host:port");
    host = hostPort.substr(0, colon);
    port = hostPort.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0 || !res)
    throw InvalidArgument("cannot resolve '" + hostPort + "': " + gai_strerror(rc));
  SockAddr a;
  std::memcpy(&a.storage, res->ai_addr, res->ai_addrlen);
  a.length = res->ai_addrlen;
  freeaddrinfo(res);
  return a;
}

std::optional<SockAddr> SockAddr::fromWire(const void* bytes, std::size_t length) {
  if (length != sizeof(sockaddr_in) && length != sizeof(sockaddr_in6)) return std::nullopt;
  SockAddr a;
  std::memcpy(&a.storage, bytes, length);
  a.length = static_cast<socklen_t>(length);
  const bool v4 = a.storage.ss_family == AF_INET && length == sizeof(sockaddr_in);
  const bool v6 = a.storage.ss_family == AF_INET6 && length == sizeof(sockaddr_in6);
  if ((!v4 && !v6) || a.port() == 0) return std::nullopt;
  return a;
}

SockAddr chooseInterfaceAddress(const std::string& spec) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) throwErrno("getifaddrs");
  SockAddr chosen, loopback;
  for (int pass = 0; pass < 2 && chosen.length == 0; ++pass) {
    // IPv4 first, then IPv6: IPv4 is what most clusters route.
    int family = pass == 0 ? AF_INET : AF_INET6;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
      if (!i->ifa_addr || i->ifa_addr->sa_family != family || !(i->ifa_flags & IFF_UP)) continue;
      std::string name = i->ifa_name;
      if (family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr))
        continue;
      bool isLoop = (i->ifa_flags & IFF_LOOPBACK) != 0;
      SockAddr a;
      a.length = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
      std::memcpy(&a.storage, i->ifa_addr, a.length);
      if (!spec.empty()) {
        if (matchesSpec(name, spec)) { chosen = a; break; }
        continue;
      }
      if (isLoop) {
        if (loopback.length == 0) loopback = a;
        continue;
      }
      if (name.rfind("docker", 0) == 0 || name.rfind("virbr", 0) == 0) continue;
      chosen = a;
      break;
    }
  }
  freeifaddrs(list);
  if (chosen.length == 0 && spec.empty()) chosen = loopback;
  if (chosen.length == 0)
    throw InvalidArgument("BRAID_SOCKET_IFNAME='" + spec + "' matches no interface that is up");
  return chosen;
}

Socket::~Socket() { close(); }

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void Socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Socket Socket::listen(const SockAddr& addr, int backlog) {
  Socket s(::socket(addr.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) throwErrno("socket");
  int one = 1;
  setsockopt(s.fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(s.fd_, reinterpret_cast<const sockaddr*>(&addr.storage), addr.length) != 0)
    throwErrno("bind " + addr.toString());
  if (::listen(s.fd_, backlog) != 0) throwErrno("listen " + addr.toString());
  return s;
}

Socket Socket::connect(const SockAddr& addr, Deadline deadline) {
  // Refused connects are retried: the listener may not be up yet (ranks start in any order).
  auto backoff = std::chrono::milliseconds(1);
  for (;;) {
    Socket s(::socket(addr.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s.valid()) throwErrno("socket");
    int rc = ::connect(s.fd_, reinterpret_cast<const sockaddr*>(&addr.storage), addr.length);
    int err = rc == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      if (!waitFor(s.fd_, POLLOUT, deadline)) break;
      socklen_t len = sizeof err;
      getsockopt(s.fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    }
    if (err == 0) {
      int flags = fcntl(s.fd_, F_GETFL);
      fcntl(s.fd_, F_SETFL, flags & ~O_NONBLOCK);
      s.setNoDelay();
      return s;
    }
    if (err != ECONNREFUSED && err != ETIMEDOUT && err != EAGAIN && err != ECONNRESET)
      throw SystemError("connect " + addr.toString() + ": " + std::strerror(err));
    if (deadline.expired()) break;
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(backoff, std::chrono::milliseconds(deadline.remainingMs())));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(100));
  }
  throw TimeoutError("connect " + addr.toString() + ": nobody accepted before the deadline (BRAID_TIMEOUT)");
}

Socket Socket::accept(Deadline deadline) {
  for (;;) {
    if (!waitFor(fd_, POLLIN, deadline)) return Socket();
    int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      Socket s(fd);
      s.setNoDelay();
      return s;
    }
    if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) throwErrno("accept");
  }
}

void Socket::sendAll(const void* data, std::size_t bytes, Deadline deadline) {
  auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    if (!waitFor(fd_, POLLOUT, deadline)) throw TimeoutError("send timed out (BRAID_TIMEOUT)");
    ssize_t n = ::send(fd_, p, bytes, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throwErrno("send");
    }
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

void Socket::recvAll(void* data, std::size_t bytes, Deadline deadline) {
  auto* p = static_cast<char*>(data);
  while (bytes > 0) {
    if (!waitFor(fd_, POLLIN, deadline)) throw TimeoutError("receive timed out (BRAID_TIMEOUT)");
    ssize_t n = ::recv(fd_, p, bytes, MSG_DONTWAIT);
    if (n == 0) throw SystemError("peer closed the connection");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throwErrno("recv");
    }
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

SockAddr Socket::localAddress() const {
  SockAddr a;
  a.length = sizeof a.storage;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0) throwErrno("getsockname");
  return a;
}

void Socket::setNonBlocking() {
  int flags = fcntl(fd_, F_GETFL);
  if (fcntl(fd_, F_SETFL, flags | O_NONBLOCK) != 0) throwErrno("fcntl O_NONBLOCK");
}

void Socket::setNoDelay() {
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void Socket::setBufferSizes(int bytes) {
  setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

}  // namespace braid
