// BRAID_ALGO: every form the parser accepts, what it then forces or allows, and every
// rejection with the piece it quotes and what it says was expected.
#include "topology/algo_override.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace braid {
namespace {

constexpr std::uint64_t K = 1024, M = K * K, G = M * K;

TEST(AlgoOverride, EmptyTextOverridesNothing) {
  for (const char* text : {"", "   "}) {
    const AlgoOverride o = AlgoOverride::parse(text);
    EXPECT_TRUE(o.empty()) << text;
    EXPECT_FALSE(o.forced(Collective::AllReduce, 8));
    EXPECT_TRUE(o.allowed(Collective::AllReduce, Algorithm::Tree));
  }
}

TEST(AlgoOverride, RangesAreHalfOpenAndOpenEnded) {
  const AlgoOverride o = AlgoOverride::parse("allreduce:0-64K:tree,64K-:ring;allgather:bruck");
  EXPECT_FALSE(o.empty());
  EXPECT_EQ(o.forced(Collective::AllReduce, 0), Algorithm::Tree);
  EXPECT_EQ(o.forced(Collective::AllReduce, 64 * K - 1), Algorithm::Tree);
  EXPECT_EQ(o.forced(Collective::AllReduce, 64 * K), Algorithm::Ring);
  EXPECT_EQ(o.forced(Collective::AllReduce, UINT64_MAX - 1), Algorithm::Ring);
  EXPECT_EQ(o.forced(Collective::AllGather, 0), Algorithm::Bruck);
  EXPECT_EQ(o.forced(Collective::AllGather, 5 * G), Algorithm::Bruck);
  EXPECT_FALSE(o.forced(Collective::ReduceScatter, 8));
  const std::vector<AlgoRange> expected = {{0, 64 * K, Algorithm::Tree}, {64 * K, kNoUpperBound, Algorithm::Ring}};
  EXPECT_EQ(o.ranges(Collective::AllReduce), expected);
}

TEST(AlgoOverride, GapsBetweenRangesAreLeftToTheTuner) {
  const AlgoOverride o = AlgoOverride::parse("broadcast:1K-2K:tree,1M-1G:ring");
  EXPECT_FALSE(o.forced(Collective::Broadcast, 1023));
  EXPECT_EQ(o.forced(Collective::Broadcast, 1024), Algorithm::Tree);
  EXPECT_FALSE(o.forced(Collective::Broadcast, 2048));
  EXPECT_EQ(o.forced(Collective::Broadcast, M), Algorithm::Ring);
  EXPECT_FALSE(o.forced(Collective::Broadcast, G));
}

TEST(AlgoOverride, SizeUnitsAreBinaryAndCaseInsensitive) {
  const AlgoOverride o = AlgoOverride::parse("reduce:64-1k:tree,1K-2m:ring;allreduce:1M-2g:hd,2G-:ring");
  EXPECT_EQ(o.ranges(Collective::Reduce)[0].lo, 64u);
  EXPECT_EQ(o.ranges(Collective::Reduce)[0].hi, K);
  EXPECT_EQ(o.ranges(Collective::Reduce)[1].hi, 2 * M);
  EXPECT_EQ(o.ranges(Collective::AllReduce)[0].hi, 2 * G);
  // As every size Braid reads (core/byte_size.h): fractions and a B suffix too.
  const AlgoOverride f = AlgoOverride::parse("allgather:0-1.5MB:ring");
  EXPECT_EQ(f.ranges(Collective::AllGather)[0].hi, 3 * M / 2);
}

TEST(AlgoOverride, EveryCollectiveAndAlgorithmByName) {
  const AlgoOverride o =
      AlgoOverride::parse("allreduce:hier;allgather:rd;reducescatter:hd;broadcast:tree;reduce:ring;alltoall:direct");
  EXPECT_EQ(o.forced(Collective::AllReduce, 1), Algorithm::Hierarchical);
  EXPECT_EQ(o.forced(Collective::AllGather, 1), Algorithm::RecursiveDoubling);
  EXPECT_EQ(o.forced(Collective::ReduceScatter, 1), Algorithm::HalvingDoubling);
  EXPECT_EQ(o.forced(Collective::Broadcast, 1), Algorithm::Tree);
  EXPECT_EQ(o.forced(Collective::Reduce, 1), Algorithm::Ring);
  EXPECT_EQ(o.forced(Collective::AllToAll, 1), Algorithm::Direct);
}

TEST(AlgoOverride, NamesAreCaseInsensitiveAndBlanksAreIgnored) {
  const AlgoOverride o = AlgoOverride::parse(" AllReduce : 0-64K : Tree , 64K- : RING ; AllGather:Bruck ");
  EXPECT_EQ(o.forced(Collective::AllReduce, 8), Algorithm::Tree);
  EXPECT_EQ(o.forced(Collective::AllReduce, M), Algorithm::Ring);
  EXPECT_EQ(o.forced(Collective::AllGather, 8), Algorithm::Bruck);
}

TEST(AlgoOverride, OneCollectiveMaySpreadOverSeveralRules) {
  const AlgoOverride o = AlgoOverride::parse("allreduce:0-1K:tree;allreduce:1K-:ring");
  EXPECT_EQ(o.forced(Collective::AllReduce, 1023), Algorithm::Tree);
  EXPECT_EQ(o.forced(Collective::AllReduce, 1024), Algorithm::Ring);
}

TEST(AlgoOverride, PlainListRestrictsEveryCollectiveItCovers) {
  const AlgoOverride o = AlgoOverride::parse("ring,tree");
  EXPECT_FALSE(o.empty());
  EXPECT_FALSE(o.forced(Collective::AllReduce, 8));  // a list restricts, it does not force
  EXPECT_TRUE(o.allowed(Collective::AllReduce, Algorithm::Ring));
  EXPECT_TRUE(o.allowed(Collective::AllReduce, Algorithm::Tree));
  EXPECT_FALSE(o.allowed(Collective::AllReduce, Algorithm::HalvingDoubling));
  EXPECT_FALSE(o.allowed(Collective::AllGather, Algorithm::Bruck));
  EXPECT_TRUE(o.allowed(Collective::AllGather, Algorithm::Ring));
  // Neither ring nor tree does all-to-all: that collective keeps its own choice.
  EXPECT_TRUE(o.allowed(Collective::AllToAll, Algorithm::Direct));
  // An algorithm is never allowed where it does not work.
  EXPECT_FALSE(o.allowed(Collective::AllGather, Algorithm::Tree));
}

TEST(AlgoOverride, PlainListOfOneAsNcclAlgoSpellsIt) {
  const AlgoOverride o = AlgoOverride::parse("Tree");
  EXPECT_TRUE(o.allowed(Collective::AllReduce, Algorithm::Tree));
  EXPECT_FALSE(o.allowed(Collective::AllReduce, Algorithm::Ring));
  EXPECT_TRUE(o.allowed(Collective::AllGather, Algorithm::Ring));  // tree does no all-gather
}

// The message must quote `piece` and contain `expected`.
void expectRejected(const std::string& text, const std::string& piece, const std::string& expected) {
  try {
    AlgoOverride::parse(text);
    ADD_FAILURE() << "accepted '" << text << "'";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("BRAID_ALGO"), std::string::npos) << what;
    EXPECT_NE(what.find("'" + piece + "'"), std::string::npos) << "no '" << piece << "' in: " << what;
    EXPECT_NE(what.find(expected), std::string::npos) << "no '" << expected << "' in: " << what;
  }
}

TEST(AlgoOverride, RejectsUnknownCollective) {
  expectRejected("allreduc:ring", "allreduc", "unknown collective");
  expectRejected("allreduc:ring", "allreduc", "expected one of allreduce, allgather");
}

TEST(AlgoOverride, RejectsUnknownAlgorithm) {
  expectRejected("allreduce:0-64K:tre", "tre", "unknown algorithm");
  expectRejected("allreduce:0-64K:tre", "tre", "expected one of ring, tree, hd, rd, bruck, hier, direct");
  expectRejected("ring,nvls", "nvls", "unknown algorithm");
  expectRejected("allreduce:0-64K:", "0-64K:", "missing algorithm");
}

TEST(AlgoOverride, RejectsAlgorithmThatDoesNotSupportTheCollective) {
  expectRejected("allgather:tree", "tree", "does not support allgather");
  expectRejected("allreduce:0-1K:bruck", "bruck", "does not support allreduce");
  expectRejected("alltoall:ring", "ring", "does not support alltoall");
}

TEST(AlgoOverride, RejectsBadSizes) {
  for (const char* bad : {"x", "1.5.5M", "64T", "99999999999999999999", "17179869184G"}) {
    const std::string text = std::string("allreduce:") + bad + "-:ring";
    expectRejected(text, bad, "bad size");
  }
  expectRejected("allreduce:0-64Q:tree", "64Q", "expected a size such as 64K, 1.5M or 2G");
  expectRejected("allreduce:-64K:tree", "", "bad size");  // a lower bound is required
}

TEST(AlgoOverride, RejectsRangeWithoutDash) { expectRejected("allreduce:64K:tree", "64K", "has no '-'"); }

TEST(AlgoOverride, RejectsEmptyOrBackwardsRange) {
  expectRejected("allreduce:64K-64K:tree", "64K-64K", "expected LO < HI");
  expectRejected("allreduce:1M-64K:tree", "1M-64K", "expected LO < HI");
}

TEST(AlgoOverride, RejectsOverlappingRangesOfOneCollective) {
  expectRejected("allreduce:0-64K:tree,32K-:ring", "32K-:ring", "overlaps");
  expectRejected("allreduce:tree,1M-:ring", "1M-:ring", "overlaps");  // a bare algo covers every size
  expectRejected("allreduce:0-1K:tree;allreduce:512-:ring", "512-:ring", "overlaps");
  // Touching ranges do not overlap, and other collectives may reuse the same sizes.
  EXPECT_NO_THROW(AlgoOverride::parse("allreduce:0-1K:tree,1K-:ring;broadcast:0-1K:tree"));
}

TEST(AlgoOverride, RejectsEmptyRulesAndRanges) {
  expectRejected("allreduce:ring;", "allreduce:ring;", "empty rule");
  expectRejected(";allreduce:ring", ";allreduce:ring", "empty rule");
  expectRejected("allreduce:ring;;allgather:ring", "allreduce:ring;;allgather:ring", "empty rule");
  expectRejected("allreduce:", "allreduce:", "empty range");
  expectRejected("allreduce:0-1K:tree,,1K-:ring", "allreduce:0-1K:tree,,1K-:ring", "empty range");
  expectRejected("ring,", "ring,", "empty entry");
}

TEST(AlgoOverride, RejectsRuleWithoutColonAmongRules) { expectRejected("allreduce:ring;ring", "ring", "has no ':'"); }

TEST(AlgoOverride, RejectsTrailingGarbage) {
  expectRejected("allreduce:0-64K:tree:fast", ":fast", "after the algorithm");
  expectRejected("allreduce:0-64K:tree extra", "tree extra", "unknown algorithm");
}

}  // namespace
}  // namespace braid
