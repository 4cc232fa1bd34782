// Communicators with ranks as threads: results, groups, async handles, and every kind
// of bad input getting an error that names the argument and the rank.
#include "rank_threads.h"

#include "bootstrap/bootstrap.h"
#include "core/env.h"
#include "scoped_env.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <numeric>
#include <thread>

namespace braid {
namespace {

using testing::RankOutcome;
using testing::runRanks;

using testing::ScopedEnv;

void expectAllOk(const std::vector<RankOutcome>& outcomes) {
  for (std::size_t r = 0; r < outcomes.size(); ++r) EXPECT_FALSE(outcomes[r].error) << "rank " << r << ": " << outcomes[r].message();
}

TEST(Communicator, AllReduceOverEachTransport) {
  for (const char* transports : {"shm", "tcp"}) {
    ScopedEnv env("BRAID_TRANSPORTS", transports);
    auto out = runRanks(3, [&](Communicator& c) {
      std::vector<std::int64_t> in(1000), res(1000);
      std::iota(in.begin(), in.end(), c.rank() * 1000);
      c.allReduce(in.data(), res.data(), in.size(), DataType::Int64, ReduceOp::Sum);
      for (std::size_t i = 0; i < res.size(); ++i) ASSERT_EQ(res[i], static_cast<std::int64_t>(3 * i + 3000));
      EXPECT_STREQ(c.transportTo((c.rank() + 1) % 3), transports);
    });
    expectAllOk(out);
  }
}

TEST(Communicator, BadArgumentsNameTheArgumentAndRankAndLoseNothing) {
  auto out = runRanks(2, [](Communicator& c) {
    std::vector<float> a(8, 1.0f), b(8, 0.0f);
    auto expectInvalid = [&](const std::function<void()>& call, const std::string& argument) {
      try {
        call();
        ADD_FAILURE() << "no error for bad " << argument;
      } catch (const InvalidArgument& e) {
        std::string m = e.what();
        EXPECT_NE(m.find(argument), std::string::npos) << m;
        EXPECT_NE(m.find("rank " + std::to_string(c.rank())), std::string::npos) << m;
        EXPECT_EQ(e.context().rank, c.rank());
      }
    };
    expectInvalid([&] { c.allReduce(nullptr, b.data(), 8, DataType::Float32, ReduceOp::Sum); }, "sendbuff");
    expectInvalid([&] { c.allGather(a.data(), nullptr, 4, DataType::Float32); }, "recvbuff");
    expectInvalid([&] { c.allReduce(a.data(), b.data(), 8, static_cast<DataType>(42), ReduceOp::Sum); }, "datatype");
    expectInvalid([&] { c.reduceScatter(a.data(), b.data(), 4, DataType::Float32, static_cast<ReduceOp>(17)); }, "op");
    expectInvalid([&] { c.broadcast(a.data(), b.data(), 8, DataType::Float32, 2); }, "root");
    expectInvalid([&] { c.reduce(a.data(), b.data(), 8, DataType::Float32, ReduceOp::Max, -1); }, "root");
    expectInvalid([&] { c.send(a.data(), 8, DataType::Float32, 5); }, "peer");
    expectInvalid([&] { c.recv(b.data(), 8, DataType::Float32, -3); }, "peer");
    expectInvalid([&] { c.send(a.data(), 8, DataType::Float32, c.rank()); }, "itself");
    EXPECT_THROW(c.groupEnd(), InvalidUsage);
    // Nothing was sent: the communicator still works and gives exact results.
    c.allReduce(a.data(), b.data(), 8, DataType::Float32, ReduceOp::Sum);
    for (float v : b) ASSERT_EQ(v, 2.0f);
  });
  expectAllOk(out);
}

TEST(Communicator, RankOutsideSizeIsRejectedBeforeJoining) {
  UniqueId id = UniqueId::create();
  try {
    Communicator c(id, 3, 2);
    FAIL() << "rank 3 of 2 accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("rank 3"), std::string::npos) << e.what();
  }
}

TEST(Communicator, RanksThatDisagreeOnSizeAreTold) {
  ScopedEnv timeout("BRAID_TIMEOUT", "5s");
  UniqueId id = UniqueId::create();
  std::vector<RankOutcome> out(2);
  std::thread a([&] {
    try { Communicator c(id, 0, 2); } catch (...) { out[0].error = std::current_exception(); }
  });
  std::thread b([&] {
    try { Communicator c(id, 1, 3); } catch (...) { out[1].error = std::current_exception(); }
  });
  a.join();
  b.join();
  // Whichever joined second was told the size differs; the other times out waiting.
  bool told = out[0].message().find("size") != std::string::npos || out[1].message().find("size") != std::string::npos;
  EXPECT_TRUE(told) << out[0].message() << " | " << out[1].message();
  EXPECT_TRUE(out[0].error && out[1].error);
}

TEST(Communicator, WrongSecretIsRefusedAndTheJobGoesOn) {
  ScopedEnv timeout("BRAID_TIMEOUT", "3s");
  // A root that serves every round (as braidrun's does) is still there whenever the
  // intruder arrives, so it is always refused rather than finding nobody listening.
  BootstrapRoot root(chooseInterfaceAddress(""), {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 0);
  UniqueId id = root.info().encode();
  UniqueId forged = id;
  forged.bytes[40] ^= 0xff;  // first byte of the secret
  RankOutcome intruder;
  std::thread stranger([&] {
    try { Communicator c(forged, 0, 2); } catch (...) { intruder.error = std::current_exception(); }
  });
  auto out = runRanks(2, [](Communicator& c) {
    int one = 1, sum = 0;
    c.allReduce(&one, &sum, 1, DataType::Int32, ReduceOp::Sum);
    EXPECT_EQ(sum, 2);
  }, id);
  stranger.join();
  expectAllOk(out);
  EXPECT_TRUE(intruder.threw<RemoteError>()) << intruder.message();
  EXPECT_NE(intruder.message().find("refused"), std::string::npos) << intruder.message();
}

TEST(Communicator, GarbageAndSilenceAtTheRootDoNotDisturbTheJob) {
  UniqueId id = UniqueId::create();
  RootInfo root = RootInfo::decode(id);
  Deadline d(std::chrono::seconds(5));
  Socket silent = Socket::connect(root.address, d);
  Socket noisy = Socket::connect(root.address, d);
  std::vector<unsigned char> junk(4096);
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<unsigned char>(i * 131 + 7);
  noisy.sendAll(junk.data(), junk.size(), d);
  Socket halfway = Socket::connect(root.address, d);
  unsigned char magicOnly[4] = {0x4a, 0x44, 0x52, 0x42};  // a hello's magic, then closed
  halfway.sendAll(magicOnly, 4, d);
  halfway.close();
  auto out = runRanks(3, [](Communicator& c) {
    double v = c.rank(), s = 0;
    c.allReduce(&v, &s, 1, DataType::Float64, ReduceOp::Sum);
    EXPECT_EQ(s, 3.0);
  }, id);
  expectAllOk(out);
}

TEST(Communicator, MismatchedCountsEndInErrorsNotHangs) {
  ScopedEnv timeout("BRAID_TIMEOUT", "3s");
  auto out = runRanks(2, [](Communicator& c) {
    std::vector<float> a(400, 1.0f), b(400);
    std::size_t count = c.rank() == 0 ? 100 : 300;  // a caller bug: counts differ
    c.allReduce(a.data(), b.data(), count, DataType::Float32, ReduceOp::Sum);
  });
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(out[r].threw<RemoteError>()) << "rank " << r << ": " << out[r].message();
    // Each rank names the other's call, with its count.
    std::string other = r == 0 ? "count 300" : "count 100";
    EXPECT_NE(out[r].message().find("rank " + std::to_string(1 - r) + " ("), std::string::npos) << out[r].message();
    EXPECT_NE(out[r].message().find("all-reduce #1 (" + other), std::string::npos) << out[r].message();
  }
}

// Rank 1 calls something else as its second collective; every rank must say so, for
// the cheap check (signatures in message headers) and the full one (calls swapped first).
void expectMismatchReported(const char* check, bool otherCollective) {
  ScopedEnv level("BRAID_CHECK", check);
  ScopedEnv timeout("BRAID_TIMEOUT", "20s");  // a hang would show as a timeout, not pass
  const auto started = std::chrono::steady_clock::now();
  auto out = runRanks(3, [&](Communicator& c) {
    std::vector<float> a(3 * 1024, 1.0f), b(3 * 1024);
    c.allReduce(a.data(), b.data(), 1024, DataType::Float32, ReduceOp::Sum);
    if (c.rank() == 1 && otherCollective) c.allGather(a.data(), b.data(), 1024, DataType::Float32);
    else c.allReduce(a.data(), b.data(), c.rank() == 1 ? 2048 : 1024, DataType::Float32, ReduceOp::Sum);
  });
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10)) << "waited for a timeout";
  const std::string odd = otherCollective ? "all-gather #2 (count 1024" : "all-reduce #2 (count 2048";
  for (int r = 0; r < 3; ++r) {
    const std::string m = out[r].message();
    ASSERT_TRUE(out[r].threw<RemoteError>()) << "rank " << r << ": " << m;
    EXPECT_NE(m.find(odd), std::string::npos) << "rank " << r << ": " << m;
    EXPECT_NE(m.find("all-reduce #2 (count 1024"), std::string::npos) << "rank " << r << ": " << m;
    if (std::string(check) == "full") {
      EXPECT_NE(m.find("ranks disagree on collective call #2"), std::string::npos) << m;
      EXPECT_NE(m.find("rank 1 called " + odd), std::string::npos) << m;
      EXPECT_NE(m.find("ranks 0,2 called all-reduce #2 (count 1024, float, sum)"), std::string::npos) << m;
    }
  }
}

TEST(Communicator, AnotherCollectiveOnOneRankIsReportedByEveryRank) {
  expectMismatchReported("on", true);
  expectMismatchReported("full", true);
}

TEST(Communicator, AnotherCountOnOneRankIsReportedByEveryRank) {
  expectMismatchReported("on", false);
  expectMismatchReported("full", false);
}

TEST(Communicator, FullCheckKeepsEveryCollectiveExact) {
  ScopedEnv level("BRAID_CHECK", "full");
  auto out = runRanks(3, [](Communicator& c) {
    const int r = c.rank();
    std::vector<std::int32_t> in(100, r + 1), sum(100), all(300), bcast(100, r == 2 ? 7 : 0);
    c.allReduce(in.data(), sum.data(), 100, DataType::Int32, ReduceOp::Sum);
    c.allGather(in.data(), all.data(), 100, DataType::Int32);
    c.broadcast(bcast.data(), bcast.data(), 100, DataType::Int32, 2);
    for (int i = 0; i < 100; ++i) {
      ASSERT_EQ(sum[i], 6);
      ASSERT_EQ(bcast[i], 7);
      for (int k = 0; k < 3; ++k) ASSERT_EQ(all[k * 100 + i], k + 1);
    }
    EXPECT_FALSE(c.asyncError());
  });
  expectAllOk(out);
}

TEST(Communicator, BadCheckLevelIsRefused) {
  ScopedEnv level("BRAID_CHECK", "sometimes");
  auto out = runRanks(2, [](Communicator&) {});
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(out[r].threw<InvalidArgument>()) << "rank " << r << ": " << out[r].message();
    EXPECT_NE(out[r].message().find("rank " + std::to_string(r) + ": BRAID_CHECK: 'sometimes' is not one of"),
              std::string::npos) << out[r].message();
  }
}

// Rank 2 skips the second all-reduce (and stays alive): the others' TimeoutError says
// that rank 2 never arrived, and what its last call was; rank 2 hears of it while idle.
TEST(Communicator, TimeoutNamesTheRankThatNeverArrivedAndItsLastCall) {
  ScopedEnv timeout("BRAID_TIMEOUT", "2s");
  std::string idleRankError;
  auto out = runRanks(3, [&](Communicator& c) {
    std::vector<float> a(1024, 1.0f), b(1024);
    c.allReduce(a.data(), b.data(), 1024, DataType::Float32, ReduceOp::Sum);
    if (c.rank() != 2) {
      c.allReduce(a.data(), b.data(), 1024, DataType::Float32, ReduceOp::Sum);
      return;
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!c.asyncError() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polls a condition, with a deadline
    RankOutcome idle{c.asyncError()};
    ASSERT_TRUE(idle.threw<TimeoutError>()) << idle.message();
    idleRankError = idle.message();
  });
  EXPECT_FALSE(out[2].error) << out[2].message();
  EXPECT_NE(idleRankError.find("BRAID_TIMEOUT"), std::string::npos) << idleRankError;
  for (int r = 0; r < 2; ++r) {
    const std::string m = out[r].message();
    ASSERT_TRUE(out[r].threw<TimeoutError>()) << "rank " << r << ": " << m;
    EXPECT_NE(m.find("rank 2 ("), std::string::npos) << m;
    EXPECT_NE(m.find("never arrived at all-reduce #2 (count 1024, float, sum): its last call was all-reduce #1 "
                     "(count 1024, float, sum), completed; idle for"),
              std::string::npos)
        << m;
  }
}

TEST(Communicator, GroupedRingAndSelfSendRecv) {
  auto out = runRanks(4, [](Communicator& c) {
    const int n = c.size(), r = c.rank();
    std::vector<int> mine(1 << 20, r), fromPrev(1 << 20, -1), self(3, 0), selfOut(3, -1);
    std::iota(self.begin(), self.end(), 10 * r);
    c.groupStart();
    c.send(mine.data(), mine.size(), DataType::Int32, (r + 1) % n);  // large: would deadlock ungrouped
    c.recv(fromPrev.data(), fromPrev.size(), DataType::Int32, (r + n - 1) % n);
    c.send(self.data(), 3, DataType::Int32, r);
    c.recv(selfOut.data(), 3, DataType::Int32, r);
    c.groupEnd();
    for (int v : fromPrev) ASSERT_EQ(v, (r + n - 1) % n);
    EXPECT_EQ(selfOut, self);
  });
  expectAllOk(out);
}

TEST(Communicator, InPlaceGroupedSendRecvSendsTheOldContents) {
  for (std::size_t count : {std::size_t{3}, std::size_t{3} << 20}) {  // small, and larger than any ring
    auto out = runRanks(3, [&](Communicator& c) {
      const int n = c.size(), r = c.rank();
      std::vector<int> buf(count, r);
      c.groupStart();
      c.send(buf.data(), count, DataType::Int32, (r + 1) % n);
      c.recv(buf.data(), count, DataType::Int32, (r + n - 1) % n);
      c.groupEnd();
      for (int v : buf) ASSERT_EQ(v, (r + n - 1) % n);
    });
    expectAllOk(out);
  }
}

TEST(Communicator, AsyncOperationsCompleteInOrderWithExactResults) {
  auto out = runRanks(3, [](Communicator& c) {
    std::vector<std::vector<std::int32_t>> in(5), res(5);
    std::vector<Work> work;
    for (int k = 0; k < 5; ++k) {
      in[k].assign(1000 + k, c.rank() + k);
      res[k].assign(in[k].size(), 0);
      work.push_back(c.allReduceAsync(in[k].data(), res[k].data(), in[k].size(), DataType::Int32, ReduceOp::Sum));
    }
    std::vector<std::int32_t> sync(10, c.rank()), syncRes(10);
    c.allReduce(sync.data(), syncRes.data(), 10, DataType::Int32, ReduceOp::Max);  // waits for the queue
    for (int k = 0; k < 5; ++k) {
      work[k].wait();
      EXPECT_TRUE(work[k].test());
      for (auto v : res[k]) ASSERT_EQ(v, 3 * k + 3);
    }
    for (auto v : syncRes) ASSERT_EQ(v, 2);
  });
  expectAllOk(out);
}

TEST(Communicator, FromEnvironmentWithTorchrunVariables) {
  ScopedEnv rank("RANK", "0");
  ScopedEnv size("WORLD_SIZE", "1");
  ScopedEnv root("BRAID_ROOT", "127.0.0.1:0");
  Communicator c = Communicator::fromEnvironment();
  EXPECT_EQ(c.rank(), 0);
  EXPECT_EQ(c.size(), 1);
  float x = 3.5f, y = 0;
  c.allReduce(&x, &y, 1, DataType::Float32, ReduceOp::Avg);
  EXPECT_EQ(y, 3.5f);
}

TEST(Communicator, FromEnvironmentWithoutLauncherSaysWhatIsMissing) {
  for (const char* v : {"BRAID_RANK", "RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID"})
    if (std::getenv(v)) GTEST_SKIP() << v << " is set by the environment running the tests";
  try {
    Communicator::fromEnvironment();
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("launcher"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace braid
