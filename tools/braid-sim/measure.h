#pragma once
// One braid-sim measurement: build every rank's plan for an algorithm, run them in the
// simulator to check the result exactly, and price them with the cost model.
#include "algorithms/algorithm.h"
#include "algorithms/sim_check.h"

#include <cstddef>
#include <optional>
#include <string>

namespace braid::sim {

struct Setup {
  Collective collective = Collective::AllReduce;
  int ranks = 1;
  std::size_t bytes = 0;         // the whole buffer, as nccl-tests counts it
  int ranksPerNode = 8;          // rank r runs on node r / ranksPerNode
  std::size_t dtypeBytes = 8;    // element size the plans are priced with
  std::size_t chunkBytes = 512 << 10;  // pipeline slice, as BRAID_CHUNK
};

struct Measurement {
  bool built = false;
  std::optional<bool> exact;  // nullopt: not checked
  double modeledUs = 0;
  std::size_t steps = 0;      // all ranks together
  std::string problem;        // why it is not built or not exact, or why unchecked
};

// The case the checker and pricer run for `algorithm` under `setup`.
SimCase caseFor(const Setup& setup, Algorithm algorithm);

// Checks exactly only when the simulated buffers of all ranks fit in
// `checkBudgetBytes`; a case that does not is priced only.
Measurement measure(const Setup& setup, Algorithm algorithm, std::size_t checkBudgetBytes);

// 8B, 64KB, 1MB as short as they go (the inverse of parseByteSize, for tables).
std::string formatSize(std::size_t bytes);

}  // namespace braid::sim
