#pragma once
/// Errors thrown by the C++ API. Every error says which rank saw it and, where one is
/// involved, which peer, host and transport.
#include <stdexcept>
#include <string>

namespace braid {

enum class ErrorKind {
  InvalidArgument,  ///< a caller's argument is wrong; nothing was sent
  InvalidUsage,     ///< the call is wrong in context (e.g. group end without start)
  System,           ///< the OS refused something (socket, mmap, ...)
  Remote,           ///< a peer failed, closed, or disagreed (mismatched calls)
  Timeout,          ///< a deadline (BRAID_TIMEOUT) passed
  Internal,         ///< a bug in Braid
  Unsupported,      ///< not implemented for these arguments yet
  Aborted,          ///< Communicator::abort() ended the call
};

struct ErrorContext {
  int rank = -1;          ///< the rank that reports
  int peer = -1;          ///< the peer involved, if any
  std::string host;       ///< the peer's host, if known
  std::string transport;  ///< "shm", "tcp", "bootstrap", ...
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& what, ErrorContext ctx = {});
  ErrorKind kind() const { return kind_; }
  const ErrorContext& context() const { return ctx_; }

 private:
  ErrorKind kind_;
  ErrorContext ctx_;
};

struct InvalidArgument : Error {
  InvalidArgument(const std::string& w, ErrorContext c = {}) : Error(ErrorKind::InvalidArgument, w, std::move(c)) {}
};
struct InvalidUsage : Error {
  InvalidUsage(const std::string& w, ErrorContext c = {}) : Error(ErrorKind::InvalidUsage, w, std::move(c)) {}
};
struct SystemError : Error {
  SystemError(const std::string& w, ErrorContext c = {}) : Error(ErrorKind::System, w, std::move(c)) {}
};
struct RemoteError : Error {
  RemoteError(const std::string& w, ErrorContext c = {}) : Error(ErrorKind::Remote, w, std::move(c)) {}
};
struct TimeoutError : Error {
  TimeoutError(const std::string& w, ErrorContext c = {}) : Error(ErrorKind::Timeout, w, std::move(c)) {}
};
struct UnsupportedError : Error {
  UnsupportedError(const std::string& w, ErrorContext c = {}) : Error(ErrorKind::Unsupported, w, std::move(c)) {}
};
struct AbortedError : Error {
  AbortedError(const std::string& w, ErrorContext c = {}) : Error(ErrorKind::Aborted, w, std::move(c)) {}
};

}  // namespace braid
