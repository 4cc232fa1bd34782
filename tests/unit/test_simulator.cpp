// The simulator on hand-made plans: it catches the mistakes the executor would hang or
// corrupt on (mismatched sizes, deadlock, messages nobody receives, a plan that only
// runs while transports buffer its sends), delivers each pair's messages in order even
// when a receive must wait; and the pricing model gives the times its stated
// assumptions imply.
#include "algorithms/algorithms.h"
#include "algorithms/plan_builder.h"
#include "algorithms/sim_cost.h"
#include "algorithms/simulator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace braid {
namespace {

// Runs hand-made plans on buffers of uint64 and returns the simulator's complaint, or "".
std::string simulateError(const std::vector<Plan>& plans, std::vector<std::vector<std::uint64_t>>& in,
                          std::vector<std::vector<std::uint64_t>>& out,
                          SendCompletion sends = SendCompletion::WhenPulled) {
  std::vector<SimRank> ranks;
  for (std::size_t r = 0; r < plans.size(); ++r) ranks.push_back({&plans[r], {in[r].data(), out[r].data(), nullptr}});
  try {
    simulate(ranks, 8, nullptr, sends);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(Simulator, ReportsMismatchedMessageSizes) {
  PlanBuilder a, b;
  a.send(1, {kInput, 0, 4});
  b.recv(0, {kOutput, 0, 3});
  std::vector<Plan> plans{a.finish(), b.finish()};
  std::vector<std::vector<std::uint64_t>> in(2, std::vector<std::uint64_t>(4)), out = in;
  EXPECT_EQ(simulateError(plans, in, out), "rank 1 expected 24 bytes from rank 0, got 32");
}

TEST(Simulator, ReportsTheFirstStuckRankOfADeadlock) {
  // Each rank forwards what it receives, but both wait to receive first.
  std::vector<Plan> plans;
  for (int r = 0; r < 2; ++r) {
    PlanBuilder b;
    b.recv(1 - r, {kOutput, 0, 1});
    b.send(1 - r, {kOutput, 0, 1});
    plans.push_back(b.finish());
  }
  std::vector<std::vector<std::uint64_t>> in(2, std::vector<std::uint64_t>(1)), out = in;
  EXPECT_EQ(simulateError(plans, in, out), "rank 0 is stuck after 0 of 2 steps");
}

TEST(Simulator, ReportsMessagesNobodyReceived) {
  PlanBuilder a, b;
  a.send(1, {kInput, 0, 1});
  a.send(1, {kInput, 1, 1});
  a.send(1, {kInput, 1, 1});
  b.recv(0, {kOutput, 0, 1});
  std::vector<Plan> plans{a.finish(), b.finish()};
  std::vector<std::vector<std::uint64_t>> in(2, std::vector<std::uint64_t>(2)), out = in;
  EXPECT_EQ(simulateError(plans, in, out), "rank 0 sent 2 messages to rank 1 that nobody received");
}

TEST(Simulator, ReportsMessagesToARankThatDoesNotExist) {
  PlanBuilder a;
  a.send(5, {kInput, 0, 1});
  std::vector<Plan> plans{a.finish()};
  std::vector<std::vector<std::uint64_t>> in(1, std::vector<std::uint64_t>(1)), out = in;
  EXPECT_EQ(simulateError(plans, in, out), "rank 0 sent 1 messages to rank 5 that nobody received");
}

TEST(Simulator, DeliversInOrderAndSnapshotsMessagesWhoseReceiveMustWait) {
  // Rank 0 sends in[0], overwrites it, sends it again, and overwrites it once more.
  // Rank 1's second receive must wait for a local copy, so its message is held while
  // rank 0 could overwrite the source: it must still get the value as it was when sent.
  // Buffered, the simulator keeps a copy; pulled, rank 0's overwrite waits for the pull.
  for (SendCompletion sends : {SendCompletion::Buffered, SendCompletion::WhenPulled}) {
    PlanBuilder a, b;
    a.send(1, {kInput, 0, 1});
    a.copy({kInput, 1, 1}, {kInput, 0, 1});
    a.send(1, {kInput, 0, 1});
    a.copy({kInput, 2, 1}, {kInput, 0, 1});
    b.recv(0, {kOutput, 0, 1});
    b.copy({kOutput, 0, 1}, {kOutput, 1, 1});
    b.recv(0, {kOutput, 0, 1});
    std::vector<Plan> plans{a.finish(), b.finish()};
    std::vector<std::vector<std::uint64_t>> in{{10, 20, 30}, {0, 0, 0}}, out{{0, 0}, {0, 0}};
    ASSERT_EQ(simulateError(plans, in, out, sends), "");
    EXPECT_EQ(out[1], (std::vector<std::uint64_t>{20, 10}));
    EXPECT_EQ(in[0][0], 30u);
  }
}

// Two ranks swap through one buffer: each sends it, then receives into it. That needs
// a transport that holds the message while the receiver is busy; a pull transport
// (cudaipc), or any transport once the message outgrows its buffering, deadlocks.
TEST(Simulator, APlanThatNeedsBufferedSendsIsStuckWhenSendsArePulled) {
  std::vector<Plan> plans;
  for (int r = 0; r < 2; ++r) {
    PlanBuilder b;
    b.send(1 - r, {kOutput, 0, 1});
    b.recv(1 - r, {kOutput, 0, 1});  // writes what the send reads: waits for the send
    plans.push_back(b.finish());
  }
  std::vector<std::vector<std::uint64_t>> in(2, std::vector<std::uint64_t>(1)), out{{7}, {9}};
  ASSERT_EQ(simulateError(plans, in, out, SendCompletion::Buffered), "");
  EXPECT_EQ(out, (std::vector<std::vector<std::uint64_t>>{{9}, {7}}));
  EXPECT_EQ(simulateError(plans, in, out, SendCompletion::WhenPulled), "rank 0 is stuck after 0 of 2 steps");
}

// Rank 0 sends input[0] to rank 1 and copies output[0] over input[0]; with
// `copyWaitsForSend` false nothing orders the two, as a plan made without PlanBuilder
// (or with a wrong alias) could be.
std::vector<Plan> sendThenOverwrite(bool copyWaitsForSend) {
  Plan sender;
  sender.steps.push_back({StepKind::Send, 1, {kInput, 0, 1}, {}});
  sender.steps.push_back({StepKind::Copy, -1, {kOutput, 0, 1}, {kInput, 0, 1}});
  if (copyWaitsForSend) {
    sender.deps = {0};
    sender.steps[1].firstDep = 0, sender.steps[1].numDeps = 1;
  }
  sender.finalize();
  PlanBuilder receiver;
  receiver.recv(0, {kOutput, 0, 1});
  return {sender, receiver.finish()};
}

TEST(Simulator, AWriteToBytesASendStillOffersIsAMissingDependencyWhenSendsArePulled) {
  std::vector<std::vector<std::uint64_t>> in{{7}, {0}}, out{{9}, {0}};
  std::vector<Plan> racy = sendThenOverwrite(false);
  EXPECT_EQ(simulateError(racy, in, out, SendCompletion::WhenPulled),
            "rank 0: step 1 writes the bytes that its send step 0 to rank 1 still offers (not yet received): the "
            "plan lacks a dependency of the writer on the send");
  // Buffered, the race goes unseen: rank 1 gets a 7 or a 9, whichever step ran first.
  in = {{7}, {0}}, out = {{9}, {0}};
  EXPECT_EQ(simulateError(racy, in, out, SendCompletion::Buffered), "");
  // With the dependency, the copy waits until rank 1 has pulled the 7.
  in = {{7}, {0}}, out = {{9}, {0}};
  std::vector<Plan> ordered = sendThenOverwrite(true);
  ASSERT_EQ(simulateError(ordered, in, out, SendCompletion::WhenPulled), "");
  EXPECT_EQ(out[1][0], 7u);
  EXPECT_EQ(in[0][0], 9u);
}

TEST(Simulator, BytesBesideAnUnpulledSendAndAMessageToItselfAreNotMissingDependencies) {
  // Rank 0 sends input[0] to rank 1 and, with nothing ordering them, overwrites input[1]
  // (the next element) and takes a message from itself onto the bytes it sent itself.
  Plan sender;
  sender.steps.push_back({StepKind::Send, 1, {kInput, 0, 1}, {}});
  sender.steps.push_back({StepKind::Copy, -1, {kOutput, 0, 1}, {kInput, 1, 1}});
  sender.steps.push_back({StepKind::Send, 0, {kOutput, 1, 1}, {}});
  sender.steps.push_back({StepKind::Recv, 0, {}, {kOutput, 1, 1}});
  sender.finalize();
  PlanBuilder receiver;
  receiver.recv(0, {kOutput, 0, 1});
  std::vector<Plan> plans{sender, receiver.finish()};
  std::vector<std::vector<std::uint64_t>> in{{7, 8}, {0, 0}}, out{{9, 5}, {0, 0}};
  ASSERT_EQ(simulateError(plans, in, out, SendCompletion::WhenPulled), "");
  EXPECT_EQ(out[1][0], 7u);
  EXPECT_EQ(in[0], (std::vector<std::uint64_t>{7, 9}));
  EXPECT_EQ(out[0][1], 5u);
}

// A cost model with round numbers, and ranks each on their own node.
CostModel roundModel(double overheadUs) {
  CostModel m;
  m.links[static_cast<std::size_t>(LinkClass::Network)] = {5.0, 10.0};  // 10 bytes per ns
  m.stepOverheadUs = overheadUs;
  return m;
}

std::vector<RankPlacement> oneRankPerNode(int n) {
  std::vector<RankPlacement> p(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) p[static_cast<std::size_t>(r)].node = r;
  return p;
}

double price(const std::vector<Plan>& plans, const CostModel& model) {
  std::vector<SimPlan> compact(plans.begin(), plans.end());
  return modeledTimeUs(compact, 1, model, oneRankPerNode(static_cast<int>(plans.size())));
}

TEST(SimulatorPricing, OneMessageCostsLatencyPlusBytesOverBandwidth) {
  PlanBuilder a, b;
  a.send(1, {kInput, 0, 10000});
  b.recv(0, {kOutput, 0, 10000});
  std::vector<Plan> plans{a.finish(), b.finish()};
  EXPECT_DOUBLE_EQ(price(plans, roundModel(0)), 5.0 + 1.0);
  // Each end also pays one step overhead: before sending, and after the data is in.
  EXPECT_DOUBLE_EQ(price(plans, roundModel(0.25)), 0.25 + 5.0 + 1.0 + 0.25);
}

TEST(SimulatorPricing, SendsShareTheOutgoingPortAndReceivesTheIncomingOne) {
  // Rank 0 sends to ranks 1 and 2: the second message leaves when the first is out.
  std::vector<Plan> fanOut(3);
  {
    PlanBuilder a, b, c;
    a.send(1, {kInput, 0, 10000});
    a.send(2, {kInput, 0, 10000});
    b.recv(0, {kOutput, 0, 10000});
    c.recv(0, {kOutput, 0, 10000});
    fanOut = {a.finish(), b.finish(), c.finish()};
  }
  EXPECT_DOUBLE_EQ(price(fanOut, roundModel(0)), 1.0 + 1.0 + 5.0);
  // Ranks 1 and 2 send to rank 0 at once: the second message queues behind the first.
  std::vector<Plan> fanIn(3);
  {
    PlanBuilder a, b, c;
    a.recv(1, {kOutput, 0, 10000});
    a.recv(2, {kOutput, 10000, 10000});
    b.send(0, {kInput, 0, 10000});
    c.send(0, {kInput, 0, 10000});
    fanIn = {a.finish(), b.finish(), c.finish()};
  }
  EXPECT_DOUBLE_EQ(price(fanIn, roundModel(0)), 5.0 + 1.0 + 1.0);
}

TEST(SimulatorPricing, ReductionsAndCopiesCostTheirModeledTime) {
  PlanBuilder b;
  b.copy({kInput, 0, 24000}, {kOutput, 0, 24000});
  b.reduce({kInput, 0, 16000}, {kOutput, 0, 16000});
  std::vector<Plan> plans{b.finish()};
  CostModel m = roundModel(0.5);
  m.links[static_cast<std::size_t>(LinkClass::SameNuma)] = {0.5, 12.0};
  m.reduceGBps = 8.0;
  EXPECT_DOUBLE_EQ(price(plans, m), 0.5 + 2.0 + 0.5 + 2.0);
}

TEST(SimulatorPricing, SmallRingAllReduceGrowsLinearlyWithRanks) {
  // One element per block: every one of the 2(n-1) ring steps is one latency-bound hop,
  // so n ranks take (n-1) times as long as 2 ranks.
  auto ringTime = [](int n) {
    std::vector<Plan> plans;
    for (int r = 0; r < n; ++r) {
      CollectiveShape s;
      s.rank = r;
      s.size = n;
      s.count = static_cast<std::size_t>(n);
      s.sliceElems = 1 << 20;
      plans.push_back(ringAllReduce(s));
    }
    return price(plans, CostModel::defaults());
  };
  const double two = ringTime(2);
  EXPECT_GT(two, 2 * CostModel::defaults().link(LinkClass::Network).latencyUs);
  for (int n : {3, 8, 33, 128}) EXPECT_NEAR(ringTime(n), (n - 1) * two, 1e-9 * n * two) << n << " ranks";
}

TEST(SimulatorPricing, ReportsPlansThatCannotFinish) {
  PlanBuilder a;
  a.recv(1, {kOutput, 0, 1});
  PlanBuilder b;
  std::vector<Plan> plans{a.finish(), b.finish()};
  try {
    price(plans, CostModel::defaults());
    ADD_FAILURE() << "a rank that never gets its message was priced";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "rank 0 is stuck after 0 of 1 steps");
  }
}

}  // namespace
}  // namespace braid
