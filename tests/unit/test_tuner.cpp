// The tuner's choices on layouts whose answer is known (latency-bound small messages,
// bandwidth-bound large ones, a slow network between full nodes), BRAID_ALGO's say over
// them, the memo, and the tuning file that feeds the cost model.
#include "topology/tuner.h"
#include "topology/tuning_file.h"

#include <braid/error.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <fstream>
#include <string>

namespace braid {
namespace {

constexpr std::size_t K = 1024, M = K * K;

std::vector<RankPlacement> oneNuma(int ranks) { return std::vector<RankPlacement>(static_cast<std::size_t>(ranks)); }

std::vector<RankPlacement> nodesOf(int nodes, int ranksPerNode) {
  std::vector<RankPlacement> out;
  for (int n = 0; n < nodes; ++n)
    for (int r = 0; r < ranksPerNode; ++r) out.push_back({n, 0, 0});
  return out;
}

CostModel slowNetwork() {
  CostModel m = CostModel::defaults();
  m.links[static_cast<std::size_t>(LinkClass::Network)] = {20.0, 1.0};
  return m;
}

bool isTreeOrHd(Algorithm a) { return a == Algorithm::Tree || a == Algorithm::HalvingDoubling; }

TEST(Tuner, SmallAllReduceOnOneNumaNodeIsLatencyBound) {
  const Tuner t(CostModel::defaults(), oneNuma(8), {});
  const Decision d = t.choose(Collective::AllReduce, 8);
  EXPECT_TRUE(isTreeOrHd(d.algorithm)) << toString(d.algorithm);
  EXPECT_STREQ(d.reason, "cost model");
  EXPECT_EQ(d.sliceBytes, 8u);  // never larger than the message
  EXPECT_GT(d.predictedUs, 0);
}

TEST(Tuner, LargeAllReduceOnOneNumaNodeIsRing) {
  const Tuner t(CostModel::defaults(), oneNuma(8), {});
  const Decision d = t.choose(Collective::AllReduce, 256 * M);
  EXPECT_EQ(d.algorithm, Algorithm::Ring);
  EXPECT_LE(d.sliceBytes, 4 * M);
  EXPECT_GE(d.sliceBytes, 64 * K);
  // Bandwidth bound: close to 2 (n-1)/n S / bandwidth on the same-NUMA link.
  const double boundUs = 2.0 * 7 / 8 * 256 * M / (CostModel::defaults().link(LinkClass::SameNuma).gbPerSec * 1e3);
  EXPECT_GT(d.predictedUs, boundUs);
  EXPECT_LT(d.predictedUs, 1.5 * boundUs);
}

TEST(Tuner, RingLatencyGrowsWithRanksTreeLatencyWithTheirLog) {
  const Tuner t(CostModel::defaults(), oneNuma(4096), {});
  const double ring = t.predictUs(Collective::AllReduce, Algorithm::Ring, 8, 8);
  const double tree = t.predictUs(Collective::AllReduce, Algorithm::Tree, 8, 8);
  EXPECT_GT(ring, 100 * tree) << "ring " << ring << " us, tree " << tree << " us";
  EXPECT_NE(t.choose(Collective::AllReduce, 8).algorithm, Algorithm::Ring);
}

TEST(Tuner, SlowNetworkBetweenFullNodesMakesLargeAllReduceHierarchical) {
  const Tuner t(slowNetwork(), nodesOf(4, 8), {});
  const Decision d = t.choose(Collective::AllReduce, 256 * M);
  EXPECT_EQ(d.algorithm, Algorithm::Hierarchical);
  EXPECT_LT(d.predictedUs, t.predictUs(Collective::AllReduce, Algorithm::Ring, 256 * M, d.sliceBytes));
}

TEST(Tuner, HierarchicalNeedsSeveralNodesAndSharedNodes) {
  auto offersHier = [](const std::vector<RankPlacement>& at) {
    const Tuner t(slowNetwork(), at, {});
    for (const Decision& d : t.alternatives(Collective::AllReduce, 256 * M))
      if (d.algorithm == Algorithm::Hierarchical) return true;
    return false;
  };
  EXPECT_FALSE(offersHier(oneNuma(8)));     // one node
  EXPECT_FALSE(offersHier(nodesOf(8, 1)));  // one rank per node
  EXPECT_TRUE(offersHier(nodesOf(2, 2)));
}

TEST(Tuner, OverrideForcesOnlyWithinItsRange) {
  const Tuner t(CostModel::defaults(), oneNuma(8), AlgoOverride::parse("allreduce:1K-64K:ring"));
  const Decision below = t.choose(Collective::AllReduce, 8);
  EXPECT_TRUE(isTreeOrHd(below.algorithm)) << toString(below.algorithm);
  EXPECT_STREQ(below.reason, "cost model");

  for (std::size_t inside : {std::size_t{1024}, std::size_t{4096}, 64 * K - 1}) {
    const Decision d = t.choose(Collective::AllReduce, inside);
    EXPECT_EQ(d.algorithm, Algorithm::Ring) << inside;
    EXPECT_STREQ(d.reason, "forced by BRAID_ALGO");
    EXPECT_EQ(d.predictedUs, t.predictUs(Collective::AllReduce, Algorithm::Ring, inside, d.sliceBytes));
  }
  // 64K is outside [1K, 64K): the model decides again, and other collectives never were forced.
  EXPECT_STREQ(t.choose(Collective::AllReduce, 64 * K).reason, "cost model");
  EXPECT_STREQ(t.choose(Collective::ReduceScatter, 4096).reason, "cost model");
}

TEST(Tuner, OverrideCanForceWhatTheModelWouldNotPick) {
  const Tuner t(CostModel::defaults(), oneNuma(8), AlgoOverride::parse("allreduce:tree"));
  const Decision d = t.choose(Collective::AllReduce, 256 * M);
  EXPECT_EQ(d.algorithm, Algorithm::Tree);
  EXPECT_GT(d.predictedUs, t.predictUs(Collective::AllReduce, Algorithm::Ring, 256 * M, 4 * M));
}

TEST(Tuner, PlainListLeavesOnlyItsAlgorithms) {
  const Tuner t(CostModel::defaults(), oneNuma(8), AlgoOverride::parse("ring"));
  for (std::size_t bytes : {std::size_t{8}, 64 * K, 256 * M}) {
    const Decision d = t.choose(Collective::AllReduce, bytes);
    EXPECT_EQ(d.algorithm, Algorithm::Ring);
    EXPECT_STREQ(d.reason, "only choice");
  }
  // Ring does no all-to-all, so there the list does not apply.
  EXPECT_EQ(t.choose(Collective::AllToAll, 8).algorithm, Algorithm::Direct);
}

TEST(Tuner, ListNamingOnlyInfeasibleAlgorithmsFallsBackToAll) {
  const Tuner t(CostModel::defaults(), oneNuma(8), AlgoOverride::parse("hier"));
  EXPECT_NE(t.choose(Collective::AllReduce, 8).algorithm, Algorithm::Hierarchical);
  EXPECT_GT(t.alternatives(Collective::AllReduce, 8).size(), 1u);
}

TEST(Tuner, DecisionsAreMemoizedAndStable) {
  const Tuner t(CostModel::defaults(), nodesOf(4, 8), {});
  for (Collective c : {Collective::AllReduce, Collective::AllGather, Collective::Broadcast})
    for (std::size_t bytes : {std::size_t{0}, std::size_t{8}, 3 * K, 5 * M, 256 * M}) {
      const Decision first = t.choose(c, bytes), again = t.choose(c, bytes);
      EXPECT_EQ(first.algorithm, again.algorithm);
      EXPECT_EQ(first.sliceBytes, again.sliceBytes);
      EXPECT_EQ(first.predictedUs, again.predictedUs);
      EXPECT_STREQ(first.reason, again.reason);
    }
  // One size bucket, one decision: 5M and 7M share floor(log2) = 22.
  EXPECT_EQ(t.choose(Collective::AllReduce, 5 * M).algorithm, t.choose(Collective::AllReduce, 7 * M).algorithm);
  const std::size_t slice5 = t.choose(Collective::AllReduce, 5 * M).sliceBytes;
  const std::size_t slice7 = t.choose(Collective::AllReduce, 7 * M).sliceBytes;
  EXPECT_TRUE(slice5 == slice7 || (slice5 == 5 * M && slice7 == 7 * M)) << slice5 << " " << slice7;
}

TEST(Tuner, AlternativesAreSortedAndAgreeWithChoose) {
  const Tuner t(CostModel::defaults(), oneNuma(8), {});
  for (std::size_t bytes : {std::size_t{8}, 64 * K, 256 * M}) {
    const auto rows = t.alternatives(Collective::AllReduce, bytes);
    ASSERT_EQ(rows.size(), 3u);  // ring, tree, hd: hier is infeasible on one node
    for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_LE(rows[i - 1].predictedUs, rows[i].predictedUs);
    EXPECT_EQ(rows.front().algorithm, t.choose(Collective::AllReduce, bytes).algorithm) << bytes;
  }
}

TEST(Tuner, SliceIsNeverLargerThanTheMessage) {
  const Tuner t(CostModel::defaults(), nodesOf(4, 8), {});
  for (Collective c : {Collective::AllReduce, Collective::Broadcast, Collective::Reduce})
    for (std::size_t bytes : {std::size_t{1}, std::size_t{100}, 65 * K, 3 * M, 1024 * M}) {
      const Decision d = t.choose(c, bytes);
      EXPECT_LE(d.sliceBytes, bytes) << toString(c) << " " << bytes;
      EXPECT_GE(d.sliceBytes, 1u);
    }
}

TEST(Tuner, PipelinedBroadcastPicksASliceBelowTheMessage) {
  const Tuner t(CostModel::defaults(), oneNuma(8), AlgoOverride::parse("broadcast:ring"));
  const Decision d = t.choose(Collective::Broadcast, 256 * M);
  EXPECT_LT(d.sliceBytes, 256 * M);  // a chain without pipelining would pay n-1 full hops
  EXPECT_LT(d.predictedUs, t.predictUs(Collective::Broadcast, Algorithm::Ring, 256 * M, 256 * M) / 2);
}

TEST(Tuner, UserChunkIsTheSliceOfEveryAlgorithm) {
  const Tuner t(CostModel::defaults(), oneNuma(8), {}, 256 * K);
  EXPECT_EQ(t.choose(Collective::AllReduce, 256 * M).sliceBytes, 256 * K);
  EXPECT_EQ(t.choose(Collective::Broadcast, 64 * M).sliceBytes, 256 * K);
  EXPECT_EQ(t.choose(Collective::AllReduce, 100).sliceBytes, 100u);
}

TEST(Tuner, UnsupportedPairsCostInfinity) {
  const Tuner t(CostModel::defaults(), oneNuma(8), {});
  EXPECT_TRUE(std::isinf(t.predictUs(Collective::AllGather, Algorithm::Tree, 8, 8)));
  EXPECT_TRUE(std::isinf(t.predictUs(Collective::AllToAll, Algorithm::Ring, 8, 8)));
}

TEST(Tuner, OneRankCostsNothingAndAllToAllHasOnlyOneChoice) {
  const Tuner single(CostModel::defaults(), oneNuma(1), {});
  EXPECT_EQ(single.choose(Collective::AllReduce, 256 * M).predictedUs, 0);
  const Tuner t(CostModel::defaults(), oneNuma(8), {});
  EXPECT_STREQ(t.choose(Collective::AllToAll, 8).reason, "only choice");
}

TEST(Tuner, NonPowerOfTwoPaysTheFold) {
  const Tuner eight(CostModel::defaults(), oneNuma(8), {}), nine(CostModel::defaults(), oneNuma(9), {});
  const double hd8 = eight.predictUs(Collective::AllReduce, Algorithm::HalvingDoubling, 64 * M, 64 * M);
  const double hd9 = nine.predictUs(Collective::AllReduce, Algorithm::HalvingDoubling, 64 * M, 64 * M);
  EXPECT_GT(hd9, 1.5 * hd8);  // the fold moves the whole buffer twice more
}

TEST(Tuner, RejectsNoRanks) { EXPECT_THROW(Tuner(CostModel::defaults(), {}, {}), std::invalid_argument); }

// --- Measured times ---

// Ring measured fastest where the model prefers a log-step algorithm (as with 8 ranks
// on 2 cores at 32-64K), tree fastest at 8 bytes.
std::vector<MeasuredTime> measuredAt8Ranks() {
  return {{Collective::AllReduce, 8, 1, 8, Algorithm::Ring, 30},
          {Collective::AllReduce, 8, 1, 8, Algorithm::Tree, 20},
          {Collective::AllReduce, 8, 1, 8, Algorithm::HalvingDoubling, 25},
          {Collective::AllReduce, 8, 1, 32 * K, Algorithm::Ring, 78},
          {Collective::AllReduce, 8, 1, 32 * K, Algorithm::Tree, 130},
          {Collective::AllReduce, 8, 1, 32 * K, Algorithm::HalvingDoubling, 115}};
}

TEST(TunerMeasured, TheMeasuredFastestWinsOverTheModel) {
  const Tuner model(CostModel::defaults(), oneNuma(8), {});
  ASSERT_NE(model.choose(Collective::AllReduce, 32 * K).algorithm, Algorithm::Ring);  // what the test overrules
  const Tuner t(CostModel::defaults(), oneNuma(8), {}, std::nullopt, measuredAt8Ranks());
  Decision d = t.choose(Collective::AllReduce, 32 * K);
  EXPECT_EQ(d.algorithm, Algorithm::Ring);
  EXPECT_STREQ(d.reason, "measured");
  d = t.choose(Collective::AllReduce, 8);
  EXPECT_EQ(d.algorithm, Algorithm::Tree);
  // Within an octave of a measurement: 63K is nearer 32K than 128K would be.
  EXPECT_EQ(t.choose(Collective::AllReduce, 63 * K).algorithm, Algorithm::Ring);
  EXPECT_EQ(t.choose(Collective::AllReduce, 12).algorithm, Algorithm::Tree);
}

TEST(TunerMeasured, FarFromAnyMeasurementTheModelDecides) {
  const Tuner model(CostModel::defaults(), oneNuma(8), {});
  const Tuner t(CostModel::defaults(), oneNuma(8), {}, std::nullopt, measuredAt8Ranks());
  for (std::size_t bytes : {std::size_t{1} * K, 16 * M}) {
    const Decision d = t.choose(Collective::AllReduce, bytes);
    EXPECT_STREQ(d.reason, "cost model") << bytes;
    EXPECT_EQ(d.algorithm, model.choose(Collective::AllReduce, bytes).algorithm) << bytes;
  }
  EXPECT_STREQ(t.choose(Collective::AllGather, 32 * K).reason, "cost model");  // nothing measured for it
}

TEST(TunerMeasured, OtherJobShapesAreIgnored) {
  const Tuner model(CostModel::defaults(), oneNuma(4), {});
  const Tuner fourRanks(CostModel::defaults(), oneNuma(4), {}, std::nullopt, measuredAt8Ranks());
  EXPECT_STREQ(fourRanks.choose(Collective::AllReduce, 32 * K).reason, "cost model");
  const Tuner twoNodes(CostModel::defaults(), nodesOf(2, 4), {}, std::nullopt, measuredAt8Ranks());
  EXPECT_STREQ(twoNodes.choose(Collective::AllReduce, 32 * K).reason, "cost model");
}

TEST(TunerMeasured, BraidAlgoStillHasTheLastWord) {
  const Tuner forced(CostModel::defaults(), oneNuma(8), AlgoOverride::parse("allreduce:hd"), std::nullopt,
                     measuredAt8Ranks());
  EXPECT_EQ(forced.choose(Collective::AllReduce, 32 * K).algorithm, Algorithm::HalvingDoubling);
  // A list that excludes the measured fastest: the fastest of what it allows.
  const Tuner listed(CostModel::defaults(), oneNuma(8), AlgoOverride::parse("tree,hd"), std::nullopt,
                     measuredAt8Ranks());
  const Decision d = listed.choose(Collective::AllReduce, 32 * K);
  EXPECT_EQ(d.algorithm, Algorithm::HalvingDoubling);
  EXPECT_STREQ(d.reason, "measured");
}

// --- Tuning file ---

std::string tempPath(const char* name) { return "/tmp/braid-test-" + std::to_string(getpid()) + "-" + name; }

void writeFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(TunerTuningFile, SaveThenLoadGivesTheSameModel) {
  Tuning saved;
  CostModel& m = saved.model;
  m.links[static_cast<std::size_t>(LinkClass::Network)] = {3.25, 24.5};
  m.reduceGBps = 11;
  m.stepOverheadUs = 0.05;
  saved.measured = {{Collective::AllReduce, 8, 1, 32 * K, Algorithm::Ring, 78.5},
                    {Collective::AllGather, 4, 2, 8, Algorithm::Bruck, 12.25}};
  const std::string path = tempPath("roundtrip.json");
  saveTuning(path, saved);
  const Tuning loaded = loadTuning(path);
  const CostModel& back = loaded.model;
  std::remove(path.c_str());
  EXPECT_EQ(loaded.measured, saved.measured);
  for (int c = 0; c < kLinkClasses; ++c) {
    EXPECT_EQ(back.links[static_cast<std::size_t>(c)].latencyUs, m.links[static_cast<std::size_t>(c)].latencyUs);
    EXPECT_EQ(back.links[static_cast<std::size_t>(c)].gbPerSec, m.links[static_cast<std::size_t>(c)].gbPerSec);
  }
  EXPECT_EQ(back.reduceGBps, 11);
  EXPECT_EQ(back.stepOverheadUs, 0.05);
}

TEST(TunerTuningFile, SavingReplacesTheFileALinkNamesAndKeepsItsPermissions) {
  const std::string dir = tempPath("save_dir");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directory(dir);
  const std::string file = dir + "/shared.json", link = dir + "/tuning.json";
  writeFile(file, "{}");
  ASSERT_EQ(::chmod(file.c_str(), 0664), 0);
  std::filesystem::create_symlink("shared.json", link);
  Tuning saved;
  saved.model.reduceGBps = 7;
  saveTuning(link, saved);
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(loadTuning(file).model.reduceGBps, 7);
  EXPECT_EQ(std::filesystem::status(file).permissions(), std::filesystem::perms(0664));
  // Nothing else is left behind: the temporary was renamed.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 2);
  std::filesystem::remove_all(dir);
}

TEST(TunerTuningFile, MissingFieldsKeepDefaults) {
  const std::string path = tempPath("partial.json");
  writeFile(path, R"({"links": {"network": {"gb_per_s": 2.5}}})");
  const CostModel m = loadTuning(path).model;
  std::remove(path.c_str());
  EXPECT_EQ(m.link(LinkClass::Network).gbPerSec, 2.5);
  EXPECT_EQ(m.link(LinkClass::Network).latencyUs, CostModel::defaults().link(LinkClass::Network).latencyUs);
  EXPECT_EQ(m.reduceGBps, CostModel::defaults().reduceGBps);
}

TEST(TunerTuningFile, RejectsWhatIsNotATuningFile) {
  const std::pair<const char*, const char*> cases[] = {
      {"{not json", "is not JSON"},
      {"[1, 2]", "expected a JSON object"},
      {R"({"links": {"xgmi": {"gb_per_s": 1}}})", "unknown link class 'xgmi'"},
      {R"({"links": {"network": {"gb_per_s": 0}}})", "'gb_per_s' must be a positive number"},
      {R"({"links": {"network": {"latency_us": -1}}})", "'latency_us' must be a non-negative number"},
      {R"({"reduce_gb_per_s": "fast"})", "'reduce_gb_per_s' must be a positive number"},
      {R"({"measured": {}})", "'measured' must be an array"},
      {R"({"measured": [{"collective": "allmerge", "algorithm": "ring"}]})", "measured[0]: unknown collective"},
      {R"({"measured": [{"collective": "allgather", "algorithm": "tree"}]})", "tree does not run allgather"},
      {R"({"measured": [{"collective": "allreduce", "algorithm": "ring", "ranks": 0, "nodes": 1}]})",
       "'ranks' must be a positive integer"},
      {R"({"measured": [{"collective": "allreduce", "algorithm": "ring", "ranks": 2, "nodes": 3, "bytes": 8,
          "us": 1}]})", "nodes <= ranks"},
      {R"({"measured": [{"collective": "allreduce", "algorithm": "ring", "ranks": 2, "nodes": 1, "bytes": 8,
          "us": 0}]})", "'us' must be a positive number"},
      {R"({"measured": [{"collective": "allreduce", "algorithm": "ring", "ranks": 2, "nodes": 1, "bytes": 8}]})",
       "'us' is missing"},
  };
  const std::string path = tempPath("bad.json");
  for (const auto& [text, expected] : cases) {
    writeFile(path, text);
    try {
      loadTuning(path);
      ADD_FAILURE() << "accepted " << text;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  std::remove(path.c_str());
  EXPECT_THROW(loadTuning(tempPath("does-not-exist.json")), SystemError);
}

}  // namespace
}  // namespace braid
