#pragma once
#include <string>

namespace braid {

// Identity of this host that survives containers sharing a kernel: hostname plus the
// kernel's boot id. BRAID_HOST_ID overrides it (tests pose as several hosts).
std::string hostIdentity();
std::string hostName();
// CPUs this process may run on (its affinity mask), not the machine's total.
int usableCpus();

}  // namespace braid
