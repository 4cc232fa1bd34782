// Every algorithm, forced with BRAID_ALGO, on real ranks over shm and over tcp: every
// collective it supports, for several datatypes, ops and sizes, in and out of place,
// checked exactly by collective_check. Hierarchical plans need several hosts, so those
// runs pose as two (BRAID_HOST_ID per block of ranks: shm inside a block, tcp across).
#include "braidrun_fixture.h"

#include <gtest/gtest.h>

#include <regex>

#ifndef COLLECTIVE_CHECK_PATH
#error "COLLECTIVE_CHECK_PATH must name the collective_check program"
#endif

namespace {

using namespace braid::testing;
using namespace std::chrono_literals;

struct ForcedCase {
  const char* algorithm;  // as BRAID_ALGO's plain list spells it
  const char* transport;
  int ranks;
  int posedHosts = 0;  // hierarchical: ranks pose as this many hosts
};

class ForcedAlgorithms : public BraidrunTest, public ::testing::WithParamInterface<ForcedCase> {};

TEST_P(ForcedAlgorithms, EveryCollectiveItSupportsIsExact) {
  auto [algorithm, transport, ranks, posedHosts] = GetParam();
  std::vector<std::string> args{"-n", std::to_string(ranks), COLLECTIVE_CHECK_PATH, "--quick"};
  if (posedHosts) args.insert(args.end(), {"--hosts", std::to_string(posedHosts)});
  // BRAID_DEBUG=INFO makes every rank log the algorithm each collective runs with, so
  // the test can see that the forced one really ran.
  Result r = run(args, 300s,
                 {{"BRAID_TRANSPORTS", transport},
                  {"BRAID_ALGO", algorithm},
                  {"BRAID_DEBUG", "INFO"},
                  {"BRAID_TIMEOUT", "60s"}});
  ASSERT_TRUE(r.finished) << "still running at the limit\n" << r.err;
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  std::regex line(R"(rank (\d+): (\d+) checks, 0 failed)");
  auto passed = std::distance(std::sregex_iterator(r.out.begin(), r.out.end(), line), std::sregex_iterator());
  EXPECT_EQ(passed, ranks) << r.out << r.err;
  if (ranks > 1) {
    EXPECT_NE(r.err.find(std::string(": ") + algorithm + ", slice"), std::string::npos)
        << "no collective ran with " << algorithm << "\n" << r.err.substr(0, 4000);
  }
}

std::vector<ForcedCase> cases() {
  std::vector<ForcedCase> all;
  for (const char* algorithm : {"ring", "tree", "hd", "rd", "bruck"})
    for (const char* transport : {"shm", "tcp"})
      for (int ranks : {1, 2, 3, 5, 8}) all.push_back({algorithm, transport, ranks});
  // Hierarchical needs a node with two ranks or more: 2x2, 2x3, and 3+3+2 (uneven).
  for (auto [ranks, hosts] : {std::pair{4, 2}, std::pair{6, 2}, std::pair{8, 3}})
    all.push_back({"hier", "shm,tcp", ranks, hosts});
  return all;
}

INSTANTIATE_TEST_SUITE_P(Algorithms, ForcedAlgorithms, ::testing::ValuesIn(cases()), [](const auto& info) {
  const ForcedCase& c = info.param;
  std::string where = c.posedHosts ? std::to_string(c.posedHosts) + "hosts" : c.transport;
  return std::string(c.algorithm) + "_" + where + "_" + std::to_string(c.ranks) + "ranks";
});

}  // namespace
