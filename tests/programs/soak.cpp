// Run under braidrun: a soak of randomly drawn collectives (all-reduce, all-gather,
// reduce-scatter, broadcast and reduce from a random root, all-to-all), with random
// counts, every datatype, every op, in and out of place, sync and async, each sent to
// a communicator with a different algorithm forced (or the tuner's choice), and every
// element of every result checked exactly.
//
//   soak [--calls N] [--seed S] [--max-count N] [--algorithms ring,tree,...|none]
//        [--corrupt-call K]   (flip a bit of the first result from call K on: must fail)
//
// All ranks draw the same calls from one seed (rank 0's, broadcast), printed first so
// that a failure replays with --seed. The first wrong element stops the rank with
// everything needed to find it (rank, call, collective, type, op, count, element, got,
// expected), and exit status 1; a library error exits 3.
#include <braid/braid.h>

#include "soak_check.h"
#include "soak_communicators.h"
#include "soak_draw.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace braid;
using namespace braid::soak;

namespace {

struct Options {
  long calls = 2500;
  std::optional<std::uint64_t> seed;
  std::size_t maxCount = 65536;  // elements of the largest buffer a call moves
  std::vector<std::string> algorithms{"ring", "tree", "hd", "rd", "bruck", "hier"};
  long corruptCall = -1;  // none
};

std::vector<std::string> splitCommas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

bool parseOptions(int argc, char** argv, Options& opt) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool hasValue = i + 1 < argc;
    if (a == "--calls" && hasValue) opt.calls = std::stol(argv[++i]);
    else if (a == "--seed" && hasValue) opt.seed = std::stoull(argv[++i]);
    else if (a == "--max-count" && hasValue) opt.maxCount = std::stoull(argv[++i]);
    else if (a == "--corrupt-call" && hasValue) opt.corruptCall = std::stol(argv[++i]);
    else if (a == "--algorithms" && hasValue) {
      const std::string list = argv[++i];
      opt.algorithms = list == "none" ? std::vector<std::string>{} : splitCommas(list);
    } else return false;
  }
  return opt.calls >= 0 && opt.maxCount > 0;
}

// Rank 0's seed (given or fresh), the same on every rank.
std::uint64_t agreeOnSeed(Communicator& comm, const std::optional<std::uint64_t>& given) {
  std::uint64_t seed = 0;
  if (comm.rank() == 0) seed = given ? *given : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  comm.broadcast(&seed, &seed, 1, DataType::Uint64, 0);
  return seed;
}

void printSummary(const Communicators& c, const std::map<std::pair<int, int>, long>& tally, long calls, int ranks,
                  double seconds, std::uint64_t seed) {
  static constexpr Collective kOrder[] = {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
                                          Collective::Broadcast, Collective::Reduce,    Collective::AllToAll};
  std::printf("soak: calls verified by collective and algorithm setting:\n");
  for (Collective coll : kOrder) {
    std::printf("  %-14s", toString(coll));
    for (std::size_t s = 0; s < c.settings.size(); ++s) {
      auto it = tally.find({static_cast<int>(coll), static_cast<int>(s)});
      if (it != tally.end()) std::printf(" %s:%ld", c.settings[s].name.c_str(), it->second);
    }
    std::printf("\n");
  }
  std::printf("soak: %ld collectives verified on %d ranks in %.1f s (seed %llu)\n", calls, ranks, seconds,
              static_cast<unsigned long long>(seed));
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  try {
    if (!parseOptions(argc, argv, opt)) {
      std::fprintf(stderr, "usage: soak [--calls N] [--seed S] [--max-count N] [--algorithms ring,tree,...|none] "
                           "[--corrupt-call K]\n");
      return 2;
    }
  } catch (const std::exception&) {
    std::fprintf(stderr, "soak: a numeric option has a malformed value\n");
    return 2;
  }
  std::string current = "setting up";
  int rank = -1;
  std::uint64_t seed = 0;
  try {
    Communicator base = Communicator::fromEnvironment();
    rank = base.rank();
    seed = agreeOnSeed(base, opt.seed);
    if (rank == 0) {
      std::printf("soak: seed %llu (replay with --seed %llu), %ld calls, counts up to %zu\n",
                  static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed), opt.calls, opt.maxCount);
      std::fflush(stdout);
    }
    Random random(seed);
    Communicators comms = makeCommunicators(std::move(base), opt.algorithms, random);
    const int ranks = comms.comms.front().size();
    if (rank == 0) {
      std::printf("soak: algorithm settings:");
      for (const auto& s : comms.settings) std::printf(" %s;", s.name.c_str());
      std::printf("\n");
      std::fflush(stdout);
    }

    CallChecker checker;
    std::map<std::pair<int, int>, long> tally;
    const auto started = std::chrono::steady_clock::now();
    for (long i = 0; i < opt.calls; ++i) {
      const Call call = drawCall(random, i, ranks, opt.maxCount, comms.settings);
      current = describe(call, comms.settings);
      if (i == opt.corruptCall) checker.corruptNextResult();
      checker.run(comms.comms[static_cast<std::size_t>(call.setting)], call, current);
      ++tally[{static_cast<int>(call.collective), call.setting}];
    }
    current = "the final barrier";
    comms.comms.front().barrier();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("rank %d: %ld collectives verified, 0 wrong\n", rank, opt.calls);
    if (rank == 0) printSummary(comms, tally, opt.calls, ranks, seconds, seed);
    return 0;
  } catch (const Mismatch& m) {
    std::fprintf(stderr, "soak: WRONG RESULT: %s (seed %llu: replay with --seed %llu)\n", m.what(),
                 static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak: rank %d: %s: error: %s (seed %llu)\n", rank, current.c_str(), e.what(),
                 static_cast<unsigned long long>(seed));
    return 3;
  }
}
