#pragma once
// The busbw that memory bandwidth allows. Ranks whose buffers share one memory (several
// ranks on one GPU, or host-memory ranks on one host) share its bandwidth, and a
// collective must at the least read every input and write every output there, however
// clever its algorithm. So for the memory that carries the most ranks, k of n,
//   time >= size * traffic(n) * k / n / rate,
// where traffic(n) is what all n ranks together read and write per byte of the size
// column and rate the bytes per second that memory moves. busbw <= busFactor(n) * size
// / time then follows. The rate is measured in the same run, not taken from a data
// sheet: each rank times copies inside its own memory at the same moment as the others,
// and the bytes the ranks of one memory moved, over the span from the first one's start
// to the last one's end (a host's monotonic clock), give its rate. Rooted collectives (reduce, broadcast) move their
// bytes unevenly between ranks; spreading them evenly keeps the bound an upper one only
// when the ranks share a single memory, which is the case this bound is for.
#include "common/report.h"

#include <string>
#include <vector>

namespace perf {

struct MemoryBound {
  double busBw = 0;       // GB/s (1e9 bytes); 0 when no rate was measured
  double rate = 0;        // bytes per second the busiest memory's ranks moved together
  int sharing = 0;        // ranks on that memory
  std::string where;      // e.g. "cuda:0 (NVIDIA H100 80GB HBM3) of host h1", "the host memory of h1"
};

// `trafficPerByte` and `busFactor` are the collective's, for ranks.size() ranks.
MemoryBound memoryBound(const std::vector<RankInfo>& ranks, double trafficPerByte, double busFactor);

// The footer line, without its "# Memory bound         : " label.
std::string describeBound(const MemoryBound& b, double avgBusBw);

}  // namespace perf
