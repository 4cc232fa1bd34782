#include "topology/tuner.h"

#include "algorithms/node_layout.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>

namespace braid {
namespace {

// Pipelining slices the tuner tries; below 64K a slice's step overhead dominates, above
// 4M the pipeline fill does, and 4M is the default shared-memory ring buffer.
constexpr int kMinSliceLog2 = 16, kMaxSliceLog2 = 22;
constexpr std::uint8_t kWholeMessage = 1;
constexpr std::uint8_t kMeasuredBit = 0x80;

int floorLog2(std::size_t x) { return x == 0 ? 0 : 63 - __builtin_clzll(x); }

// How many slices of at most `slice` bytes `bytes` needs (at least one, even when empty).
double slicesOf(double bytes, double slice) { return std::max(1.0, std::ceil(bytes / slice)); }

// `steps` pipelined steps, each moving one `slice` (transfer us/byte) and then reducing
// it (reduce us/byte). The executor overlaps one slice's reduction with the next
// slice's transfer, so a step costs the larger of the two; only the `fillSteps` that
// the first slice takes through the pipeline pay both.
double overlappedUs(double steps, double fillSteps, double slice, double alpha, double transfer, double reduce) {
  return steps * (alpha + slice * std::max(transfer, reduce)) + fillSteps * slice * std::min(transfer, reduce);
}

LinkClass slower(LinkClass a, LinkClass b) { return farness(b) > farness(a) ? b : a; }

// The flows of a pattern whose slowest link is `cls` that share one medium, at most:
// a node's network link, or one GPU's memory.
int sharing(LinkClass cls, const std::map<std::pair<int, int>, int>& flowsOn) {
  int most = 1;
  for (const auto& [medium, flows] : flowsOn)
    if ((cls == LinkClass::Network) == (medium.second < 0)) most = std::max(most, flows);
  return most;
}

// The link of a pattern in which, for every i < count, rank from(i) sends to rank
// to(i), all at once.
template <class From, class To>
Tuner::PatternLink patternOf(const std::vector<RankPlacement>& at, BufferSpace space, int count, From from, To to) {
  Tuner::PatternLink link{nearestLink(space), 1};
  std::map<std::pair<int, int>, int> flowsOn;  // (node, -1): its network; (node, gpu): that GPU
  for (int i = 0; i < count; ++i) {
    const int r = from(i), q = to(i);
    if (q == r) continue;
    const RankPlacement& sender = at[static_cast<std::size_t>(r)];
    const LinkClass c = linkBetween(sender, at[static_cast<std::size_t>(q)], space);
    link.cls = slower(link.cls, c);
    if (c == LinkClass::Network) ++flowsOn[{sender.node, -1}];
    if (c == LinkClass::SameGpu) ++flowsOn[{sender.node, sender.gpu}];
  }
  if (link.cls == LinkClass::Network || link.cls == LinkClass::SameGpu) link.share = sharing(link.cls, flowsOn);
  return link;
}

constexpr std::size_t kBucketsPerCollective = 64;  // Tuner::kSizeBuckets

std::size_t memoIndex(Collective c, int bucket) {
  return static_cast<std::size_t>(c) * kBucketsPerCollective + static_cast<std::size_t>(bucket);
}

// Every size in bucket b = floor(log2(bytes)) is decided at the bucket's geometric
// middle, so the error at a crossover is at most a factor of sqrt(2) in size.
double bucketMiddle(int bucket) { return std::ldexp(std::sqrt(2.0), bucket); }

}  // namespace

Tuner::Tuner(CostModel model, std::vector<RankPlacement> placements, AlgoOverride overrides,
             std::optional<std::size_t> userSliceBytes, std::vector<MeasuredTime> measured, BufferSpace space)
    : model_(model),
      placements_(std::move(placements)),
      space_(space),
      overrides_(std::move(overrides)),
      userSliceBytes_(userSliceBytes) {
  static_assert(kSizeBuckets == kBucketsPerCollective);
  static_assert(kGpuMinSliceBytes <= std::size_t{1} << kMaxSliceLog2);
  if (placements_.empty()) throw std::invalid_argument("Tuner: no ranks");
  if (userSliceBytes_ && *userSliceBytes_ == 0) throw std::invalid_argument("Tuner: slice of 0 bytes");
  const int n = ranks();
  std::vector<int> nodeIds;
  for (const RankPlacement& p : placements_) nodeIds.push_back(p.node);
  const NodeLayout layout = NodeLayout::make(nodeIds);
  nodes_ = layout.nodes();
  for (const auto& local : layout.ranksOfNode)
    maxLocalRanks_ = std::max(maxLocalRanks_, static_cast<int>(local.size()));
  powerOfTwo_ = 1 << floorLog2(static_cast<std::size_t>(n));
  for (const MeasuredTime& m : measured)
    if (m.ranks == n && m.nodes == nodes_) measured_.push_back(m);

  const auto self = [](int r) { return r; };
  ring_ = patternOf(placements_, space_, n, self, [n](int r) { return (r + 1) % n; });
  // Any ring through all ranks crosses every boundary between them, so its slowest
  // class is the slowest of the whole communicator (the tree must cross them too).
  worst_ = {ring_.cls, 1};
  intraNode_.cls = nearestLink(space_);
  for (const auto& local : layout.ranksOfNode)
    for (std::size_t i = 1; i < local.size(); ++i)
      intraNode_.cls = slower(intraNode_.cls, linkBetween(placements_[static_cast<std::size_t>(local[i - 1])],
                                                          placements_[static_cast<std::size_t>(local[i])], space_));
  // Across nodes, a node's ranks all work at once and share its network link; when
  // every pair is on one GPU, all of them share its memory.
  interNode_ = {LinkClass::Network, maxLocalRanks_};
  const bool shared = worst_.cls == LinkClass::Network || worst_.cls == LinkClass::SameGpu;
  allPairs_ = {worst_.cls, shared ? maxLocalRanks_ : 1};
  // Halving/doubling folds the n - p extra ranks as the plans do: among the first
  // 2(n-p) ranks each even rank pairs with the odd one above it, which then stands for
  // both; the p remaining members (those odd ranks, then ranks from 2(n-p) on) exchange
  // across bit d of their member index.
  const int p = powerOfTwo_, extras = n - p;
  fold_ = patternOf(placements_, space_, 2 * extras, self, [](int r) { return r ^ 1; });
  const auto rankOfMember = [extras](int v) { return v < extras ? 2 * v + 1 : v + extras; };
  for (int d = 1; d < p; d <<= 1)
    xorStep_.push_back(patternOf(placements_, space_, p, rankOfMember, [&](int v) { return rankOfMember(v ^ d); }));
  for (int d = 1; d < n; d <<= 1)
    shiftStep_.push_back(patternOf(placements_, space_, n, self, [d, n](int r) { return (r - d + n) % n; }));

  for (Collective c : {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter, Collective::Broadcast,
                       Collective::Reduce, Collective::AllToAll}) {
    const auto ci = static_cast<std::size_t>(c);
    for (bool honourList : {true, false}) {  // a list naming only infeasible algorithms falls back to all
      for (Algorithm a : kAllAlgorithms)
        if (supports(a, c) && feasible(a) && (!honourList || overrides_.allowed(c, a)))
          candidates_[ci][static_cast<std::size_t>(candidateCount_[ci]++)] = a;
      if (candidateCount_[ci] > 0) break;
    }
  }
}

bool Tuner::feasible(Algorithm a) const {
  // Hierarchical needs something to gather within nodes and something to cross.
  if (a == Algorithm::Hierarchical) return nodes_ >= 2 && maxLocalRanks_ >= 2;
  return true;
}

// --- The cost model -----------------------------------------------------------------
// alpha: a message's latency on the pattern's link plus the executor's cost of a step.
// beta: time per byte; flows that leave one node together divide its network bandwidth.
// gamma: time per byte of reduction (one input consumed). Sends to several peers in one
// step overlap their latency but not their bytes (a rank's link carries them all).
// Only pipelined algorithms overlap a reduction with a transfer (see overlappedUs);
// the log-step algorithms move whole blocks and reduce them after they arrive.

double Tuner::alphaUs(PatternLink l) const { return model_.link(l.cls).latencyUs + model_.stepOverheadUs; }
double Tuner::betaUsPerByte(PatternLink l) const { return l.share / (model_.link(l.cls).gbPerSec * 1e3); }
double Tuner::gammaUsPerByte() const { return 1.0 / (model_.reduceGBps * 1e3); }

double Tuner::predictUs(Collective c, Algorithm a, std::size_t bytes, std::size_t sliceBytes) const {
  return modelUs(c, a, static_cast<double>(bytes), static_cast<double>(std::max<std::size_t>(1, sliceBytes)));
}

double Tuner::modelUs(Collective c, Algorithm a, double S, double s) const {
  if (!supports(a, c)) return std::numeric_limits<double>::infinity();
  if (ranks() == 1) return 0;  // a local copy at most
  switch (a) {
    case Algorithm::Ring:
      return ringUs(c, S, s);
    case Algorithm::Tree:
      return treeUs(c, S, s);
    case Algorithm::HalvingDoubling:
      return halvingDoublingUs(c, S);
    case Algorithm::RecursiveDoubling:
      return recursiveDoublingUs(S);
    case Algorithm::Bruck:
      return bruckUs(S);
    case Algorithm::Hierarchical:
      return hierarchicalUs(c, S, s);
    case Algorithm::Direct:
      return directUs(S);
  }
  return std::numeric_limits<double>::infinity();
}

// Ring over n ranks, each owning S/n, pipelined in k = S/(n*slice) rounds of slices
// b = S/(n k); per byte, the reduce-scatter half pays max(beta, gamma) once filled:
//   all-reduce      2(n-1)k alpha + (n-1)/n S (max(beta, gamma) + beta) + (n-1) b min(beta, gamma)
//   all-gather       (n-1)k alpha + (n-1)/n S beta
//   reduce-scatter   (n-1)k alpha + (n-1)/n S max(beta, gamma) + (n-1) b min(beta, gamma)
// Broadcast and reduce run as a chain from the root: k = S/slice slices pass n-1 hops,
//   (n-1 + k-1) (alpha + slice max(beta, gamma)) + (n-1) slice min(beta, gamma).
// Smaller slices fill the pipeline sooner but pay alpha more often: the slice choice.
// Every step waits for the slowest neighbour pair, hence the ring's slowest link.
double Tuner::ringUs(Collective c, double S, double s) const {
  const double n = ranks(), a = alphaUs(ring_), b = betaUsPerByte(ring_), g = gammaUsPerByte();
  const double rounds = slicesOf(S / n, s), slice = S / n / rounds, steps = (n - 1) * rounds;
  switch (c) {
    case Collective::AllReduce:
      return overlappedUs(steps, n - 1, slice, a, b, g) + overlappedUs(steps, 0, slice, a, b, 0);
    case Collective::AllGather:
      return overlappedUs(steps, 0, slice, a, b, 0);
    case Collective::ReduceScatter:
      return overlappedUs(steps, n - 1, slice, a, b, g);
    case Collective::Broadcast:
    case Collective::Reduce: {
      const double k = slicesOf(S, s);
      return overlappedUs(n - 1 + k - 1, n - 1, S / k, a, b, c == Collective::Reduce ? g : 0);
    }
    case Collective::AllToAll:
      break;
  }
  return std::numeric_limits<double>::infinity();
}

// Binary trees of depth D = floor(log2 n), pipelined in slices; an interior rank sends
// (or receives and reduces) two slices per step, one per child.
//   broadcast/reduce: D + k-1 steps of (alpha + 2 slice beta [overlapped with 2 slice gamma]),
//   k = S/slice.
//   all-reduce, double binary tree: each tree carries half of S and every rank is
//   interior in at most one, so per step a rank moves two slices up (reducing them)
//   and two down, over D + m-1 steps each way, m = S/(2 slice). Small messages cost
//   ~2 log2(n) alpha; large ones ~2 S beta, more than the ring's 2(n-1)/n S beta.
// All hops are priced on the communicator's slowest link: the tree must cross it.
double Tuner::treeUs(Collective c, double S, double s) const {
  const double depth = floorLog2(static_cast<std::size_t>(ranks()));
  const double a = alphaUs(worst_), b = betaUsPerByte(worst_), g = gammaUsPerByte();
  if (c == Collective::AllReduce) {
    const double m = slicesOf(S / 2, s), slice = S / 2 / m;
    return overlappedUs(depth + m - 1, depth, slice, a, 2 * b, 2 * g) +
           overlappedUs(depth + m - 1, 0, slice, a, 2 * b, 0);
  }
  const double k = slicesOf(S, s);
  return overlappedUs(depth + k - 1, depth, S / k, a, 2 * b, c == Collective::Reduce ? 2 * g : 0);
}

// Rabenseifner over p = 2^floor(log2 n) ranks: recursive halving reduce-scatter, then
// (all-reduce only) recursive doubling all-gather. Halving step j exchanges S/2^(j+1)
// with the partner at distance p/2^(j+1), the textbook order (largest messages go
// farthest, which is what a rank-order layout across nodes pays for):
//   all-reduce ~ 2 log2(p) alpha + 2 (p-1)/p S beta + (p-1)/p S gamma.
// When n is not a power of two, n-p ranks first fold their whole input into a neighbour (alpha + S beta + S gamma) and
// afterwards receive the result (all of it for all-reduce, their block for reduce-scatter).
double Tuner::halvingDoublingUs(Collective c, double S) const {
  const int steps = static_cast<int>(xorStep_.size());
  const double g = gammaUsPerByte();
  double t = 0;
  for (int j = 0; j < steps; ++j) {
    const PatternLink link = xorStep_[static_cast<std::size_t>(steps - 1 - j)];
    const double half = std::ldexp(S, -(j + 1));
    t += alphaUs(link) + half * (betaUsPerByte(link) + g);                            // halving
    if (c == Collective::AllReduce) t += alphaUs(link) + half * betaUsPerByte(link);  // doubling
  }
  if (ranks() != powerOfTwo_) {
    const double a = alphaUs(fold_), b = betaUsPerByte(fold_);
    const double back = c == Collective::AllReduce ? S : S / ranks();
    t += a + S * (b + g) + a + back * b;
  }
  return t;
}

// Recursive doubling all-gather: step j exchanges 2^j blocks with the partner at
// distance 2^j: log2(p) alpha + (p-1)/p S beta. Extra ranks beyond p hand their block
// to a partner first and receive the whole result last.
double Tuner::recursiveDoublingUs(double S) const {
  const int steps = static_cast<int>(xorStep_.size());
  double t = 0;
  for (int j = 0; j < steps; ++j) {
    const PatternLink link = xorStep_[static_cast<std::size_t>(j)];
    t += alphaUs(link) + std::ldexp(S / powerOfTwo_, j) * betaUsPerByte(link);
  }
  if (ranks() != powerOfTwo_)
    t += alphaUs(fold_) + S / ranks() * betaUsPerByte(fold_) + alphaUs(fold_) + S * betaUsPerByte(fold_);
  return t;
}

// Bruck all-gather, any n: step j sends min(2^j, n-2^j) blocks to rank r-2^j, so
// ceil(log2 n) alpha + (n-1)/n S beta, plus the final local rotation of all S bytes,
// priced as a memory move where the buffers are (one NUMA node's memory, or one GPU's).
double Tuner::bruckUs(double S) const {
  const int n = ranks();
  double t = S / (model_.link(nearestLink(space_)).gbPerSec * 1e3);
  for (std::size_t j = 0; j < shiftStep_.size(); ++j) {
    const int distance = 1 << j;
    const double blocks = std::min(distance, n - distance);
    t += alphaUs(shiftStep_[j]) + blocks * S / n * betaUsPerByte(shiftStep_[j]);
  }
  return t;
}

// Hierarchical with N nodes of at most L ranks: rings within each node on its slowest
// intra-node link, and between the ranks of equal local index across nodes on the
// network, where each carries S/L and the L of one node share its network link.
// (When nodes differ in size the plans let one leader per node carry all S across
// instead: the same bytes through the node's link, so the inter phase costs the same
// here; the leader's extra intra-node gathering is not modelled.)
//   all-reduce:     intra reduce-scatter(S) + inter all-reduce(S/L) + intra all-gather(S)
//   all-gather:     inter all-gather(S/L) + intra all-gather(S)
//   reduce-scatter: intra reduce-scatter(S) + inter reduce-scatter(S/L)
// The biggest node sets the pace when nodes differ in size.
double Tuner::hierarchicalUs(Collective c, double S, double s) const {
  const double L = maxLocalRanks_, N = nodes_, g = gammaUsPerByte();
  auto ringPhase = [&](double m, double bytes, PatternLink link, bool reduces) {
    const double rounds = slicesOf(bytes / m, s);
    return overlappedUs((m - 1) * rounds, reduces ? m - 1 : 0, bytes / m / rounds, alphaUs(link), betaUsPerByte(link),
                        reduces ? g : 0);
  };
  const double perRank = S / L;
  switch (c) {
    case Collective::AllReduce:
      return ringPhase(L, S, intraNode_, true) + ringPhase(N, perRank, interNode_, true) +
             ringPhase(N, perRank, interNode_, false) + ringPhase(L, S, intraNode_, false);
    case Collective::AllGather:
      return ringPhase(N, perRank, interNode_, false) + ringPhase(L, S, intraNode_, false);
    case Collective::ReduceScatter:
      return ringPhase(L, S, intraNode_, true) + ringPhase(N, perRank, interNode_, true);
    default:
      break;
  }
  return std::numeric_limits<double>::infinity();
}

// Direct all-to-all: every rank posts n-1 messages of S/n at once; their latencies
// overlap on the wire but each costs a step, and the bytes share the rank's link.
double Tuner::directUs(double S) const {
  const double n = ranks();
  return (n - 1) * alphaUs(allPairs_) + (n - 1) / n * S * betaUsPerByte(allPairs_);
}

// --- Choosing -----------------------------------------------------------------------

std::uint8_t Tuner::bestSliceCode(Collective c, Algorithm a, double S) const {
  std::uint8_t best = kWholeMessage;
  double bestUs = modelUs(c, a, S, std::max(1.0, S));
  const int minLog2 = space_ == BufferSpace::Gpu ? floorLog2(kGpuMinSliceBytes) : kMinSliceLog2;
  for (int log2 = minLog2; log2 <= kMaxSliceLog2 && std::ldexp(1.0, log2) < S; ++log2) {
    const double us = modelUs(c, a, S, std::ldexp(1.0, log2));
    if (us < bestUs) bestUs = us, best = static_cast<std::uint8_t>(log2);
  }
  return best;
}

double Tuner::sliceAt(Collective c, Algorithm a, double S) const {
  if (userSliceBytes_) return std::min(static_cast<double>(*userSliceBytes_), std::max(1.0, S));
  const std::uint8_t code = bestSliceCode(c, a, S);
  return code == kWholeMessage ? std::max(1.0, S) : std::ldexp(1.0, code);
}

std::size_t Tuner::sliceFor(Collective c, Algorithm a, std::size_t bytes) const {
  const std::size_t whole = std::max<std::size_t>(1, bytes);
  if (userSliceBytes_) return std::min(*userSliceBytes_, whole);
  const int bucket = floorLog2(bytes);
  auto& memo = slice_[memoIndex(c, bucket) * kAlgorithms + static_cast<std::size_t>(a)];
  std::uint8_t code = memo.load(std::memory_order_relaxed);
  if (code == 0) {
    code = bestSliceCode(c, a, bucketMiddle(bucket));
    memo.store(code, std::memory_order_relaxed);
  }
  // A candidate below the bucket's middle is a power of two <= 2^bucket <= bytes.
  return code == kWholeMessage ? whole : std::size_t{1} << code;
}

Algorithm Tuner::cheapest(Collective c, double S) const {
  const auto ci = static_cast<std::size_t>(c);
  Algorithm best = candidates_[ci][0];
  double bestUs = std::numeric_limits<double>::infinity();
  for (int i = 0; i < candidateCount_[ci]; ++i) {
    const Algorithm a = candidates_[ci][static_cast<std::size_t>(i)];
    const double us = modelUs(c, a, S, sliceAt(c, a, S));
    if (us < bestUs) bestUs = us, best = a;
  }
  return best;
}

std::optional<Algorithm> Tuner::measuredFastest(Collective c, double S) const {
  const auto ci = static_cast<std::size_t>(c);
  const auto begin = candidates_[ci].begin(), end = begin + candidateCount_[ci];
  // The nearest measured size, in octaves, within one octave.
  double nearest = std::numeric_limits<double>::infinity(), distance = 1.0 + 1e-9;
  for (const MeasuredTime& m : measured_) {
    const double d = std::fabs(std::log2(static_cast<double>(m.bytes)) - std::log2(S));
    if (m.collective == c && std::find(begin, end, m.algorithm) != end &&
        (d < distance - 1e-9 || (d < distance + 1e-9 && static_cast<double>(m.bytes) < nearest)))
      nearest = static_cast<double>(m.bytes), distance = d;
  }
  std::optional<Algorithm> fastest;
  double fastestUs = std::numeric_limits<double>::infinity();
  for (const MeasuredTime& m : measured_)
    if (m.collective == c && static_cast<double>(m.bytes) == nearest && m.us < fastestUs &&
        std::find(begin, end, m.algorithm) != end)
      fastest = m.algorithm, fastestUs = m.us;
  return fastest;
}

Decision Tuner::choose(Collective c, std::size_t bytes) const {
  if (const auto forced = overrides_.forced(c, bytes)) {
    const std::size_t slice = sliceFor(c, *forced, bytes);
    return {*forced, slice, predictUs(c, *forced, bytes, slice), "forced by BRAID_ALGO"};
  }
  const int bucket = floorLog2(bytes);
  auto& memo = choice_[memoIndex(c, bucket)];
  std::uint8_t code = memo.load(std::memory_order_relaxed);
  if (code == 0) {
    const auto measured = measuredFastest(c, bucketMiddle(bucket));
    const Algorithm a = measured ? *measured : cheapest(c, bucketMiddle(bucket));
    code = static_cast<std::uint8_t>((1 + static_cast<int>(a)) | (measured ? kMeasuredBit : 0));
    memo.store(code, std::memory_order_relaxed);
  }
  const auto a = static_cast<Algorithm>((code & ~kMeasuredBit) - 1);
  const std::size_t slice = sliceFor(c, a, bytes);
  const char* reason = candidateCount_[static_cast<std::size_t>(c)] == 1 ? "only choice"
                       : (code & kMeasuredBit)                           ? "measured"
                                                                         : "cost model";
  return {a, slice, predictUs(c, a, bytes, slice), reason};
}

std::vector<Decision> Tuner::alternatives(Collective c, std::size_t bytes) const {
  const auto ci = static_cast<std::size_t>(c);
  const auto forced = overrides_.forced(c, bytes);
  std::vector<Algorithm> algorithms(candidates_[ci].begin(), candidates_[ci].begin() + candidateCount_[ci]);
  if (forced && std::find(algorithms.begin(), algorithms.end(), *forced) == algorithms.end())
    algorithms.push_back(*forced);
  std::vector<Decision> rows;
  for (Algorithm a : algorithms) {
    const std::size_t slice = sliceFor(c, a, bytes);
    const char* reason = forced == a ? "forced by BRAID_ALGO" : algorithms.size() == 1 ? "only choice" : "cost model";
    rows.push_back({a, slice, predictUs(c, a, bytes, slice), reason});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Decision& x, const Decision& y) { return x.predictedUs < y.predictedUs; });
  return rows;
}

}  // namespace braid
