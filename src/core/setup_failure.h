#pragma once
// A rank that fails while it sets up its communicator, before the peer table is
// gathered (a setting it cannot read, a transport that cannot start), still takes part
// in the gather, with its error in its entry, and throws that error after it; the
// others learn it from the table and fail at the same point, naming it, instead of
// waiting for it until BRAID_TIMEOUT.
#include "transport/transport.h"

#include <braid/error.h>

#include <exception>
#include <vector>

namespace braid {

class SetupFailure {
 public:
  // Runs `step` unless an earlier step failed; a braid::Error it throws is kept (named
  // as this rank's, "rank R: ...", where its text did not say so), and its text written
  // into `me`.
  template <class Step>
  void attempt(PeerInfo& me, Step&& step) {
    if (error_) return;
    try {
      step();
    } catch (const Error& e) {
      keep(me, e);
    }
  }
  // After the gather: rethrows this rank's own error, else throws RemoteError naming the
  // ranks whose entries carry one, with their errors.
  void raise(const std::vector<PeerInfo>& peers, int rank) const;

 private:
  void keep(PeerInfo& me, const Error& e);
  std::exception_ptr error_;
};

}  // namespace braid
