#pragma once
// Settings every rank of a communicator must share. Ranks that differed would check
// their calls differently (BRAID_CHECK) or choose other algorithms and slices
// (BRAID_ALGO, BRAID_CHUNK, BRAID_TUNING_FILE), and so misread each other's traffic or
// wait for data never sent. Each rank puts its own into its PeerInfo before the peer
// table is all-gathered; every rank then checks the same table, so all refuse together,
// before any connection is made.
#include "core/algorithm_choice.h"
#include "transport/transport.h"

#include <vector>

namespace braid {

// Reads this rank's settings once, before the peer table is gathered (what the ranks
// compare is what each then uses), and puts them into `me`: BRAID_CHECK and
// BRAID_CUDA_IPC from Env, the others as readTunerSettings() parsed them, so text that
// means the same (case, blanks, a file's spacing) agrees. Throws InvalidArgument for a
// setting it cannot read.
TunerSettings describeSharedSettings(PeerInfo& me, int rank);

// InvalidArgument when the ranks' settings differ, naming the setting and which ranks
// hold which value.
void requireSharedSettings(const std::vector<PeerInfo>& peers, int rank);

}  // namespace braid
