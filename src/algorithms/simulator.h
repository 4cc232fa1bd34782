#pragma once
// Runs the plans of every rank in one process, with a FIFO of messages per ordered
// pair of ranks instead of transports. It checks what the executor relies on: sizes
// of matching sends and receives agree, and the plans cannot deadlock.
#include "algorithms/plan.h"
#include "reduce/reduce.h"

#include <string>
#include <vector>

namespace braid {

struct SimRank {
  const Plan* plan = nullptr;
  std::vector<void*> buffers;  // indexed by BufferId (scratch included)
};

// Throws std::runtime_error describing the first rank that is stuck or mismatched.
void simulate(std::vector<SimRank>& ranks, std::size_t elemSize, reduce::BinaryFn combine);

}  // namespace braid
