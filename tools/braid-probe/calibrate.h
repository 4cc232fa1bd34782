#pragma once
// --calibrate FILE: under a launcher with N >= 2 ranks, measures the link between ranks
// 0 and 1, the reduction speed, and every algorithm's time on this job's shape; rank 0
// writes them as a tuning file (BRAID_TUNING_FILE), keeping rows of other shapes.
#include <string>

namespace probe {

// Collective over every rank; throws braid::InvalidArgument when not started by a
// launcher or with a single rank.
void calibrate(const std::string& tuningFile);

}  // namespace probe
