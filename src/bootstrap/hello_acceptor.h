#pragma once
// Accepting on a port that strangers can reach. Connections are accepted and their
// fixed-size hellos read all at once in one poll loop, so a stranger that is silent,
// slow, or sends garbage never holds up a peer that connects properly. Each connection
// gets a short deadline of its own (kHelloDeadline, not BRAID_TIMEOUT) to deliver its
// hello, and at most kMaxPending wait at once; whatever is dropped is logged with the
// reason and the address it came from.
#include "bootstrap/wire.h"
#include "core/deadline.h"
#include "core/socket.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace braid {

// A peer of ours sends its hello right after connecting; five seconds is generous even
// on a loaded machine, and a stranger costs no more than that and one descriptor.
inline constexpr std::chrono::milliseconds kHelloDeadline{5000};
inline constexpr std::size_t kMaxPending = 256;

class HelloAcceptor {
 public:
  // Whether the first bytes of a connection can still become a hello (garbage is
  // dropped at its first word).
  using Prefix = std::function<bool(wire::Bytes)>;
  // For a whole hello: "" to accept it, or why it is dropped. May throw to end the
  // accept altogether (a peer holding the secret but set up differently).
  using Judge = std::function<std::string(wire::Bytes)>;

  // `who` starts every log line ("bootstrap ring: rank 3", "tcp: rank 0").
  HelloAcceptor(Socket& listener, std::size_t helloBytes, std::string who, Prefix couldBeHello,
                std::chrono::milliseconds perConnection = kHelloDeadline);
  ~HelloAcceptor();

  struct Accepted {
    Socket socket;
    std::vector<unsigned char> hello;
  };
  // The next connection whose hello `judge` accepts; empty when `deadline` passes first.
  std::optional<Accepted> next(const Judge& judge, const Deadline& deadline);
  // Connections dropped so far (tests read it).
  std::size_t dropped() const { return dropped_; }

 private:
  struct Pending;
  void acceptOne();
  void drop(std::size_t index, const std::string& why);
  // Reads what `pending_[index]` has sent; returns true when its hello is complete.
  bool readSome(std::size_t index);

  Socket& listener_;
  std::size_t helloBytes_;
  std::string who_;
  Prefix couldBeHello_;
  std::chrono::milliseconds perConnection_;
  std::vector<Pending> pending_;
  std::size_t dropped_ = 0;
};

}  // namespace braid
