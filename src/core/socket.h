#pragma once
// Thin RAII over BSD sockets with deadlines. Failures throw SystemError or
// TimeoutError; callers add which rank or peer was involved.
#include "core/deadline.h"

#include <sys/socket.h>

#include <cstddef>
#include <optional>
#include <string>

namespace braid {

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int port() const;
  std::string toString() const;  // "1.2.3.4:5678" or "[::1]:5678"
  // Parses "host:port", "[v6]:port"; host may be a name. Throws InvalidArgument.
  static SockAddr parse(const std::string& hostPort);
  // An address that another process sent: an IPv4 or IPv6 address with exactly its
  // family's length and a port. Empty when `bytes` describe anything else, so nothing
  // from the wire reaches connect() unchecked.
  static std::optional<SockAddr> fromWire(const void* bytes, std::size_t length);
};

// The address to listen on: the first interface matching BRAID_SOCKET_IFNAME
// (NCCL syntax: "eth" prefix, "=eth0" exact, "^docker" exclude), or else the first
// interface that is up and not loopback/docker/virbr, or else loopback. Port 0.
SockAddr chooseInterfaceAddress(const std::string& ifnameSpec);

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket();
  Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Socket& operator=(Socket&& o) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  static Socket listen(const SockAddr& addr, int backlog = 1024);
  static Socket connect(const SockAddr& addr, Deadline deadline);  // retries refused connects
  // Waits for one connection; returns an invalid Socket when the deadline passes.
  Socket accept(Deadline deadline);

  // Blocking with deadline. recvAll throws RemoteError-free SystemError on EOF
  // ("peer closed"), TimeoutError on the deadline.
  void sendAll(const void* data, std::size_t bytes, Deadline deadline);
  void recvAll(void* data, std::size_t bytes, Deadline deadline);

  SockAddr localAddress() const;
  void setNonBlocking();
  void setNoDelay();
  void setBufferSizes(int bytes);
  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void close();

 private:
  int fd_ = -1;
};

}  // namespace braid
