#pragma once
// Checks an algorithm exactly: builds every rank's plan for a case, runs them together
// in the simulator summing 64-bit integers whose sums identify their terms, and
// compares every output element with the value the collective defines. Sends complete
// only once pulled (SendCompletion::WhenPulled), so a plan that passes runs on every
// transport, buffered or not. Tests and braid-sim use it.
#include "algorithms/algorithm.h"
#include "algorithms/collective.h"
#include "algorithms/sim_plan.h"

#include <memory>
#include <string>
#include <vector>

namespace braid {

struct SimCase {
  Collective collective = Collective::AllReduce;
  Algorithm algorithm = Algorithm::Ring;
  int size = 1;
  std::size_t count = 0;  // as CollectiveShape::count
  bool inPlace = false;
  int root = 0;
  std::size_t sliceElems = std::size_t{1} << 20;
  std::shared_ptr<const NodeLayout> nodes;  // hierarchical only
};

// "" when every rank's output is exact and nothing was written past it; otherwise what
// went wrong first (a plan that cannot be built, stuck rank, mismatched message, wrong
// element), naming the case.
std::string checkExact(const SimCase& c);

// The same on plans already built by buildSimPlans(c), so that braid-sim can check and
// price one set of plans.
std::string checkExact(const SimCase& c, const std::vector<SimPlan>& plans);

// Bytes of buffers that checkExact(c, plans) allocates, so that a caller can tell
// whether a check fits in memory before running it.
std::size_t checkBufferBytes(const SimCase& c, const std::vector<SimPlan>& plans);

// Every rank's plan for the case, compacted. Ranks are built in parallel on all cores
// (each plan depends only on its shape). Throws std::runtime_error naming the first
// rank whose plan cannot be built.
std::vector<SimPlan> buildSimPlans(const SimCase& c);

std::string describe(const SimCase& c);

}  // namespace braid
