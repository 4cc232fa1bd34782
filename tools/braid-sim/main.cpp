// braid-sim: every rank's plan for a collective, built and run together in one
// process, checked exactly and priced with the cost model; or, with --sweep, the
// modeled time of each algorithm across rank counts and sizes, to see the crossovers.
#include "measure.h"

#include "algorithms/algorithm.h"
#include "core/byte_size.h"

#include <cstdio>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace braid::sim {
namespace {

// A single run checks whatever fits here; the sweep checks only small cases.
constexpr std::size_t kCheckBudget = std::size_t{8} << 30;
constexpr std::size_t kSweepCheckBudget = std::size_t{64} << 20;

int usage(FILE* to, int code) {
  std::fprintf(to,
               "usage: braid-sim --ranks N --coll COLL --algo NAME|all --bytes SIZE [options]\n"
               "       braid-sim --sweep [--coll COLL] [--algo NAME|all] [options]\n"
               "  --coll            allreduce | allgather | reducescatter | broadcast | reduce | alltoall\n"
               "  --algo            ring, tree, hd, rd, bruck, hier, direct, or all (every one the collective has)\n"
               "  --bytes           whole buffer (nccl-tests convention), e.g. 8, 64K, 1M\n"
               "  --ranks-per-node  L ranks per node (default 8): rank r is on node r / L\n"
               "  --dtype-bytes     element size (default 8)\n"
               "  --chunk           pipeline slice in bytes (default 512K, as BRAID_CHUNK)\n"
               "  --sweep           modeled time per algorithm against rank counts and sizes\n"
               "Exits 0 only when every result was checked and is exact.\n");
  return code;
}

std::optional<Collective> parseCollective(const std::string& name) {
  const std::pair<const char*, Collective> names[] = {
      {"allreduce", Collective::AllReduce}, {"allgather", Collective::AllGather},
      {"reducescatter", Collective::ReduceScatter}, {"broadcast", Collective::Broadcast},
      {"reduce", Collective::Reduce}, {"alltoall", Collective::AllToAll}};
  for (const auto& [text, c] : names)
    if (name == text) return c;
  return std::nullopt;
}

int runOnce(const Setup& setup, const std::vector<Algorithm>& algorithms) {
  std::printf("# %s, %d ranks, %d per node, dtype %zu bytes, chunk %s, default cost model\n",
              toString(setup.collective), setup.ranks, setup.ranksPerNode, setup.dtypeBytes,
              formatSize(setup.chunkBytes).c_str());
  std::printf("%-7s %6s %12s %6s %14s %12s\n", "algo", "ranks", "bytes", "exact", "modeled_us", "steps");
  int failures = 0;
  for (Algorithm a : algorithms) {
    Measurement m = measure(setup, a, kCheckBudget);
    const char* exact = !m.built ? "no" : !m.exact ? "skip" : *m.exact ? "yes" : "no";
    char time[32] = "-";
    if (m.built && m.exact.value_or(true)) std::snprintf(time, sizeof time, "%.1f", m.modeledUs);
    std::string steps = m.built ? std::to_string(m.steps) : "-";
    std::printf("%-7s %6d %12zu %6s %14s %12s\n", toString(a), setup.ranks, setup.bytes, exact, time,
                steps.c_str());
    std::fflush(stdout);
    if (!m.problem.empty()) std::fprintf(stderr, "braid-sim: %s\n", m.problem.c_str());
    failures += m.exact != true;
  }
  return failures ? 1 : 0;
}

int sweep(Setup setup, const std::vector<Algorithm>& algorithms) {
  const int rankCounts[] = {2, 4, 16, 64, 256, 1024, 4096};
  const std::size_t sizes[] = {8, 256, 8 << 10, 256 << 10, 8 << 20, 256 << 20};
  std::printf("# %s: modeled time in us, %d ranks per node, dtype %zu bytes, chunk %s, default cost model\n",
              toString(setup.collective), setup.ranksPerNode, setup.dtypeBytes, formatSize(setup.chunkBytes).c_str());
  std::printf("# cells marked * were priced without the exactness check (their buffers exceed %zu MiB);\n"
              "# the others were checked exactly; 'error' and 'WRONG' are explained on stderr\n",
              kSweepCheckBudget >> 20);
  // best[size][ranks]: the fastest algorithm so far, for the crossover table.
  std::vector<std::vector<std::pair<double, Algorithm>>> best(std::size(sizes),
                                                              std::vector<std::pair<double, Algorithm>>(std::size(rankCounts), {-1, {}}));
  int failures = 0;
  for (Algorithm a : algorithms) {
    std::printf("\n%-8s", toString(a));
    for (int n : rankCounts) std::printf(" %12d", n);
    std::printf("\n");
    for (std::size_t si = 0; si < std::size(sizes); ++si) {
      setup.bytes = sizes[si];
      std::printf("%-8s", formatSize(sizes[si]).c_str());
      for (std::size_t ri = 0; ri < std::size(rankCounts); ++ri) {
        setup.ranks = rankCounts[ri];
        Measurement m = measure(setup, a, kSweepCheckBudget);
        std::string cell;
        if (!m.built || m.exact == false) {
          cell = m.built ? "WRONG" : "error";
          std::fprintf(stderr, "braid-sim: %s\n", m.problem.c_str());
          ++failures;
        } else {
          char text[32];
          std::snprintf(text, sizeof text, "%.1f%s", m.modeledUs, m.exact.has_value() ? "" : "*");
          cell = text;
          auto& b = best[si][ri];
          if (b.first < 0 || m.modeledUs < b.first) b = {m.modeledUs, a};
        }
        std::printf(" %12s", cell.c_str());
        std::fflush(stdout);
      }
      std::printf("\n");
    }
  }
  std::printf("\n%-8s", "fastest");
  for (int n : rankCounts) std::printf(" %12d", n);
  std::printf("\n");
  for (std::size_t si = 0; si < std::size(sizes); ++si) {
    std::printf("%-8s", formatSize(sizes[si]).c_str());
    for (const auto& [time, a] : best[si]) std::printf(" %12s", time < 0 ? "-" : toString(a));
    std::printf("\n");
  }
  return failures ? 1 : 0;
}

int run(int argc, char** argv) {
  Setup setup;
  std::string algo = "all";
  bool haveRanks = false, haveBytes = false, doSweep = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return usage(stdout, 0);
    if (arg == "--sweep") {
      doSweep = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "braid-sim: %s needs a value\n", arg.c_str());
      return usage(stderr, 2);
    }
    std::string value = argv[++i];
    const std::optional<std::uint64_t> size = parseByteSize(value);
    // Counts are whole numbers, digits only.
    const bool count = size && !value.empty() && value.size() <= 9 &&
                       value.find_first_not_of("0123456789") == std::string::npos;
    if (arg == "--coll") {
      auto c = parseCollective(value);
      if (!c) {
        std::fprintf(stderr, "braid-sim: unknown collective '%s'\n", value.c_str());
        return usage(stderr, 2);
      }
      setup.collective = *c;
    } else if (arg == "--algo") {
      algo = value;
    } else if (arg == "--ranks" && count && *size >= 1 && *size <= 1 << 20) {
      setup.ranks = static_cast<int>(*size);
      haveRanks = true;
    } else if (arg == "--bytes" && size) {
      setup.bytes = *size;
      haveBytes = true;
    } else if (arg == "--ranks-per-node" && count && *size >= 1 && *size <= 1 << 20) {
      setup.ranksPerNode = static_cast<int>(*size);
    } else if (arg == "--dtype-bytes" && count && *size >= 1 && *size <= 64) {
      setup.dtypeBytes = *size;
    } else if (arg == "--chunk" && size && *size >= 1) {
      setup.chunkBytes = *size;
    } else {
      std::fprintf(stderr, "braid-sim: bad argument '%s %s'\n", arg.c_str(), value.c_str());
      return usage(stderr, 2);
    }
  }
  std::vector<Algorithm> algorithms;
  if (algo == "all") {
    algorithms = algorithmsFor(setup.collective);
  } else if (auto a = parseAlgorithm(algo); a && supports(*a, setup.collective)) {
    algorithms = {*a};
  } else {
    std::fprintf(stderr, "braid-sim: '%s' is not an algorithm for %s\n", algo.c_str(), toString(setup.collective));
    return usage(stderr, 2);
  }
  if (doSweep) return sweep(setup, algorithms);
  if (!haveRanks || !haveBytes) return usage(stderr, 2);
  return runOnce(setup, algorithms);
}

}  // namespace
}  // namespace braid::sim

int main(int argc, char** argv) {
  try {
    return braid::sim::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "braid-sim: %s\n", e.what());
    return 1;
  }
}
