#pragma once
// BRAID_ALGO is read once, when a communicator is created, so the soak varies the
// algorithm per call by holding one communicator per setting (all over the same ranks)
// and sending each call to the communicator of the setting it drew.
#include <braid/braid.h>

#include "soak_draw.h"

#include <string>
#include <vector>

namespace braid::soak {

struct Communicators {
  std::vector<AlgorithmSetting> settings;
  std::vector<Communicator> comms;  // comms[i] runs with settings[i]; comms[0] is `base`
};

// Collective over `base`'s ranks. Setting 0 is `base` itself (the tuner, under whatever
// BRAID_ALGO the job was launched with); then one communicator per name in `forced`
// ("ring", "tree", "hd", "rd", "bruck", "hier"), each created with BRAID_ALGO set to
// that name and a BRAID_CHUNK drawn from `random` (small chunks cut even the soak's
// modest sizes into many pipeline slices). "hier" poses the ranks as two hosts, so it
// needs tcp between them; it is added to BRAID_TRANSPORTS for that communicator.
// Throws std::invalid_argument for an unknown name.
Communicators makeCommunicators(Communicator base, const std::vector<std::string>& forced, Random& random);

}  // namespace braid::soak
