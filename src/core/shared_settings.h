#pragma once
// Settings every rank of a communicator must share. Ranks that differed would check
// their calls differently (BRAID_CHECK) or choose other algorithms and slices
// (BRAID_ALGO, BRAID_CHUNK, BRAID_TUNING_FILE), and so misread each other's traffic or
// wait for data never sent. Each rank puts its own into its PeerInfo before the peer
// table is all-gathered; every rank then checks the same table, so all refuse together,
// before any connection is made.
#include "core/algorithm_choice.h"
#include "transport/transport.h"

#include <exception>
#include <vector>

namespace braid {

// This rank's settings, as read once before the peer table is gathered: what the ranks
// compare is what each then uses.
struct OwnSettings {
  TunerSettings tuner;
  std::exception_ptr unreadable;  // why this rank could not read them, if it could not
};

// Reads this rank's settings and puts them into `me`: BRAID_CHECK from Env, the others
// as readTunerSettings() parsed them, so text that means the same (case, blanks, a
// file's spacing) agrees. A setting it cannot read is marked in `me` rather than
// thrown, so every rank learns of it and all refuse together.
OwnSettings describeSharedSettings(PeerInfo& me, int rank);

// Throws why this rank could not read its settings; else InvalidArgument when another
// rank could not, or when the ranks' settings differ, naming the setting and which
// ranks hold which value.
void requireSharedSettings(const std::vector<PeerInfo>& peers, int rank, const OwnSettings& own);

}  // namespace braid
