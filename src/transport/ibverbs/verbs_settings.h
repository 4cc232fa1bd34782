#pragma once
// The BRAID_IB_* settings, read from Env once per transport and checked, so that a
// wrong value stops init with a message naming the variable instead of failing later
// inside a queue-pair transition.
#include "transport/ibverbs/hca_spec.h"

#include <string>

namespace braid::verbs {

struct IbSettings {
  std::string hcaText;  // as given, for messages
  HcaSpec hca;
  int gidIndex = -1;    // -1: automatic
  int timeout = 14;     // IB ack timeout exponent
  int retryCount = 7;
  int trafficClass = 0;
  int serviceLevel = 0;
  int qpsPerPeer = 1;
};

// Throws InvalidArgument naming the variable when a value is malformed or out of range.
IbSettings readIbSettings();

}  // namespace braid::verbs
