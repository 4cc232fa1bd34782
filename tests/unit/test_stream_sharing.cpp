// Which streams of thread ranks on one GPU would wait for each other through the legacy
// default stream, and that the registry refuses only those, per communicator and context.
#include "core/cuda/stream_sharing.h"

#include <gtest/gtest.h>

namespace braid {
namespace {

constexpr auto kLegacy = StreamOrdering::Legacy;
constexpr auto kBlocking = StreamOrdering::Blocking;
constexpr auto kNonBlocking = StreamOrdering::NonBlocking;

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

TEST(StreamSharing, ASecondRankOnTheLegacyStreamIsRefusedNamingTheFirst) {
  StreamSharing sharing;
  int gpu = 0;
  EXPECT_EQ(sharing.admit("comm", &gpu, 2, kLegacy).rank, -1);
  EXPECT_EQ(sharing.admit("comm", &gpu, 2, kLegacy).rank, -1) << "a rank never conflicts with itself";
  EXPECT_EQ(sharing.admit("comm", &gpu, 0, kNonBlocking).rank, -1);
  EXPECT_EQ(sharing.admit("comm", &gpu, 1, kBlocking).rank, 2);
  const auto conflict = sharing.admit("comm", &gpu, 3, kLegacy);
  EXPECT_EQ(conflict.rank, 2);
  EXPECT_EQ(conflict.ordering, kLegacy);
  EXPECT_STREQ(describe(conflict.ordering), "the legacy default stream");
}

TEST(StreamSharing, ABlockingStreamConflictsOnlyWithARankOnTheLegacyStream) {
  StreamSharing sharing;
  int gpu = 0;
  EXPECT_EQ(sharing.admit("comm", &gpu, 0, kBlocking).rank, -1);
  EXPECT_EQ(sharing.admit("comm", &gpu, 1, kBlocking).rank, -1);
  const auto conflict = sharing.admit("comm", &gpu, 2, kLegacy);
  EXPECT_EQ(conflict.rank, 0) << "the lowest rank it would wait for";
  EXPECT_EQ(conflict.ordering, kBlocking);
}

TEST(StreamSharing, OtherCommunicatorsAndContextsAreIndependent) {
  StreamSharing sharing;
  int gpu0 = 0, gpu1 = 0;
  EXPECT_EQ(sharing.admit("comm", &gpu0, 0, kLegacy).rank, -1);
  EXPECT_EQ(sharing.admit("comm", &gpu1, 1, kLegacy).rank, -1) << "another GPU has a legacy stream of its own";
  EXPECT_EQ(sharing.admit("other", &gpu0, 1, kLegacy).rank, -1) << "a collective of another communicator";
  EXPECT_EQ(sharing.admit("comm", &gpu0, 1, kLegacy).rank, 0);
}

TEST(StreamSharing, ARefusedCallRecordsNothingAndTheLatestCallCounts) {
  StreamSharing sharing;
  int gpu = 0;
  EXPECT_EQ(sharing.admit("comm", &gpu, 0, kLegacy).rank, -1);
  EXPECT_EQ(sharing.admit("comm", &gpu, 1, kLegacy).rank, 0);  // refused: not recorded
  EXPECT_EQ(sharing.admit("comm", &gpu, 0, kNonBlocking).rank, -1);  // rank 0 moved off the legacy stream
  EXPECT_EQ(sharing.admit("comm", &gpu, 2, kBlocking).rank, -1) << "rank 1's refused call was recorded";
  EXPECT_EQ(sharing.admit("comm", &gpu, 1, kLegacy).rank, 2) << "rank 2's blocking stream was not recorded";
}

TEST(StreamSharing, AForgottenRankHoldsNobodyUp) {
  StreamSharing sharing;
  int gpu = 0;
  EXPECT_EQ(sharing.admit("comm", &gpu, 0, kLegacy).rank, -1);
  sharing.forget("comm", &gpu, 0);
  sharing.forget("comm", &gpu, 7);  // never seen: nothing to do
  EXPECT_EQ(sharing.admit("comm", &gpu, 1, kLegacy).rank, -1);
}

}  // namespace
}  // namespace braid
