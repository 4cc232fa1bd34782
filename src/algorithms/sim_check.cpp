#include "algorithms/sim_check.h"

#include "algorithms/algorithms.h"
#include "algorithms/simulator.h"

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace braid {
namespace {

void addU64(void* dst, const void* a, const void* b, std::size_t n) {
  auto* d = static_cast<std::uint64_t*>(dst);
  auto* x = static_cast<const std::uint64_t*>(a);
  auto* y = static_cast<const std::uint64_t*>(b);
  for (std::size_t i = 0; i < n; ++i) d[i] = x[i] + y[i];
}

// A value no two (rank, index) pairs share, and whose sums identify their terms.
std::uint64_t value(int rank, std::size_t i) { return (std::uint64_t{1} << (rank % 40)) * 1000003 + i * 7 + 1; }

constexpr std::uint64_t kGuard = 0xdeadbeef;

// Input and output element counts of one rank.
std::pair<std::size_t, std::size_t> extents(const SimCase& c) {
  auto n = static_cast<std::size_t>(c.size);
  switch (c.collective) {
    case Collective::AllGather: return {c.count, c.count * n};
    case Collective::ReduceScatter: return {c.count * n, c.count};
    case Collective::AllToAll: return {c.count * n, c.count * n};
    default: return {c.count, c.count};
  }
}

// The sum over ranks of value(r, i) for every i is needed by all-reduce and reduce;
// computing it per element would be O(ranks) per element, so it is a prefix of the
// rank terms: sum_r value(r, i) = A + size * (7 i + 1).
std::uint64_t sumOverRanks(int size, std::size_t i) {
  std::uint64_t a = 0;
  for (int r = 0; r < size; ++r) a += (std::uint64_t{1} << (r % 40)) * 1000003;
  return a + static_cast<std::uint64_t>(size) * (i * 7 + 1);
}

std::uint64_t expected(const SimCase& c, int rank, std::size_t i, std::uint64_t rankTerms) {
  auto n = static_cast<std::uint64_t>(c.size);
  switch (c.collective) {
    case Collective::AllReduce:
    case Collective::Reduce: return rankTerms + n * (i * 7 + 1);
    case Collective::ReduceScatter: return rankTerms + n * ((rank * c.count + i) * 7 + 1);
    case Collective::AllGather: return value(static_cast<int>(i / c.count), i % c.count);
    case Collective::Broadcast: return value(c.root, i);
    case Collective::AllToAll: return value(static_cast<int>(i / c.count), rank * c.count + i % c.count);
  }
  return 0;
}

}  // namespace

std::string describe(const SimCase& c) {
  return std::string(toString(c.collective)) + " " + toString(c.algorithm) + " ranks " + std::to_string(c.size) +
         " count " + std::to_string(c.count) + " slice " + std::to_string(c.sliceElems) +
         (c.inPlace ? " in-place" : "") + " root " + std::to_string(c.root);
}

std::string checkExact(const SimCase& c) {
  auto [inN, outN] = extents(c);
  const auto size = static_cast<std::size_t>(c.size);
  std::vector<std::vector<std::uint64_t>> in(size), out(size), scratch(size);
  std::vector<Plan> plans(size);
  std::vector<SimRank> ranks(size);
  for (int r = 0; r < c.size; ++r) {
    auto ur = static_cast<std::size_t>(r);
    CollectiveShape s;
    s.collective = c.collective;
    s.rank = r;
    s.size = c.size;
    s.count = c.count;
    s.root = c.root;
    s.inPlace = c.inPlace;
    s.sliceElems = c.sliceElems;
    s.algorithm = c.algorithm;
    s.nodes = c.nodes;
    try {
      plans[ur] = buildPlan(s);
    } catch (const std::exception& e) {
      return describe(c) + ": rank " + std::to_string(r) + " cannot build its plan: " + e.what();
    }
    out[ur].assign(outN + 1, kGuard);  // one guard element past the end
    in[ur].resize(inN);
    for (std::size_t i = 0; i < inN; ++i) in[ur][i] = value(r, i);
    scratch[ur].resize(plans[ur].scratchCount + 1);
    void* input = in[ur].data();
    void* output = out[ur].data();
    if (c.inPlace) {
      // NCCL's in-place layouts: the input lives inside the output (or vice versa).
      if (c.collective == Collective::ReduceScatter) {
        out[ur].assign(inN + 1, kGuard);
        std::memcpy(out[ur].data(), in[ur].data(), inN * 8);
        input = out[ur].data();
        output = out[ur].data() + ur * c.count;
      } else {
        std::size_t at = c.collective == Collective::AllGather ? ur * c.count : 0;
        std::memcpy(out[ur].data() + at, in[ur].data(), inN * 8);
        input = out[ur].data() + at;
      }
    }
    ranks[ur] = SimRank{&plans[ur], {input, output, scratch[ur].data()}};
  }
  try {
    simulate(ranks, 8, addU64);
  } catch (const std::exception& e) {
    return describe(c) + ": " + e.what();
  }
  const std::uint64_t rankTerms = sumOverRanks(c.size, 0) - static_cast<std::uint64_t>(c.size);
  for (int r = 0; r < c.size; ++r) {
    auto ur = static_cast<std::size_t>(r);
    if (c.collective == Collective::Reduce && r != c.root) continue;
    const auto* got = static_cast<const std::uint64_t*>(ranks[ur].buffers[kOutput]);
    for (std::size_t i = 0; i < outN; ++i)
      if (got[i] != expected(c, r, i, rankTerms))
        return describe(c) + ": rank " + std::to_string(r) + " element " + std::to_string(i) + " is " +
               std::to_string(got[i]) + ", expected " + std::to_string(expected(c, r, i, rankTerms));
    if (out[ur].back() != kGuard) return describe(c) + ": rank " + std::to_string(r) + " wrote past its output";
  }
  return "";
}

}  // namespace braid
