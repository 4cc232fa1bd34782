#pragma once
// Runs one rank's Plan over its Connections. Steps start as soon as the steps they
// depend on are done; sends and receives to a peer are posted in plan order (the wire
// is FIFO). When nothing moves, the executor spins briefly (unless ranks outnumber
// cores) and then sleeps on the rank's Doorbell and the sockets' descriptors.
// Every run has a deadline (BRAID_TIMEOUT); a timeout names the peers still owed.
//
// A run that fails tells every other peer it has a connection to (a FailureNotice)
// before it throws, so that ranks waiting on it, directly or not, end with an error
// naming the rank that failed first rather than at their own deadline.
#include "algorithms/plan.h"
#include "core/deadline.h"
#include "reduce/reduce.h"
#include "transport/connection.h"
#include "transport/device_compute.h"
#include "transport/doorbell.h"

#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace braid {

struct ExecutionBuffers {
  std::vector<void*> base;  // indexed by BufferId; const inputs are cast, never written
  std::size_t elemSize = 1;
  reduce::BinaryFn combine = nullptr;
  std::uint32_t signature = 0;  // core/op_signature.h; 0 = unchecked (point to point)
  // Buffers in GPU memory: local steps run here (`combine` stays the host twin, which
  // tells a reducing receive from a copying one), and the connections are cudaipc.
  DeviceCompute* device = nullptr;
};

class Executor {
 public:
  // `connections[peer]` may be null for peers the plan does not touch (and for self).
  Executor(int rank, std::vector<Connection*> connections, Doorbell* doorbell, bool oversubscribed);
  // Throws RemoteError/TimeoutError/AbortedError; `what` names the operation in messages.
  // Messages carry buffers.signature, and receives check it against the peer's.
  void run(const Plan& plan, const ExecutionBuffers& buffers, const Deadline& deadline, const char* what);
  // While *flag is true, a run ends within about 100 ms with AbortedError (and tells
  // its peers), or with the RemoteError of a peer failure visible by then on any
  // connection. The flag must outlive the executor; null: no abort.
  void setAbortFlag(const std::atomic<bool>* flag) { abort_ = flag; }

  // How long a failed run keeps trying to hand its notice to peers that do not read.
  static constexpr std::chrono::milliseconds kNoticeWindow{500};
  // How long after a peer is marked gone (Connection::markPeerGone) a wait on it fails
  // when nothing moves: data still on the wire may land meanwhile.
  static constexpr std::chrono::milliseconds kGoneGrace{200};

 private:
  void complete(const Plan& plan, std::uint32_t step);
  void runLocal(const Plan& plan, std::uint32_t step);
  void postReady(const Plan& plan, std::size_t p);
  bool progressAll(const Plan& plan);
  void sleep(const Plan& plan, std::uint32_t seen);
  void loop(const Plan& plan, const Deadline& deadline, const char* what);
  [[noreturn]] void timedOut(const Plan& plan, const char* what);
  [[noreturn]] void aborted(const char* what) const;
  [[noreturn]] void failed(const char* what);
  // Posts `notice` on every connection but the culprit's and the reporter's, and
  // flushes them for at most `window`.
  void tellPeers(const FailureNotice& notice, int reporter, std::chrono::milliseconds window);
  FailureNotice noticeFor(const Error& e) const;
  std::string hostOf(int rank) const;
  void* at(const Region& r) const;

  int rank_;
  std::vector<Connection*> connections_;
  Doorbell* doorbell_;
  bool oversubscribed_;
  const std::atomic<bool>* abort_ = nullptr;
  const ExecutionBuffers* buffers_ = nullptr;
  const Deadline* deadline_ = nullptr;  // of the run in progress

  // Per run, reused so that a run allocates nothing once warmed up.
  std::vector<std::uint32_t> waitingOn_;   // unfinished dependencies per step
  std::vector<std::uint32_t> localReady_;  // local steps whose dependencies are done
  std::vector<std::size_t> sendPosted_, recvPosted_, sendDone_, recvDone_;  // per plan peer
  std::vector<std::uint64_t> sendBase_, recvBase_;
  std::vector<pollfd> pollFds_;
  std::size_t finished_ = 0;
};

}  // namespace braid
