#pragma once
// The second half of --calibrate: every algorithm timed on the job at hand (its rank
// count and hosts), for all-reduce, all-gather and reduce-scatter at each power of two
// from 8 bytes to 1 MiB. The tuner then picks the measured fastest for jobs of this
// shape, where its formulas miss what the machine does (ranks sharing cores, caches).
#include "topology/tuning_file.h"

#include <braid/communicator.h>

#include <vector>

namespace probe {

// Collective over every rank of `comm`; each row is the median over repetitions of the
// slowest rank's time per call. Rows are complete on every rank.
std::vector<braid::MeasuredTime> measureAlgorithms(braid::Communicator& comm, int nodes);

// Rank 0's table of what was measured, one line per collective and size.
void printMeasured(const std::vector<braid::MeasuredTime>& rows);

}  // namespace probe
