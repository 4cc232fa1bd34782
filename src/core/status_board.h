#pragma once
// Each rank's status board: a mesh of small TCP links between the ranks of one
// communicator, next to the data connections and independent of them, served by one
// background thread per rank. It answers three needs the data path cannot:
// - Status queries: when a collective times out, a rank asks every peer (in parallel,
//   with a short deadline) which call it last entered and completed, so the error can
//   say who never arrived instead of only who is owed bytes.
// - Failure notices: a rank whose call fails tells every peer at once, so peers that
//   wait on someone else (not on the failed rank) stop too, with the failed rank's
//   reason, instead of waiting for BRAID_TIMEOUT.
// - Keep-alive: a link that closes without a goodbye means the peer's process is gone;
//   that is noticed even while the communicator is idle.
// Links bind to the interface the bootstrap uses (BRAID_SOCKET_IFNAME) and present
// the communicator's secret, like every other connection.
#include <braid/error.h>

#include "core/call_record.h"

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace braid {

class Bootstrap;

// What the board tells its owner; called on the board's thread, which holds no lock of
// the board's while calling.
class StatusEvents {
 public:
  virtual ~StatusEvents() = default;
  // `peer`'s link closed without a goodbye (its process exited or was killed).
  virtual void onPeerGone(int peer, const std::string& why) = 0;
  // `peer` reported a failure (kind Remote, Timeout or Aborted) whose cause is rank
  // `culprit`: `peer` itself, or the rank it saw fail first.
  virtual void onPeerNotice(int peer, int culprit, ErrorKind kind, const std::string& text) = 0;
};

class StatusBoard {
 public:
  // Collective: listens, all-gathers the addresses through the bootstrap, connects to
  // every peer.
  StatusBoard(Bootstrap& bootstrap, const std::array<unsigned char, 16>& secret, StatusEvents& events);
  ~StatusBoard();  // close(false) if not closed yet
  StatusBoard(const StatusBoard&) = delete;
  StatusBoard& operator=(const StatusBoard&) = delete;

  // This rank's record, kept here so that the board's thread can answer from it.
  // Cheap (a lock and a clock read); called on every call's hot path.
  void enterCollective(const CallDesc& d);
  void enterPointToPoint();
  void leave(CallState now);  // Idle after success; Failed or Aborted otherwise
  RankRecord record() const;

  // Link state of each rank, as this rank sees it.
  enum class Link { Self, Up, Left, Gone };
  struct Answer {
    Link link = Link::Up;
    bool answered = false;
    RankRecord record;
  };
  // Asks every peer whose link is up for its record; waits at most `limit`. Index = rank.
  std::vector<Answer> queryAll(std::chrono::milliseconds limit);

  // Best effort, never blocks: queues a notice to every live peer and sends what the
  // sockets take now; the rest goes out from the board's thread (or at close()).
  // `culprit` is the rank whose failure this is (-1: this rank's own).
  void notifyAll(ErrorKind kind, const std::string& text, int culprit = -1);

  // Stops the thread and closes the links; with `goodbye`, peers are told first that
  // this is an orderly end (they record no error). Bounded: at most ~200 ms flushing.
  void close(bool goodbye);

  struct Peer;  // one link (status_board.cpp)

 private:
  void serve();
  void handleFrame(int peer, std::uint32_t type, std::uint64_t id, const unsigned char* payload, std::size_t bytes);
  void markClosed(int peer, Link how, const std::string& why);
  void wake();

  int rank_, size_;
  StatusEvents& events_;
  std::vector<std::unique_ptr<Peer>> peers_;  // by rank; null for self

  mutable std::mutex recordMutex_;
  RankRecord record_;
  std::chrono::steady_clock::time_point stateSince_;

  std::mutex answerMutex_;
  std::condition_variable answerCv_;
  std::uint64_t queryId_ = 0;

  int wakeFds_[2] = {-1, -1};
  bool stopping_ = false;  // guarded by answerMutex_
  bool closed_ = false;
  std::thread thread_;
};

}  // namespace braid
