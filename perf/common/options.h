#pragma once
// Command-line options of the perf tools, spelled as nccl-tests spells them so that
// scripts written for nccl-tests run unchanged against Braid.
#include "common/memory.h"

#include <braid/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace perf {

struct Options {
  // Defaults are nccl-tests' own, so a bare invocation measures the same thing.
  std::size_t minBytes = 32u << 20;
  std::size_t maxBytes = 32u << 20;
  std::size_t stepBytes = 1u << 20;
  std::size_t stepFactor = 1;  // > 1: multiply the size; otherwise add stepBytes
  int iters = 20;
  int warmupIters = 5;
  int aggIters = 1;    // -m: calls grouped into one groupStart/groupEnd
  int runCycles = 1;   // -N: 0 repeats the size sweep forever
  int check = 1;       // -c: number of checked runs per size and placement
  int root = 0;        // -r: -1 runs every root in turn
  int average = 1;     // -a: 0 rank 0, 1 mean, 2 min, 3 max
  int blocking = 0;    // -z: barrier after every timed call
  int timeoutSec = 0;  // -T: 0 keeps BRAID_TIMEOUT as the environment has it
  std::vector<braid::DataType> types{braid::DataType::Float32};
  std::vector<braid::ReduceOp> ops{braid::ReduceOp::Sum};
  std::string jsonPath;            // -J
  MemoryChoice memory = MemoryChoice::Auto;  // --memory
  std::vector<std::string> notes;  // "# ..." lines about flags accepted but ignored
};

// Parses argv. On a bad or unknown flag prints why (once, from rank 0) and exits
// with status 2; on -h prints the usage and exits 0.
Options parseOptions(int argc, char** argv);

// The rank as the launcher announces it, before a communicator exists (0 if unknown).
int launcherRank();

// nccl-tests' op names: "mulsum" for PreMulSum.
const char* opName(braid::ReduceOp op);

}  // namespace perf
