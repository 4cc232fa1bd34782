#include <braid/error.h>

#include "core/env.h"
#include "transport/ibverbs/verbs_transport.h"
#include "transport/transport.h"

#include <sstream>

namespace braid {
namespace {

struct Entry {
  const char* name;
  std::unique_ptr<Transport> (*make)();
};

// Priority order: the first transport that can reach a peer is used for it.
const Entry kTransports[] = {
    {"shm", makeShmTransport},
    {"ibverbs", makeIbverbsTransport},  // only where an RDMA device is usable; else it steps aside
    {"tcp", makeTcpTransport},
};

}  // namespace

std::vector<std::unique_ptr<Transport>> makeTransports() {
  std::vector<std::unique_ptr<Transport>> out;
  std::stringstream list(Env::get().transports());
  std::string name;
  std::string known;
  for (const auto& e : kTransports) known += std::string(known.empty() ? "" : ", ") + e.name;
  while (std::getline(list, name, ',')) {
    if (name.empty()) continue;
    bool found = false;
    for (const auto& e : kTransports)
      if (name == e.name) {
        out.push_back(e.make());
        found = true;
      }
    if (!found) throw InvalidArgument("BRAID_TRANSPORTS: unknown transport '" + name + "' (known: " + known + ")");
  }
  if (out.empty()) throw InvalidArgument("BRAID_TRANSPORTS names no transport (known: " + known + ")");
  if (out.size() > PeerInfo::kMaxTransports) throw InvalidArgument("BRAID_TRANSPORTS names too many transports");
  return out;
}

}  // namespace braid
