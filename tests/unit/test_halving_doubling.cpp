// The logarithmic algorithms (Rabenseifner all-reduce, recursive halving
// reduce-scatter, recursive doubling and Bruck all-gathers): exact in the simulator for
// every rank count up to 33 and some large ones, powers of two or not, with zero, tiny
// and uneven counts, in and out of place, sliced or not; steps that share memory are
// ordered by their dependencies; and each rank sends O(log n) messages.
#include "algorithms/algorithms.h"
#include "algorithms/sim_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <string>
#include <vector>

namespace braid {
namespace {

std::vector<int> rankCounts() {
  std::vector<int> sizes;
  for (int n = 1; n <= 33; ++n) sizes.push_back(n);
  for (int n : {64, 127, 128, 1000}) sizes.push_back(n);
  return sizes;
}

// Every rank count, count, layout and slicing. The simulator's work grows with ranks
// times count times slices, so the large rank counts take fewer counts, and only the
// tiny ones in small slices.
void expectExact(Collective collective, Algorithm algorithm) {
  for (int size : rankCounts()) {
    const bool large = size > 33;
    std::vector<std::size_t> counts{0, 1, 2, 3, 7, 13, 64, 1001};
    if (large) counts = {0, 1, 3, 13};
    for (std::size_t count : counts)
      for (bool inPlace : {false, true})
        for (std::size_t slice : {std::size_t{3}, std::size_t{1} << 20}) {
          if (large && slice == 3 && count > 3) continue;
          SimCase c{collective, algorithm, size, count, inPlace, 0, slice, nullptr};
          EXPECT_EQ(checkExact(c), "");
        }
  }
}

TEST(HalvingDoubling, AllReduceIsExact) { expectExact(Collective::AllReduce, Algorithm::HalvingDoubling); }
TEST(HalvingDoubling, ReduceScatterIsExact) { expectExact(Collective::ReduceScatter, Algorithm::HalvingDoubling); }
TEST(RecursiveDoubling, AllGatherIsExact) { expectExact(Collective::AllGather, Algorithm::RecursiveDoubling); }
TEST(Bruck, AllGatherIsExact) { expectExact(Collective::AllGather, Algorithm::Bruck); }

// The memory a region of a plan touches, as (buffer, begin, end) after resolving the
// NCCL in-place layouts, where the input and output share memory.
struct Span {
  BufferId buffer;
  std::size_t begin, end;
  bool overlaps(const Span& o) const { return buffer == o.buffer && begin < o.end && o.begin < end; }
};

Span memoryOf(const CollectiveShape& s, Region r) {
  Span span{r.buffer, r.offset, r.offset + r.count};
  if (!s.inPlace) return span;
  const std::size_t rankOffset = s.count * static_cast<std::size_t>(s.rank);
  auto move = [&](BufferId to, std::size_t by) { span = Span{to, span.begin + by, span.end + by}; };
  if (s.collective == Collective::AllReduce && r.buffer == kInput) move(kOutput, 0);
  if (s.collective == Collective::AllGather && r.buffer == kInput) move(kOutput, rankOffset);
  if (s.collective == Collective::ReduceScatter && r.buffer == kOutput) move(kInput, rankOffset);
  return span;
}

// The simulator runs steps in plan order where it can, so it cannot see a missing
// dependency. Here: every two steps that touch the same memory, one of them writing,
// must be ordered by the plan's dependencies, or the executor may run them either way.
std::string unorderedConflict(const CollectiveShape& s) {
  const Plan plan = buildPlan(s);
  const std::size_t n = plan.steps.size();
  std::vector<std::vector<bool>> before(n, std::vector<bool>(n, false));  // before[j][i]: i precedes j
  for (std::size_t j = 0; j < n; ++j)
    for (std::uint32_t d = 0; d < plan.steps[j].numDeps; ++d) {
      std::uint32_t i = plan.deps[plan.steps[j].firstDep + d];
      before[j][i] = true;
      for (std::size_t k = 0; k < n; ++k) before[j][k] = before[j][k] || before[i][k];
    }
  struct Access {
    std::vector<Span> reads, writes;
  };
  std::vector<Access> access(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Step& step = plan.steps[i];
    if (step.kind != StepKind::Recv) access[i].reads.push_back(memoryOf(s, step.src));
    if (step.kind == StepKind::Reduce) access[i].reads.push_back(memoryOf(s, step.dst));
    if (step.kind != StepKind::Send) access[i].writes.push_back(memoryOf(s, step.dst));
  }
  auto conflict = [](const Access& a, const Access& b) {
    for (const Span& w : a.writes) {
      for (const Span& o : b.reads) if (w.overlaps(o)) return true;
      for (const Span& o : b.writes) if (w.overlaps(o)) return true;
    }
    return false;
  };
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < j; ++i)
      if ((conflict(access[i], access[j]) || conflict(access[j], access[i])) && !before[j][i])
        return "rank " + std::to_string(s.rank) + " of " + std::to_string(s.size) + ": steps " + std::to_string(i) +
               " and " + std::to_string(j) + " touch the same memory unordered";
  return "";
}

TEST(HalvingDoubling, StepsThatShareMemoryAreOrdered) {
  const std::pair<Collective, Algorithm> cases[] = {{Collective::AllReduce, Algorithm::HalvingDoubling},
                                                    {Collective::ReduceScatter, Algorithm::HalvingDoubling},
                                                    {Collective::AllGather, Algorithm::RecursiveDoubling},
                                                    {Collective::AllGather, Algorithm::Bruck}};
  for (auto [collective, algorithm] : cases)
    for (int size : {2, 3, 5, 6, 7, 8, 12})
      for (bool inPlace : {false, true})
        for (std::size_t slice : {std::size_t{3}, std::size_t{1} << 20})
          for (int rank = 0; rank < size; ++rank) {
            CollectiveShape s;
            s.collective = collective;
            s.algorithm = algorithm;
            s.rank = rank;
            s.size = size;
            s.count = 7;
            s.inPlace = inPlace;
            s.sliceElems = slice;
            EXPECT_EQ(unorderedConflict(s), "") << toString(algorithm) << " " << toString(collective)
                                                << (inPlace ? " in-place" : "") << " slice " << slice;
          }
}

// The most messages any rank sends in one unsliced call, with a count large enough
// that no message is empty (empty ones are dropped).
std::size_t mostSendsPerRank(Collective collective, Algorithm algorithm, int size) {
  std::size_t most = 0;
  for (int r = 0; r < size; ++r) {
    CollectiveShape s;
    s.collective = collective;
    s.algorithm = algorithm;
    s.rank = r;
    s.size = size;
    s.count = collective == Collective::AllReduce ? 4 * static_cast<std::size_t>(size) : 4;
    s.sliceElems = std::size_t{1} << 30;
    Plan plan = buildPlan(s);
    auto sends = std::count_if(plan.steps.begin(), plan.steps.end(),
                               [](const Step& step) { return step.kind == StepKind::Send; });
    most = std::max(most, static_cast<std::size_t>(sends));
  }
  return most;
}

TEST(HalvingDoubling, EveryRankSendsLogarithmicallyManyMessages) {
  const std::pair<Collective, Algorithm> logarithmic[] = {{Collective::AllReduce, Algorithm::HalvingDoubling},
                                                          {Collective::ReduceScatter, Algorithm::HalvingDoubling},
                                                          {Collective::AllGather, Algorithm::RecursiveDoubling},
                                                          {Collective::AllGather, Algorithm::Bruck}};
  for (int size : {1000, 1024}) {
    const std::size_t bound = 2 * std::bit_width(static_cast<unsigned>(size - 1)) + 2;  // 2 ceil(log2 n) + 2
    for (auto [collective, algorithm] : logarithmic)
      EXPECT_LE(mostSendsPerRank(collective, algorithm, size), bound)
          << toString(algorithm) << " " << toString(collective) << " at " << size << " ranks";
    // The count can fail: a ring sends a linear number of messages.
    EXPECT_GT(mostSendsPerRank(Collective::AllGather, Algorithm::Ring, size), bound);
  }
}

}  // namespace
}  // namespace braid
