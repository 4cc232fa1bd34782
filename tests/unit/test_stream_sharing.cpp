// Which calls of thread ranks on one GPU would wait for each other through the legacy
// default stream (or one stream), and that the registry refuses only those: per
// communicator and context, and only while the call waited for is unfinished.
#include "core/cuda/stream_sharing.h"

#include <gtest/gtest.h>

namespace braid {
namespace {

constexpr auto kLegacy = StreamOrdering::Legacy;
constexpr auto kBlocking = StreamOrdering::Blocking;
constexpr auto kNonBlocking = StreamOrdering::NonBlocking;

int gpu0 = 0, gpu1 = 0;  // two contexts
int streamA = 0, streamB = 0;  // two stream handles

StreamCall on(int rank, StreamOrdering ordering, const void* stream = nullptr, const void* context = &gpu0,
              const char* comm = "comm") {
  return StreamCall{comm, context, rank, ordering, stream};
}

TEST(StreamSharing, OnlyTheLegacyStreamAndWhatWaitsForItSerialise) {
  EXPECT_TRUE(streamsSerialise(kLegacy, kLegacy));
  EXPECT_TRUE(streamsSerialise(kLegacy, kBlocking));
  EXPECT_TRUE(streamsSerialise(kBlocking, kLegacy));
  EXPECT_FALSE(streamsSerialise(kBlocking, kBlocking));  // two created streams are independent
  for (auto other : {kLegacy, kBlocking, kNonBlocking}) {
    EXPECT_FALSE(streamsSerialise(kNonBlocking, other));
    EXPECT_FALSE(streamsSerialise(other, kNonBlocking));
  }
}

TEST(StreamSharing, ACallThatWouldWaitForAnUnfinishedOneIsRefusedNamingItsRank) {
  StreamSharing sharing;
  EXPECT_GT(sharing.admit(on(2, kLegacy)).ticket, 0u);
  EXPECT_GT(sharing.admit(on(2, kLegacy)).ticket, 0u) << "a rank never waits for itself";
  EXPECT_GT(sharing.admit(on(0, kNonBlocking, &streamA)).ticket, 0u);
  const auto blocking = sharing.admit(on(1, kBlocking, &streamB));
  EXPECT_EQ(blocking.ticket, 0u);
  EXPECT_EQ(blocking.rank, 2);
  EXPECT_EQ(blocking.ordering, kLegacy);
  EXPECT_FALSE(blocking.sameStream);
  const auto legacy = sharing.admit(on(3, kLegacy));
  EXPECT_EQ(legacy.rank, 2);
  EXPECT_STREQ(describe(legacy.ordering), "the legacy default stream");
  EXPECT_EQ(sharing.unfinished(), 3u) << "a refused call is not recorded";
}

TEST(StreamSharing, TheLegacyStreamWaitsForBlockingStreamsAndTheLowestRankIsNamed) {
  StreamSharing sharing;
  EXPECT_GT(sharing.admit(on(3, kBlocking, &streamA)).ticket, 0u);
  EXPECT_GT(sharing.admit(on(1, kBlocking, &streamB)).ticket, 0u) << "created streams are independent";
  const auto refusal = sharing.admit(on(2, kLegacy));
  EXPECT_EQ(refusal.rank, 1);
  EXPECT_EQ(refusal.ordering, kBlocking);
}

TEST(StreamSharing, TwoRanksOnOneStreamWaitForEachOtherWhateverItsKind) {
  StreamSharing sharing;
  EXPECT_GT(sharing.admit(on(0, kNonBlocking, &streamA)).ticket, 0u);
  const auto refusal = sharing.admit(on(1, kNonBlocking, &streamA));
  EXPECT_EQ(refusal.rank, 0);
  EXPECT_TRUE(refusal.sameStream);
  EXPECT_GT(sharing.admit(on(1, kNonBlocking, &streamB)).ticket, 0u);
  EXPECT_GT(sharing.admit(on(2, kBlocking, nullptr)).ticket, 0u) << "no handle: not known to be shared";
}

TEST(StreamSharing, OtherCommunicatorsAndContextsAreIndependent) {
  StreamSharing sharing;
  EXPECT_GT(sharing.admit(on(0, kLegacy)).ticket, 0u);
  EXPECT_GT(sharing.admit(on(1, kLegacy, nullptr, &gpu1)).ticket, 0u) << "another GPU has its own legacy stream";
  EXPECT_GT(sharing.admit(on(1, kLegacy, nullptr, &gpu0, "other")).ticket, 0u) << "another communicator's call";
  EXPECT_EQ(sharing.admit(on(1, kLegacy)).rank, 0);
}

TEST(StreamSharing, AFinishedCallHoldsNobodyUpAndItsRanksOthersStillDo) {
  StreamSharing sharing;
  const auto first = sharing.admit(on(0, kLegacy));
  const auto second = sharing.admit(on(0, kNonBlocking, &streamA));  // moving on does not end the first
  EXPECT_EQ(sharing.admit(on(1, kBlocking, &streamB)).rank, 0);
  sharing.finish(first.ticket);
  EXPECT_GT(sharing.admit(on(1, kBlocking, &streamB)).ticket, 0u);
  EXPECT_EQ(sharing.admit(on(2, kNonBlocking, &streamA)).rank, 0) << "rank 0's call on that stream is unfinished";
  sharing.finish(second.ticket);
  sharing.finish(second.ticket);  // twice, or an unknown ticket: nothing
  sharing.finish(0);
  EXPECT_GT(sharing.admit(on(2, kNonBlocking, &streamA)).ticket, 0u);
  EXPECT_EQ(sharing.unfinished(), 2u);
}

TEST(StreamSharing, AForgottenRankHoldsNobodyUp) {
  StreamSharing sharing;
  const auto call = sharing.admit(on(0, kLegacy));
  EXPECT_GT(sharing.admit(on(0, kLegacy, nullptr, &gpu0, "other")).ticket, 0u);
  sharing.forget("comm", &gpu0, 0);
  sharing.forget("comm", &gpu0, 7);  // never seen: nothing to do
  EXPECT_GT(sharing.admit(on(1, kLegacy)).ticket, 0u);
  EXPECT_EQ(sharing.admit(on(1, kLegacy, nullptr, &gpu0, "other")).rank, 0) << "only that communicator's rank went";
  sharing.finish(call.ticket);  // its stream gets past it later: nothing left to do
  EXPECT_EQ(sharing.unfinished(), 2u);
}

}  // namespace
}  // namespace braid
