#pragma once
// The tuner: for each call (collective, bytes) it names the algorithm and pipeline
// slice that the cost model predicts to be fastest on these ranks' placements, unless
// BRAID_ALGO forces or restricts the choice. Predictions are analytic (alpha-beta-gamma
// formulas per algorithm, in tuner.cpp); the simulator prices plans step by step with
// the same CostModel, so the two can be compared. Where `braid-probe --calibrate` has
// timed the algorithms on a job of this shape (rank count and nodes), the measured
// fastest wins over the formulas, which miss effects such as ranks sharing cores.
//
// `bytes` is always the nccl-tests "size" of a call: the whole buffer for all-reduce,
// broadcast and reduce; count * ranks * element size for all-gather, reduce-scatter and
// all-to-all.
#include "algorithms/algorithm.h"
#include "topology/algo_override.h"
#include "topology/cost_model.h"
#include "topology/tuning_file.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace braid {

struct Decision {
  Algorithm algorithm{};
  std::size_t sliceBytes = 0;
  double predictedUs = 0;
  // "forced by BRAID_ALGO" | "measured" | "cost model" | "only choice"
  const char* reason = "";
};

class Tuner {
 public:
  // The smallest slice worth a GPU step (a control message and a kernel launch each); the
  // GPU tuner prices no smaller one, and the communicator runs none smaller.
  static constexpr std::size_t kGpuMinSliceBytes = std::size_t{4} << 20;

  // `placements` is indexed by rank. `userSliceBytes` is BRAID_CHUNK when the user set
  // it: every algorithm is then priced and run with that slice instead of a chosen one.
  // `measured` may hold rows for any job shape; those for other shapes are ignored.
  // `space` says which links the calls' buffers travel over: host memory's, or GPU
  // memory's (same GPU, NVLink, PCIe) for calls that run on the GPUs themselves.
  Tuner(CostModel model, std::vector<RankPlacement> placements, AlgoOverride overrides,
        std::optional<std::size_t> userSliceBytes = std::nullopt, std::vector<MeasuredTime> measured = {},
        BufferSpace space = BufferSpace::Host);
  Tuner(const Tuner&) = delete;  // the memo holds atomics
  Tuner& operator=(const Tuner&) = delete;

  // Cheap after the first call per (collective, power-of-two size bucket): two atomic
  // loads, a scan of BRAID_ALGO's few ranges, and one closed-form prediction. Decisions
  // are made at the middle of the bucket, so every size in a bucket gets the same
  // algorithm and slice; predictedUs is for `bytes` itself. A measured time decides a
  // bucket when one was taken within a factor of two of its middle (the nearest, the
  // smaller size on a tie). Safe to call concurrently.
  Decision choose(Collective c, std::size_t bytes) const;

  // The model's time for one call; +infinity when `a` does not support `c`.
  double predictUs(Collective c, Algorithm a, std::size_t bytes, std::size_t sliceBytes) const;

  // Every algorithm choose() could pick for `c` (supported, allowed by a BRAID_ALGO
  // list, feasible on these placements), each at its best slice, cheapest first: the
  // rows of braid-probe's decision table.
  std::vector<Decision> alternatives(Collective c, std::size_t bytes) const;

  int ranks() const { return static_cast<int>(placements_.size()); }
  const CostModel& model() const { return model_; }

  // The link a communication pattern runs on: its slowest class, and how many of its
  // flows share that link's bandwidth: those leaving one node share its network link,
  // those between ranks of one GPU share its memory.
  struct PatternLink {
    LinkClass cls = LinkClass::SameNuma;
    int share = 1;
  };

 private:
  static constexpr int kSizeBuckets = 64;  // floor(log2(bytes)) of any 64-bit size
  static constexpr int kAlgorithms = 7;    // the members of Algorithm

  // The formulas work in doubles so that a size bucket's middle can be priced.
  double modelUs(Collective c, Algorithm a, double bytes, double slice) const;
  double ringUs(Collective c, double bytes, double slice) const;
  double treeUs(Collective c, double bytes, double slice) const;
  double halvingDoublingUs(Collective c, double bytes) const;
  double recursiveDoublingUs(double bytes) const;
  double bruckUs(double bytes) const;
  double hierarchicalUs(Collective c, double bytes, double slice) const;
  double directUs(double bytes) const;

  double alphaUs(PatternLink l) const;
  double betaUsPerByte(PatternLink l) const;
  double gammaUsPerByte() const;

  bool feasible(Algorithm a) const;
  // The slice for `a` at `bytes`: BRAID_CHUNK, or the best candidate (memoized).
  std::size_t sliceFor(Collective c, Algorithm a, std::size_t bytes) const;
  // The slice `a` is priced with at a bucket's middle.
  double sliceAt(Collective c, Algorithm a, double bytes) const;
  // 1 for the whole message, else log2 of the best pipelining slice.
  std::uint8_t bestSliceCode(Collective c, Algorithm a, double bytes) const;
  Algorithm cheapest(Collective c, double bytes) const;
  // The fastest allowed algorithm measured near `bytes`, if any.
  std::optional<Algorithm> measuredFastest(Collective c, double bytes) const;

  CostModel model_;
  std::vector<RankPlacement> placements_;
  BufferSpace space_;
  AlgoOverride overrides_;
  std::optional<std::size_t> userSliceBytes_;
  std::vector<MeasuredTime> measured_;  // this shape's rows only

  // Derived from the placements once; see tuner.cpp for what each pattern is.
  int nodes_ = 1, maxLocalRanks_ = 1, powerOfTwo_ = 1;
  PatternLink ring_, worst_, intraNode_, interNode_, allPairs_, fold_;
  std::vector<PatternLink> xorStep_;    // partner rank ^ 2^j, among the first powerOfTwo_ ranks
  std::vector<PatternLink> shiftStep_;  // partner rank - 2^j (mod n)

  // What choose() may pick per collective, fixed at construction.
  std::array<std::array<Algorithm, kAlgorithms>, kCollectives> candidates_{};
  std::array<int, kCollectives> candidateCount_{};

  // Lazily filled memo, lock-free: 0 = not yet decided.
  // choice: 1 + algorithm, plus kMeasuredBit when a measurement decided it.
  // slice: 1 = the whole message, else log2 of the slice.
  mutable std::array<std::atomic<std::uint8_t>, kCollectives * kSizeBuckets> choice_{};
  mutable std::array<std::atomic<std::uint8_t>, kCollectives * kSizeBuckets * kAlgorithms> slice_{};
};

}  // namespace braid
