#include "algorithms/sim_check.h"

#include "algorithms/algorithms.h"
#include "algorithms/simulator.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace braid {
namespace {

void addU64(void* dst, const void* a, const void* b, std::size_t n) {
  auto* d = static_cast<std::uint64_t*>(dst);
  auto* x = static_cast<const std::uint64_t*>(a);
  auto* y = static_cast<const std::uint64_t*>(b);
  for (std::size_t i = 0; i < n; ++i) d[i] = x[i] + y[i];
}

// Each rank's term is a well-mixed 64-bit number (splitmix64 of the rank), so a sum that
// misses a rank or counts one twice is off by a pseudo-random amount: it cannot match
// by accident, at any rank count (a power-of-two term would repeat past 64 ranks).
std::uint64_t rankTerm(int rank) {
  std::uint64_t z = static_cast<std::uint64_t>(rank) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A value no two (rank, index) pairs share; sums wrap modulo 2^64, like the check.
std::uint64_t value(int rank, std::size_t i) { return rankTerm(rank) + i * 7 + 1; }

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
  for (int r = 0; r < size; ++r) a += rankTerm(r);
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

std::vector<SimPlan> buildSimPlans(const SimCase& c) {
  const auto size = static_cast<std::size_t>(c.size);
  std::vector<SimPlan> plans(size);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex failureLock;
  std::size_t failedRank = size;
  std::string failure;
  // Ranks are claimed in increasing order and a claimed rank is always finished, so
  // the lowest failure recorded is the lowest rank that fails.
  auto work = [&] {
    for (std::size_t r; !failed && (r = next++) < size;) {
      CollectiveShape s;
      s.collective = c.collective;
      s.rank = static_cast<int>(r);
      s.size = c.size;
      s.count = c.count;
      s.root = c.root;
      s.inPlace = c.inPlace;
      s.sliceElems = c.sliceElems;
      s.algorithm = c.algorithm;
      s.nodes = c.nodes;
      try {
        plans[r] = SimPlan(buildPlan(s));
      } catch (const std::exception& e) {
        std::lock_guard lock(failureLock);
        failed = true;
        if (r < failedRank) {
          failedRank = r;
          failure = e.what();
        }
      }
    }
  };
  const std::size_t threads = std::min<std::size_t>(std::max(1U, std::thread::hardware_concurrency()), size / 64 + 1);
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
  work();
  for (auto& h : helpers) h.join();
  if (failed)
    throw std::runtime_error("rank " + std::to_string(failedRank) + " cannot build its plan: " + failure);
  return plans;
}

std::size_t checkBufferBytes(const SimCase& c, const std::vector<SimPlan>& plans) {
  auto [inN, outN] = extents(c);
  std::size_t elements = 0;
  for (const SimPlan& p : plans) elements += inN + outN + 1 + p.scratchCount + 1;
  return elements * 8;
}

std::string checkExact(const SimCase& c) {
  std::vector<SimPlan> plans;
  try {
    plans = buildSimPlans(c);
  } catch (const std::exception& e) {
    return describe(c) + ": " + e.what();
  }
  return checkExact(c, plans);
}

std::string checkExact(const SimCase& c, const std::vector<SimPlan>& plans) {
  auto [inN, outN] = extents(c);
  const auto size = static_cast<std::size_t>(c.size);
  if (plans.size() != size) return describe(c) + ": " + std::to_string(plans.size()) + " plans for " + std::to_string(size) + " ranks";
  std::vector<std::vector<std::uint64_t>> in(size), out(size), scratch(size);
  std::vector<std::vector<void*>> buffers(size);
  for (std::size_t r = 0; r < size; ++r) {
    out[r].assign(outN + 1, kGuard);  // one guard element past the end
    in[r].resize(inN);
    for (std::size_t i = 0; i < inN; ++i) in[r][i] = value(static_cast<int>(r), i);
    scratch[r].resize(plans[r].scratchCount + 1);
    void* input = in[r].data();
    void* output = out[r].data();
    if (c.inPlace) {
      // NCCL's in-place layouts: the input lives inside the output (or vice versa).
      if (c.collective == Collective::ReduceScatter) {
        out[r].assign(inN + 1, kGuard);
        // std::copy, not memcpy: with count 0 the input vector's data() is null, which
        // memcpy may not be given even for zero bytes.
        std::copy(in[r].begin(), in[r].end(), out[r].begin());
        input = out[r].data();
        output = out[r].data() + r * c.count;
      } else {
        std::size_t at = c.collective == Collective::AllGather ? r * c.count : 0;
        std::copy(in[r].begin(), in[r].end(), out[r].begin() + static_cast<std::ptrdiff_t>(at));
        input = out[r].data() + at;
      }
      in[r] = {};  // the copy inside the output is the input now
    }
    buffers[r] = {input, output, scratch[r].data()};
  }
  try {
    simulate(plans, buffers, 8, addU64);
  } catch (const std::exception& e) {
    return describe(c) + ": " + e.what();
  }
  const std::uint64_t rankTerms = sumOverRanks(c.size, 0) - static_cast<std::uint64_t>(c.size);
  for (int r = 0; r < c.size; ++r) {
    auto ur = static_cast<std::size_t>(r);
    if (c.collective == Collective::Reduce && r != c.root) continue;
    const auto* got = static_cast<const std::uint64_t*>(buffers[ur][kOutput]);
    for (std::size_t i = 0; i < outN; ++i)
      if (got[i] != expected(c, r, i, rankTerms))
        return describe(c) + ": rank " + std::to_string(r) + " element " + std::to_string(i) + " is " +
               std::to_string(got[i]) + ", expected " + std::to_string(expected(c, r, i, rankTerms));
    if (out[ur].back() != kGuard) return describe(c) + ": rank " + std::to_string(r) + " wrote past its output";
  }
  return "";
}

}  // namespace braid
