#pragma once
// The soak's random calls. Every rank seeds the same generator with the same seed, so
// every rank draws the same sequence of calls (ranks must issue matching collectives)
// and a failing run is replayed exactly by passing its seed back.
#include <braid/types.h>

#include "algorithms/algorithm.h"
#include "algorithms/collective.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace braid::soak {

// splitmix64: tiny, and the same on every platform and standard library (the std
// distributions are not), so a seed means the same calls wherever it is replayed.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0. The modulo bias is irrelevant at these ranges.
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  // Uniform in [lo, hi].
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }
  bool chance(int percent) { return below(100) < static_cast<std::uint64_t>(percent); }

 private:
  std::uint64_t state_;
};

// How a communicator chooses algorithms: the tuner (BRAID_ALGO as launched), or one
// algorithm forced by BRAID_ALGO for the collectives it supports.
struct AlgorithmSetting {
  std::string name;                     // "tuner", "ring", ... as printed
  std::optional<Algorithm> forced;      // empty: the tuner decides
  bool canRun(Collective c) const { return !forced || supports(*forced, c); }
};

struct Call {
  long index = 0;
  Collective collective = Collective::AllReduce;
  DataType type = DataType::Float32;
  ReduceOp op = ReduceOp::Sum;  // reducing collectives only
  std::size_t count = 0;        // elements per rank's block (the whole buffer for all-reduce, broadcast, reduce)
  bool inPlace = false;
  bool async = false;           // through the *Async API (all-reduce, all-gather, reduce-scatter)
  int root = 0;                 // broadcast and reduce
  int setting = 0;              // index into the AlgorithmSetting list
  unsigned seed = 0;            // of this call's input values
};

bool reduces(Collective c);

// Counts: mostly small (latency paths, counts below the rank count, odd counts, zero)
// with a tail of larger ones that cut into several pipeline slices. maxCount caps the tail.
std::size_t drawCount(Random& random, std::size_t maxCount);

Call drawCall(Random& random, long index, int ranks, std::size_t maxCount,
              const std::vector<AlgorithmSetting>& settings);

// "call 17: allReduce float16 prod count 33 in-place async root 0 algorithm tree"
std::string describe(const Call& call, const std::vector<AlgorithmSetting>& settings);

}  // namespace braid::soak
