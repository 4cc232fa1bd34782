#pragma once
// ncclConfig_t as Braid reads it. Programs built against older NCCL headers pass a
// smaller struct (its `size`) with an older `version`: fields it lacks, or that its
// version did not define yet, take their defaults, as NCCL does.
#include <nccl.h>

#include <string>

namespace braid::nccl {

// The options a communicator keeps. Braid acts on `blocking`; the GPU launch options
// (CTAs, CGA cluster size, NVLS, collnet) are checked as NCCL checks them and then
// have nothing to tune on host memory.
struct CommOptions {
  bool blocking = true;
  std::string name;  // config.commName, for log lines
};

// NULL gives `inherited` (a split or shrink child takes its parent's options) or the
// defaults. Throws ApiError(ncclInvalidArgument) naming the field for a struct that
// NCCL_CONFIG_INITIALIZER did not start, or a value NCCL rejects.
CommOptions readConfig(const ncclConfig_t* config, const CommOptions* inherited, int rank);

}  // namespace braid::nccl
