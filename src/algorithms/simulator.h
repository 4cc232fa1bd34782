#pragma once
// Runs the plans of every rank in one process, with a FIFO of messages per ordered
// pair of ranks instead of transports. It checks what the executor relies on: sizes
// of matching sends and receives agree, and the plans cannot deadlock.
//
// It is event-driven: a step runs when the last thing it waits for is done (see
// SimProgress), so the cost is linear in the number of steps of all ranks, and a
// 4096-rank ring all-reduce (67M steps) runs in seconds.
#include "algorithms/plan.h"
#include "algorithms/sim_plan.h"
#include "reduce/reduce.h"

#include <string>
#include <vector>

namespace braid {

struct SimRank {
  const Plan* plan = nullptr;
  std::vector<void*> buffers;  // indexed by BufferId (scratch included)
};

// Throws std::runtime_error describing the first rank that is stuck or mismatched, or
// the first pair of ranks with a message that nobody received.
void simulate(std::vector<SimRank>& ranks, std::size_t elemSize, reduce::BinaryFn combine);

// The same on compact plans; buffers[rank] is indexed by BufferId.
void simulate(const std::vector<SimPlan>& plans, const std::vector<std::vector<void*>>& buffers, std::size_t elemSize,
              reduce::BinaryFn combine);

}  // namespace braid
