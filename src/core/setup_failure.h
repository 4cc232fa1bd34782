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
  // Runs `step` unless an earlier step failed. What it throws is kept (a braid::Error
  // named as this rank's, "rank R: ...", where its text did not say so), logged at once
  // (the gather may take a while if peers are late), and its text written into `me`.
  template <class Step>
  void attempt(PeerInfo& me, Step&& step) {
    if (error_) return;
    try {
      step();
    } catch (const Error& e) {
      keep(me, e);
    } catch (const std::exception& e) {
      keep(me, e);
    }
  }
  // For a failure of the gather itself: rethrows this rank's own error first, if any
  // (it is why this rank could not go on, whatever the gather then did).
  void rethrowOwn() const {
    if (error_) std::rethrow_exception(error_);
  }
  // After the gather: rethrows this rank's own error, else throws RemoteError naming the
  // ranks whose entries carry one, with their errors.
  void raise(const std::vector<PeerInfo>& peers, int rank) const;

 private:
  void keep(PeerInfo& me, const std::exception& e);
  std::exception_ptr error_;
};

}  // namespace braid
