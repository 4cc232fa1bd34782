// Messages about many ranks name each group of ranks in the same state once, in the
// order of the group's first rank, so a large job's report reads as a few lines.
#include "core/rank_groups.h"
#include "core/status_report.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace braid {
namespace {

TEST(StatusReport, RankListsFoldRunsOfThreeOrMore) {
  EXPECT_EQ(rankList({3}), "3");
  EXPECT_EQ(rankList({0, 1}), "0,1");
  EXPECT_EQ(rankList({0, 1, 2, 5, 7, 8, 9, 10}), "0-2,5,7-10");
  EXPECT_EQ(namedRanks({4}), "rank 4");
  EXPECT_EQ(namedRanks({4, 5, 6}), "ranks 4-6");
}

TEST(StatusReport, RanksGroupByValueInTheOrderOfTheirFirstRank) {
  const std::vector<std::string> values = {"b", "a", "b", "c", "a", "b"};
  const auto groups = groupRanks(6, [&](int r) { return values[r]; }, /*skip=*/2);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].value, "b");
  EXPECT_EQ(groups[0].ranks, (std::vector<int>{0, 5}));
  EXPECT_EQ(groups[1].value, "a");
  EXPECT_EQ(groups[1].ranks, (std::vector<int>{1, 4}));
  EXPECT_EQ(groups[2].value, "c");
  EXPECT_EQ(groups[2].ranks, (std::vector<int>{3}));
  EXPECT_TRUE(groupRanks(1, [](int) { return 0; }, 0).empty());
}

TEST(StatusReport, RanksInTheSameStateShareALineAndALoneRankGetsItsHostAndPid) {
  const CallDesc current = describeCall(2, Collective::AllReduce, DataType::Float32, ReduceOp::Sum, 1024, 0);
  const CallDesc previous = describeCall(1, Collective::AllReduce, DataType::Float32, ReduceOp::Sum, 1024, 0);
  std::vector<StatusBoard::Answer> answers(5);
  for (int r : {1, 3, 4}) {  // waiting in the same call
    answers[r].answered = true;
    answers[r].record.entered = current;
    answers[r].record.completed = previous;
    answers[r].record.state = static_cast<std::int32_t>(CallState::InCollective);
    answers[r].record.pid = 100 + r;
  }
  answers[2].answered = true;  // never arrived: it finished the call before and idles
  answers[2].record.entered = previous;
  answers[2].record.completed = previous;
  answers[2].record.state = static_cast<std::int32_t>(CallState::Idle);
  answers[2].record.pid = 102;
  answers[2].record.msInState = 1500;
  const std::vector<std::string> hosts = {"h0", "h1", "h2", "h3", "h4"};
  const std::string report = statusReport(0, &current, answers, hosts, 250);
  EXPECT_NE(report.find("\n    ranks 1,3,4: in all-reduce #2 (count 1024, float, sum) too"), std::string::npos)
      << report;
  EXPECT_NE(report.find("\n    rank 2 (h2, pid 102): never arrived at all-reduce #2"), std::string::npos) << report;
  EXPECT_EQ(report.find("rank 0"), std::string::npos) << "the asking rank reports itself: " << report;
  EXPECT_LT(report.find("ranks 1,3,4"), report.find("rank 2 ("));

  answers[3].link = StatusBoard::Link::Gone;
  const std::string afterLoss = statusReport(0, &current, answers, hosts, 250);
  EXPECT_NE(afterLoss.find("\n    ranks 1,4: in all-reduce #2"), std::string::npos) << afterLoss;
  EXPECT_NE(afterLoss.find("\n    rank 3 (h3): gone: its status link closed"), std::string::npos) << afterLoss;
}

}  // namespace
}  // namespace braid
