// The executor against a scripted connection: a peer that sends its last message and
// exits is not declared gone before that message is taken, and a peer that exits
// owing a message still is.
#include "algorithms/plan_builder.h"
#include "core/executor.h"

#include <braid/error.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

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

}  // namespace
}  // namespace braid
