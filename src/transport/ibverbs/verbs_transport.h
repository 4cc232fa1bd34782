#pragma once
// The RDMA verbs transport (registry.cpp lists it). Built without libibverbs, it
// reaches nobody, and naming it in BRAID_TRANSPORTS is an error that says so.
#include "transport/transport.h"

#include <memory>

namespace braid {

std::unique_ptr<Transport> makeIbverbsTransport();

}  // namespace braid
