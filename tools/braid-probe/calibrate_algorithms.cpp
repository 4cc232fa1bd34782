#include "calibrate_algorithms.h"

#include "core/algorithm_choice.h"
#include "core/env.h"
#include "topology/algo_override.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>

namespace probe {
namespace {

constexpr braid::Collective kTimed[] = {braid::Collective::AllReduce, braid::Collective::AllGather,
                                        braid::Collective::ReduceScatter};
constexpr std::size_t kMinBytes = 8, kMaxBytes = 1 << 20;
constexpr int kRepetitions = 7, kSlowRepetitions = 3;
// Each timing spans about this long; sizes whose calls take longer than kSlowUs get
// fewer repetitions, and a collective's sweep ends where every algorithm takes longer
// than kStopUs (on a slow link such sizes are bandwidth-bound, which the formulas
// price well, and timing them would take minutes).
constexpr double kTimingUs = 5000, kSlowUs = 20000, kStopUs = 100000;
constexpr std::uint32_t kSeed = 0x5eed;  // the same on every rank: all shuffle alike

// A communicator whose BRAID_ALGO forces `algorithm` for every timed collective it runs.
struct Variant {
  braid::Algorithm algorithm;
  braid::Communicator comm;
};

bool feasible(braid::Algorithm a, int ranks, int nodes) {
  if (a == braid::Algorithm::Hierarchical) return nodes >= 2 && ranks > nodes;
  return a != braid::Algorithm::Direct;  // all-to-all only, which is not timed
}

std::string forcingRules(braid::Algorithm a) {
  std::string rules;
  for (braid::Collective c : kTimed)
    if (braid::supports(a, c)) rules += std::string(rules.empty() ? "" : ";") + braid::spelling(c) + ":" + toString(a);
  return rules;
}

// A fresh id from rank 0 for each variant: under launchers whose rank 0 hosts the
// rendezvous itself (BRAID_ROOT, torchrun), a second communicator from the environment
// would try to bind the same port again.
braid::Communicator sibling(braid::Communicator& base) {
  braid::UniqueId id;
  if (base.rank() == 0) id = braid::UniqueId::create();
  base.broadcast(id.bytes.data(), id.bytes.data(), id.bytes.size(), braid::DataType::Uint8, 0);
  return braid::Communicator(id, base.rank(), base.size());
}

// Every rank creates the same communicators in the same order; the caller's BRAID_ALGO
// is restored afterwards.
std::vector<Variant> makeVariants(braid::Communicator& base, int nodes) {
  const char* saved = std::getenv("BRAID_ALGO");
  const std::optional<std::string> callerAlgo = saved ? std::optional<std::string>(saved) : std::nullopt;
  std::vector<Variant> variants;
  for (braid::Algorithm a : braid::kAllAlgorithms) {
    if (!feasible(a, base.size(), nodes) || forcingRules(a).empty()) continue;
    setenv("BRAID_ALGO", forcingRules(a).c_str(), 1);
    braid::Env::reload();
    variants.push_back({a, sibling(base)});
  }
  if (callerAlgo) setenv("BRAID_ALGO", callerAlgo->c_str(), 1);
  else unsetenv("BRAID_ALGO");
  braid::Env::reload();
  return variants;
}

// Elements per call so that the call's nccl-tests size is `bytes`; 0 when it cannot be.
std::size_t countFor(braid::Collective c, std::size_t bytes, int ranks) {
  const std::size_t elem = c == braid::Collective::AllGather ? 1 : sizeof(float);
  return c == braid::Collective::AllReduce ? bytes / elem : bytes / elem / static_cast<std::size_t>(ranks);
}

void runOnce(braid::Communicator& comm, braid::Collective c, std::size_t count, std::vector<float>& in,
             std::vector<float>& out) {
  switch (c) {
    case braid::Collective::AllReduce:
      comm.allReduce(in.data(), out.data(), count, braid::DataType::Float32, braid::ReduceOp::Sum);
      break;
    case braid::Collective::AllGather:
      comm.allGather(in.data(), out.data(), count, braid::DataType::Uint8);
      break;
    default:
      comm.reduceScatter(in.data(), out.data(), count, braid::DataType::Float32, braid::ReduceOp::Sum);
      break;
  }
}

// Per-call time of the slowest rank, in microseconds.
double timeCalls(braid::Communicator& comm, braid::Collective c, std::size_t count, int iterations,
                 std::vector<float>& in, std::vector<float>& out) {
  comm.barrier();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) runOnce(comm, c, count, in, out);
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / iterations;
  comm.allReduce(&us, &us, 1, braid::DataType::Float64, braid::ReduceOp::Max);
  return us;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

std::vector<braid::MeasuredTime> measureAlgorithms(braid::Communicator& comm, int nodes) {
  const int ranks = comm.size();
  std::vector<Variant> variants = makeVariants(comm, nodes);
  std::vector<float> in(kMaxBytes / sizeof(float) * static_cast<std::size_t>(ranks), 1.0f);
  std::vector<float> out(in.size());
  std::vector<braid::MeasuredTime> rows;
  std::mt19937 shuffle(kSeed);
  for (braid::Collective c : kTimed)
    for (std::size_t bytes = kMinBytes; bytes <= kMaxBytes; bytes *= 2) {
      const std::size_t count = countFor(c, bytes, ranks);
      if (count == 0) continue;
      // One call each first: it builds the plan, touches the buffers, and estimates the
      // time per call (the slowest rank's, so every rank decides alike from it).
      std::vector<Variant*> order;
      double fastestUs = kStopUs * 2, slowestUs = 0;
      for (Variant& v : variants)
        if (braid::supports(v.algorithm, c)) {
          const double us = timeCalls(v.comm, c, count, 1, in, out);
          fastestUs = std::min(fastestUs, us);
          slowestUs = std::max(slowestUs, us);
          order.push_back(&v);
        }
      if (fastestUs > kStopUs) break;
      const int iterations = static_cast<int>(std::clamp(kTimingUs / std::max(slowestUs, 1.0), 1.0, 100.0));
      const int repetitions = slowestUs > kSlowUs ? kSlowRepetitions : kRepetitions;
      std::map<braid::Algorithm, std::vector<double>> times;
      for (int rep = 0; rep < repetitions; ++rep) {
        std::shuffle(order.begin(), order.end(), shuffle);  // so drift hits every variant alike
        for (Variant* v : order) times[v->algorithm].push_back(timeCalls(v->comm, c, count, iterations, in, out));
      }
      const std::size_t callBytes = braid::callBytes(c, count, c == braid::Collective::AllGather ? 1 : 4, ranks);
      for (const auto& [algorithm, us] : times) rows.push_back({c, ranks, nodes, callBytes, algorithm, median(us)});
    }
  return rows;
}

void printMeasured(const std::vector<braid::MeasuredTime>& rows) {
  std::printf("measured per call (median of %d, or %d where calls take over %.0f ms; slowest rank), fastest first:\n",
              kRepetitions, kSlowRepetitions, kSlowUs / 1000);
  for (std::size_t i = 0; i < rows.size();) {
    std::size_t end = i;
    while (end < rows.size() && rows[end].collective == rows[i].collective && rows[end].bytes == rows[i].bytes) ++end;
    std::vector<braid::MeasuredTime> group(rows.begin() + static_cast<std::ptrdiff_t>(i),
                                           rows.begin() + static_cast<std::ptrdiff_t>(end));
    std::sort(group.begin(), group.end(), [](const auto& x, const auto& y) { return x.us < y.us; });
    std::printf("  %-14s %8llu B ", braid::toString(group[0].collective),
                static_cast<unsigned long long>(group[0].bytes));
    for (const braid::MeasuredTime& m : group) std::printf("  %-5s %9.1f us", toString(m.algorithm), m.us);
    std::printf("\n");
    i = end;
  }
}

}  // namespace probe
