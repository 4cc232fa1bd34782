#include "core/host_identity.h"

#include "core/env.h"

#include <sched.h>
#include <unistd.h>

#include <fstream>

namespace braid {

std::string hostName() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

std::string hostIdentity() {
  std::string forced = Env::get().hostId();
  if (!forced.empty()) return forced;
  std::string boot;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> boot;
  return hostName() + "/" + boot;
}

int usableCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace braid
