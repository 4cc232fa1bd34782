// The executor against scripted connections: a peer that sends its last message and
// exits is not declared gone before that message is taken, and a peer that exits
// owing a message still is; a failed run tells its other peers who failed; a peer's
// notice ends a run naming the rank that failed first; an abort ends a run promptly.
#include "algorithms/plan_builder.h"
#include "core/executor.h"

#include <braid/error.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <thread>

namespace braid {
namespace {

// One peer whose process is gone. Its final message (if it sent one) becomes readable
// only after the executor has first looked at the peer's liveness: the order in which
// a rank can observe "wrote, then exited" when the write lands between its last
// progress() and its checkPeer().
class ExitedPeer : public Connection {
 public:
  ExitedPeer(bool sentLastMessage) : Connection(0, 1, "peer-host"), sent_(sentLastMessage) {}

  void postSend(const void*, std::size_t) override { ++sendsPosted_; }
  void postRecv(const RecvTarget& target) override {
    target_ = target;
    ++recvsPosted_;
  }
  bool progress() override {
    if (!sent_ || !livenessChecked_ || recvsDone_ == recvsPosted_) return false;
    std::memcpy(target_.dst, &kValue, sizeof kValue);
    ++recvsDone_;
    return true;
  }
  const char* transportName() const override { return "scripted"; }
  void checkPeer() const override {
    livenessChecked_ = true;
    throw RemoteError("rank 1 (host peer-host) is gone");
  }

  static constexpr std::uint64_t kValue = 0x1234567890abcdefULL;

 private:
  bool sent_;
  mutable bool livenessChecked_ = false;
  RecvTarget target_;
};

Plan receiveOneFromRank1() {
  PlanBuilder b;
  b.recv(1, Region{kOutput, 0, 8});
  return b.finish();
}

void runAgainst(ExitedPeer& peer, std::uint64_t& out) {
  Executor executor(0, {nullptr, &peer}, nullptr, /*oversubscribed=*/true);
  ExecutionBuffers buffers;
  buffers.base = {nullptr, &out, nullptr};
  executor.run(receiveOneFromRank1(), buffers, Deadline(std::chrono::seconds(10)), "test");
}

TEST(Executor, TakesAPeersLastMessageBeforeDeclaringItGone) {
  ExitedPeer peer(/*sentLastMessage=*/true);
  std::uint64_t out = 0;
  ASSERT_NO_THROW(runAgainst(peer, out));
  EXPECT_EQ(out, ExitedPeer::kValue);
}

TEST(Executor, APeerThatExitedOwingAMessageIsNamed) {
  ExitedPeer peer(/*sentLastMessage=*/false);
  std::uint64_t out = 0;
  try {
    runAgainst(peer, out);
    FAIL() << "a dead peer owing a message was not reported";
  } catch (const RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 1"), std::string::npos) << e.what();
  }
}

// A live peer that never sends, which records what the executor tells it.
class SilentPeer : public Connection {
 public:
  SilentPeer(int self, int peer) : Connection(self, peer, "host" + std::to_string(peer)) {}
  void postSend(const void*, std::size_t) override { ++sendsPosted_; }
  void postRecv(const RecvTarget&) override {
    recvSignature = signature_;
    ++recvsPosted_;
    posted.store(true);
  }
  bool progress() override { return false; }
  const char* transportName() const override { return "scripted"; }
  void checkPeer() const override {
    if (failure) failure();
  }
  void postNotice(const FailureNotice& n) override { notice = n; }

  std::function<void()> failure;  // what checkPeer throws, if anything
  FailureNotice notice;           // the last notice posted
  std::uint32_t recvSignature = 0;
  std::atomic<bool> posted{false};  // read by other threads
};

// Rank 0 of four, receiving one message from each of ranks 1..3.
struct FourRanks {
  SilentPeer p1{0, 1}, p2{0, 2}, p3{0, 3};
  std::uint64_t out[3] = {};
  Plan plan = [] {
    PlanBuilder b;
    for (int r = 1; r <= 3; ++r) b.recv(r, Region{kOutput, static_cast<std::size_t>(r - 1), 1});
    return b.finish();
  }();
  Executor executor{0, {nullptr, &p1, &p2, &p3}, nullptr, /*oversubscribed=*/true};

  void run(std::chrono::milliseconds limit, std::uint32_t signature = 0) {
    ExecutionBuffers buffers;
    buffers.base = {nullptr, out, nullptr};
    buffers.elemSize = 8;
    buffers.signature = signature;
    executor.run(plan, buffers, Deadline(limit), "all-reduce");
  }
};

TEST(Executor, PostsReceivesWithTheRunsSignature) {
  FourRanks f;
  EXPECT_THROW(f.run(std::chrono::milliseconds(1), 0x1234), TimeoutError);
  EXPECT_EQ(f.p1.recvSignature, 0x1234u);
  EXPECT_EQ(f.p3.recvSignature, 0x1234u);
}

TEST(Executor, APeersNoticeNamesTheRankThatFailedFirstAndIsPassedOn) {
  FourRanks f;
  // Rank 1 reports that rank 2 is gone; rank 0 itself waits on all three.
  f.p1.failure = [] {
    throw PeerNoticeError(FailureNotice{FailureNotice::Kind::PeerGone, 2}, ErrorContext{0, 1, "host1", "scripted"});
  };
  try {
    f.run(std::chrono::seconds(10));
    FAIL() << "a notice did not end the run";
  } catch (const RemoteError& e) {
    std::string what = e.what();
    EXPECT_EQ(e.context().peer, 2) << what;
    EXPECT_EQ(e.context().host, "host2") << what;
    EXPECT_NE(what.find("rank 0: rank 2 (host host2) is gone"), std::string::npos) << what;
    EXPECT_NE(what.find("reported by rank 1 (host host1)"), std::string::npos) << what;
  }
  // Rank 3 hears it from rank 0; neither the reporter nor the culprit is told.
  EXPECT_EQ(f.p3.notice.kind, FailureNotice::Kind::PeerGone);
  EXPECT_EQ(f.p3.notice.culprit, 2);
  EXPECT_EQ(f.p1.notice.kind, FailureNotice::Kind::None);
  EXPECT_EQ(f.p2.notice.kind, FailureNotice::Kind::None);
}

TEST(Executor, ADeadPeerIsReportedToEveryOtherPeer) {
  FourRanks f;
  f.p3.failure = [] { throw RemoteError("rank 3 (host host3) is gone", ErrorContext{0, 3, "host3", "scripted"}); };
  EXPECT_THROW(f.run(std::chrono::seconds(10)), RemoteError);
  for (SilentPeer* p : {&f.p1, &f.p2}) {
    EXPECT_EQ(p->notice.kind, FailureNotice::Kind::PeerGone);
    EXPECT_EQ(p->notice.culprit, 3);
  }
  EXPECT_EQ(f.p3.notice.kind, FailureNotice::Kind::None);
}

TEST(Executor, ATimeoutIsReportedNamingThePeerStillOwed) {
  FourRanks f;
  EXPECT_THROW(f.run(std::chrono::milliseconds(50)), TimeoutError);
  // Every peer is owed a message; the first one is named, and not told.
  EXPECT_EQ(f.p2.notice.kind, FailureNotice::Kind::PeerTimedOut);
  EXPECT_EQ(f.p2.notice.culprit, 1);
}

TEST(Executor, AnAbortFromAnotherThreadEndsARunPromptly) {
  using Clock = std::chrono::steady_clock;
  FourRanks f;
  std::atomic<bool> abort{false};
  f.executor.setAbortFlag(&abort);
  Clock::time_point abortedAt{};
  std::thread aborter([&] {
    // The run is under way (and asleep soon after) once its receives are posted.
    const auto limit = Clock::now() + std::chrono::seconds(10);
    while (!f.p3.posted.load() && Clock::now() < limit) std::this_thread::yield();
    abortedAt = Clock::now();
    abort.store(true);
  });
  std::string what;
  Clock::time_point endedAt{};
  try {
    f.run(std::chrono::seconds(30));
  } catch (const AbortedError& e) {
    endedAt = Clock::now();
    what = e.what();
  }
  aborter.join();
  ASSERT_FALSE(what.empty()) << "the run did not end with AbortedError";
  EXPECT_LT(endedAt - abortedAt, std::chrono::milliseconds(300)) << "abort took too long";
  EXPECT_NE(what.find("rank 0"), std::string::npos) << what;
  EXPECT_NE(what.find("all-reduce"), std::string::npos) << what;
  // Whoever raised the flag tells the peers why; the executor must not blame this rank.
  EXPECT_EQ(f.p1.notice.kind, FailureNotice::Kind::None);
}

TEST(Executor, APeerMarkedGoneFailsAWaitThatNothingFeeds) {
  // As a verbs receiver whose sender died: the transport itself sees nothing.
  FourRanks f;
  f.p2.markPeerGone();
  const auto start = std::chrono::steady_clock::now();
  try {
    f.run(std::chrono::seconds(30));
    FAIL() << "a wait on a peer marked gone did not end";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.context().peer, 2) << e.what();
    EXPECT_EQ(e.context().host, "host2") << e.what();
    EXPECT_NE(std::string(e.what()).find("is gone"), std::string::npos) << e.what();
  }
  // After the grace, within one more sleep slice (and slack for a loaded machine).
  EXPECT_LT(std::chrono::steady_clock::now() - start, Executor::kGoneGrace + std::chrono::seconds(2));
  EXPECT_GE(std::chrono::steady_clock::now() - start, Executor::kGoneGrace);
}

TEST(Executor, AnAbortFlagAlreadySetEndsTheRunAtOnce) {
  FourRanks f;
  std::atomic<bool> abort{true};
  f.executor.setAbortFlag(&abort);
  EXPECT_THROW(f.run(std::chrono::seconds(30)), AbortedError);
}

}  // namespace
}  // namespace braid
