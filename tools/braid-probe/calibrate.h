#pragma once
// --calibrate FILE: measures this machine's link and reduction costs between two ranks
// started by a launcher, and rank 0 writes them as a tuning file (BRAID_TUNING_FILE).
#include <string>

namespace probe {

// Collective over exactly two ranks; throws braid::InvalidArgument when not started by a
// launcher or with another number of ranks.
void calibrate(const std::string& tuningFile);

}  // namespace probe
