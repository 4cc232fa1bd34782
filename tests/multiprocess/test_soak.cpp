// The soak program's own checks (the soak itself runs as the soak.* ctest entries): a
// wrong element is caught and named in full, and a seed replays the same calls.
#include "braidrun_fixture.h"

#include <gtest/gtest.h>

#include <regex>

#ifndef SOAK_PATH
#error "SOAK_PATH must name the soak program"
#endif

namespace {

using namespace braid::testing;
using namespace std::chrono_literals;

const std::map<std::string, std::string> kShm{{"BRAID_TRANSPORTS", "shm"}, {"BRAID_TIMEOUT", "30s"}};

// The per-collective tally that rank 0 prints: which calls ran where.
std::string tallyOf(const std::string& out) {
  std::string tally;
  for (const auto& line : splitLines(out))
    if (line.rfind("  ", 0) == 0) tally += line + "\n";
  return tally;
}

class Soak : public BraidrunTest {};

TEST_F(Soak, ACorruptedResultIsCaughtAndNamedInFull) {
  Result r = run({"-n", "3", SOAK_PATH, "--calls", "60", "--seed", "7", "--corrupt-call", "10"}, 60s, kShm);
  ASSERT_TRUE(r.finished) << r.err;
  EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
  // Every rank corrupts its own copy, so every rank that got that far reports it; the
  // report names rank, call, collective, type, count, algorithm, element, got, expected.
  std::regex report(R"(soak: WRONG RESULT: rank [0-2]: call (\d+): [a-z-]+ [a-z0-9_]+ .*count [1-9]\d* .*algorithm [a-z]+.*: )"
                    R"(.* element 0 is -?[0-9.e+-]+ \(0x[0-9a-f]+\), expected -?[0-9.e+-]+ \(0x[0-9a-f]+\) \(seed 7: replay)");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, report)) << r.err;
  EXPECT_GE(std::stol(m[1]), 10);
  EXPECT_EQ(r.out.find("collectives verified"), std::string::npos) << "a rank claimed success\n" << r.out;
}

TEST_F(Soak, ASeedReplaysTheSameCalls) {
  Result first = run({"-n", "3", SOAK_PATH, "--calls", "300", "--seed", "12345"}, 60s, kShm);
  ASSERT_TRUE(first.finished) << first.err;
  ASSERT_EQ(first.exitCode, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("seed 12345 (replay with --seed 12345)"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("soak: 300 collectives verified on 3 ranks"), std::string::npos) << first.out;

  Result again = run({"-n", "3", SOAK_PATH, "--calls", "300", "--seed", "12345"}, 60s, kShm);
  ASSERT_TRUE(again.finished) << again.err;
  ASSERT_EQ(again.exitCode, 0) << again.out << again.err;
  ASSERT_FALSE(tallyOf(first.out).empty()) << first.out;
  EXPECT_EQ(tallyOf(first.out), tallyOf(again.out));
}

TEST_F(Soak, AnUnknownAlgorithmStopsTheJobWithItsName) {
  Result r = run({"-n", "2", SOAK_PATH, "--calls", "10", "--algorithms", "ring,rnig"}, 60s, kShm);
  ASSERT_TRUE(r.finished) << r.err;
  EXPECT_EQ(r.exitCode, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("unknown algorithm 'rnig'"), std::string::npos) << r.err;
}

}  // namespace
