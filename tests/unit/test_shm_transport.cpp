// The shared-memory transport, with ranks as threads of this process (the setup
// barriers are a std::barrier instead of the bootstrap) and, once, as two processes.
#include "core/env.h"
#include "core/op_signature.h"
#include "transport/doorbell.h"
#include "transport/shm/ring.h"
#include "transport/shm/shm_transport.h"
#include "scoped_env.h"

#include <braid/error.h>
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace braid::shm {
namespace {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<unsigned char>;
constexpr auto kLimit = std::chrono::seconds(60);

using testing::ScopedEnv;

std::uint64_t ringBytes() { return ringCapacity(Env::get().shmBufferBytes()); }

// Unique per process and call: test binaries of other builds may run at the same time.
std::string uniqueTag() {
  static std::atomic<int> n{0};
  return "test-" + std::to_string(getpid()) + "-" + std::to_string(n++);
}

std::vector<PeerInfo> hostTable(int n, const char* hostId = "host-a") {
  std::vector<PeerInfo> table(n);
  for (int r = 0; r < n; ++r) {
    table[r].rank = r;
    table[r].pid = getpid();
    std::snprintf(table[r].hostId, sizeof table[r].hostId, "%s", hostId);
    std::snprintf(table[r].hostName, sizeof table[r].hostName, "%s", hostId);
  }
  return table;
}

// A byte pattern that differs per message, position and direction.
Bytes pattern(std::size_t bytes, unsigned seed) {
  Bytes b(bytes);
  for (std::size_t i = 0; i < bytes; ++i) b[i] = static_cast<unsigned char>(i * 7 + (i >> 9) + seed * 131 + 1);
  return b;
}

struct Rank {
  ShmTransport transport;
  TransportContext ctx;
  std::vector<std::unique_ptr<Connection>> conns;  // indexed by peer rank; null for itself
  Connection& to(int peer) { return *conns[peer]; }
};

using PeerLists = std::vector<std::vector<int>>;

// Runs the collective setup of table.size() ranks, each in its own thread, rank r
// connecting to peerLists[r]. A rank whose setup throws leaves the barrier so the others
// do not wait for it; its error is returned in errors[r].
std::vector<std::unique_ptr<Rank>> setup(const std::vector<PeerInfo>& table, const PeerLists& peerLists,
                                         std::vector<std::exception_ptr>* errors = nullptr,
                                         std::vector<int>* barrierCalls = nullptr) {
  const int n = static_cast<int>(table.size());
  const std::string tag = uniqueTag();
  std::vector<std::unique_ptr<Rank>> ranks(n);
  std::vector<std::exception_ptr> failed(n);
  std::vector<int> calls(n, 0);
  std::barrier sync(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    ranks[r] = std::make_unique<Rank>();
    threads.emplace_back([&, r] {
      Rank& me = *ranks[r];
      me.ctx.rank = r;
      me.ctx.size = n;
      me.ctx.commTag = tag;
      me.ctx.peers = &table;
      try {
        auto conns = me.transport.connectWith(me.ctx, peerLists[r], [&] {
          ++calls[r];
          sync.arrive_and_wait();
        });
        me.conns.resize(n);
        for (std::size_t i = 0; i < conns.size(); ++i) me.conns[peerLists[r][i]] = std::move(conns[i]);
      } catch (...) {
        failed[r] = std::current_exception();
        sync.arrive_and_drop();
      }
    });
  }
  for (auto& t : threads) t.join();
  if (errors) {
    *errors = failed;
  } else {
    for (auto& e : failed)
      if (e) std::rethrow_exception(e);
  }
  if (barrierCalls) *barrierCalls = calls;
  return ranks;
}

PeerLists allToAll(int n) {
  PeerLists lists(n);
  for (int r = 0; r < n; ++r)
    for (int p = 0; p < n; ++p)
      if (p != r) lists[r].push_back(p);
  return lists;
}

// Progresses connections from one thread until `done`. With both ends of every
// connection here, a pass in which nothing moves while work remains is a deadlock.
::testing::AssertionResult driveAll(const std::vector<Connection*>& conns, const std::function<bool()>& done) {
  const auto deadline = Clock::now() + kLimit;
  while (!done()) {
    bool moved = false;
    for (Connection* c : conns) moved |= c->progress();
    if (!moved && !done()) return ::testing::AssertionFailure() << "nothing moved: deadlock";
    if (Clock::now() > deadline) return ::testing::AssertionFailure() << "deadline passed";
  }
  return ::testing::AssertionSuccess();
}

// What the executor does: progress, and sleep on the rank's doorbell when nothing moved.
// The doorbell is read before progress() so that a ring during it is not lost.
bool driveRank(std::vector<Connection*> conns, Doorbell* bell, Clock::time_point deadline) {
  while (true) {
    const std::uint32_t seen = bell->read();
    bool moved = false, busy = false;
    for (Connection* c : conns) {
      moved |= c->progress();
      busy |= c->busy();
    }
    if (!busy) return true;
    if (Clock::now() > deadline) return false;
    if (!moved) bell->wait(seen, 10);
  }
}

// Sends `msg` from a to b and checks it arrived exactly, with nothing written past it.
void checkOneMessage(Connection& a, Connection& b, const Bytes& msg) {
  constexpr std::size_t kGuard = 64;
  Bytes got(msg.size() + kGuard, 0xEE);
  a.postSend(msg.data(), msg.size());
  b.postRecv(RecvTarget{got.data(), msg.size()});
  ASSERT_TRUE(driveAll({&a, &b}, [&] { return !a.busy() && !b.busy(); })) << msg.size() << " bytes";
  ASSERT_TRUE(std::equal(msg.begin(), msg.end(), got.begin())) << msg.size() << " bytes";
  for (std::size_t i = 0; i < kGuard; ++i) ASSERT_EQ(got[msg.size() + i], 0xEE) << "overrun at " << msg.size() + i;
}

TEST(ShmTransport, CanConnectOnlyOnTheSameKnownHost) {
  auto t = makeShmTransport();
  EXPECT_STREQ(t->name(), "shm");
  auto table = hostTable(3);
  std::snprintf(table[2].hostId, sizeof table[2].hostId, "host-b");
  EXPECT_TRUE(t->canConnect(table[0], table[1]));
  EXPECT_FALSE(t->canConnect(table[0], table[2]));
  table[0].hostId[0] = table[1].hostId[0] = '\0';
  EXPECT_FALSE(t->canConnect(table[0], table[1]));
}

TEST(ShmTransport, SegmentNamesAreValidShmNames) {
  EXPECT_EQ(segmentName("ab12-3", 7), "/braid-ab12-3-7");
  EXPECT_EQ(segmentName("a/b c", 0), "/braid-a_b_c-0");
}

TEST(ShmTransport, SegmentsAreUnlinkedOnceConnected) {
  auto table = hostTable(2);
  auto ranks = setup(table, allToAll(2));
  for (auto& r : ranks) {
    EXPECT_NE(r->ctx.doorbell, nullptr);
    const std::string path = "/dev/shm" + segmentName(r->ctx.commTag, r->ctx.rank);
    EXPECT_NE(access(path.c_str(), F_OK), 0) << path << " still exists";
    EXPECT_STREQ(r->to(1 - r->ctx.rank).transportName(), "shm");
  }
}

TEST(ShmTransport, RankWithoutPeersStillTakesPartInBothBarriers) {
  auto table = hostTable(3);
  std::vector<int> calls;
  auto ranks = setup(table, PeerLists{{1}, {0}, {}}, nullptr, &calls);
  EXPECT_EQ(calls, (std::vector<int>{2, 2, 2}));
  EXPECT_EQ(ranks[2]->ctx.doorbell, nullptr);
  checkOneMessage(ranks[0]->to(1), ranks[1]->to(0), pattern(1000, 1));
}

class ShmSizes : public ::testing::TestWithParam<const char*> {};

TEST_P(ShmSizes, EveryMessageArrivesExactly) {
  ScopedEnv env("BRAID_SHM_BUFFER", GetParam());
  const std::size_t cap = ringBytes();
  auto table = hostTable(2);
  auto ranks = setup(table, allToAll(2));
  const std::size_t sizes[] = {0, 1, 15, 16, 17, 4096, cap - 1, cap, cap + 1, 3 * cap + 5, (64u << 20) + 3};
  unsigned seed = 0;
  for (std::size_t bytes : sizes) {
    checkOneMessage(ranks[0]->to(1), ranks[1]->to(0), pattern(bytes, ++seed));
    checkOneMessage(ranks[1]->to(0), ranks[0]->to(1), pattern(bytes, ++seed));
  }
}

INSTANTIATE_TEST_SUITE_P(Buffers, ShmSizes, ::testing::Values("64K", nullptr),
                         [](const auto& test) { return std::string(test.param ? "Small" : "Default"); });

TEST(ShmTransport, ManySmallMessagesBackToBack) {
  ScopedEnv env("BRAID_SHM_BUFFER", "64K");
  auto table = hostTable(2);
  auto ranks = setup(table, allToAll(2));
  Connection& a = ranks[0]->to(1);
  Connection& b = ranks[1]->to(0);
  // Far more than one ring's worth, all posted before anything moves.
  constexpr int kCount = 20000;
  std::vector<Bytes> sent, got;
  for (int i = 0; i < kCount; ++i) {
    sent.push_back(pattern(static_cast<std::size_t>(i * 7 % 41), i));
    got.emplace_back(sent.back().size() + 1, 0xEE);
  }
  for (int i = 0; i < kCount; ++i) {
    a.postSend(sent[i].data(), sent[i].size());
    b.postRecv(RecvTarget{got[i].data(), sent[i].size()});
  }
  ASSERT_TRUE(driveAll({&a, &b}, [&] { return b.recvsDone() == kCount && a.sendsDone() == kCount; }));
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(std::equal(sent[i].begin(), sent[i].end(), got[i].begin())) << "message " << i;
    ASSERT_EQ(got[i].back(), 0xEE) << "message " << i;
  }
}

// The test's own reduction: it also checks that every piece is whole and aligned.
std::atomic<int> gBadPieces{0};

template <class T>
void sumFn(void* dst, const void* a, const void* b, std::size_t count) {
  if (count == 0 || reinterpret_cast<std::uintptr_t>(b) % kUnit != 0) ++gBadPieces;
  auto* d = static_cast<T*>(dst);
  const auto* x = static_cast<const T*>(a);
  const auto* y = static_cast<const T*>(b);
  for (std::size_t i = 0; i < count; ++i) d[i] = static_cast<T>(x[i] + y[i]);
}

template <class T>
void checkCombine(bool inPlace) {
  ScopedEnv env("BRAID_SHM_BUFFER", "64K");
  const std::size_t cap = ringBytes();
  auto table = hostTable(2);
  auto ranks = setup(table, allToAll(2));
  Connection& a = ranks[0]->to(1);
  Connection& b = ranks[1]->to(0);
  gBadPieces = 0;
  // An odd message first, so that payloads do not start at the ring's beginning.
  checkOneMessage(a, b, pattern(3, 9));
  const std::size_t counts[] = {1, 3, 4, 5, 1000, cap / sizeof(T) + 1, 3 * cap / sizeof(T) + 5, (1u << 20) + 3};
  for (std::size_t n : counts) {
    std::vector<T> incoming(n), local(n), out(n + 4, T(-1));
    // Small integers: float sums of them are exact.
    for (std::size_t i = 0; i < n; ++i) {
      incoming[i] = static_cast<T>(static_cast<int>(i % 1000) - 300);
      local[i] = static_cast<T>(static_cast<int>(i % 777) * 3);
    }
    T* dst = inPlace ? local.data() : out.data();
    const std::vector<T> before = local;
    a.postSend(incoming.data(), n * sizeof(T));
    b.postRecv(RecvTarget{dst, n * sizeof(T), local.data(), &sumFn<T>, sizeof(T)});
    ASSERT_TRUE(driveAll({&a, &b}, [&] { return !a.busy() && !b.busy(); }));
    for (std::size_t i = 0; i < n; ++i)
      ASSERT_EQ(dst[i], static_cast<T>(before[i] + incoming[i])) << "n " << n << " i " << i;
    if (!inPlace) {
      for (std::size_t i = n; i < n + 4; ++i) ASSERT_EQ(out[i], T(-1)) << "overrun";
      ASSERT_TRUE(local == before) << "the source was modified";
    }
  }
  EXPECT_EQ(gBadPieces.load(), 0) << "pieces that were empty or not 16-byte aligned in the ring";
}

TEST(ShmTransport, CombineFloatSumIsExact) { checkCombine<float>(false); }
TEST(ShmTransport, CombineFloatSumInPlaceIsExact) { checkCombine<float>(true); }
TEST(ShmTransport, CombineInt32SumIsExact) { checkCombine<std::int32_t>(false); }
TEST(ShmTransport, CombineInt64SumInPlaceIsExact) { checkCombine<std::int64_t>(true); }
TEST(ShmTransport, CombineInt8SumIsExact) { checkCombine<std::int8_t>(false); }

TEST(ShmTransport, CombineRejectsElementsThatPiecesCouldSplit) {
  auto table = hostTable(2);
  auto ranks = setup(table, allToAll(2));
  std::vector<unsigned char> buf(12);
  EXPECT_THROW(ranks[1]->to(0).postRecv(RecvTarget{buf.data(), 12, buf.data(), &sumFn<std::int8_t>, 3}),
               InvalidArgument);
  EXPECT_THROW(ranks[1]->to(0).postRecv(RecvTarget{buf.data(), 10, buf.data(), &sumFn<std::int32_t>, 4}),
               InvalidArgument);
}

// Both ranks send more than a ring holds to each other before receiving anything.
TEST(ShmTransport, BothDirectionsAtOnceThroughSmallRings) {
  ScopedEnv env("BRAID_SHM_BUFFER", "64K");
  auto table = hostTable(2);
  auto ranks = setup(table, allToAll(2));
  constexpr int kMessages = 3;
  const std::size_t bytes = (1u << 20) + 5;
  std::vector<Bytes> out[2], in[2];
  for (int r = 0; r < 2; ++r)
    for (int m = 0; m < kMessages; ++m) {
      out[r].push_back(pattern(bytes, r * 10 + m));
      in[r].emplace_back(bytes);
    }
  bool ok[2] = {false, false};
  const auto deadline = Clock::now() + kLimit;
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      Connection& c = ranks[r]->to(1 - r);
      for (int m = 0; m < kMessages; ++m) c.postSend(out[r][m].data(), bytes);
      for (int m = 0; m < kMessages; ++m) c.postRecv(RecvTarget{in[r][m].data(), bytes});
      ok[r] = driveRank({&c}, ranks[r]->ctx.doorbell, deadline);
    });
  for (auto& t : threads) t.join();
  ASSERT_TRUE(ok[0] && ok[1]) << "deadline passed";
  for (int r = 0; r < 2; ++r)
    for (int m = 0; m < kMessages; ++m) EXPECT_TRUE(in[r][m] == out[1 - r][m]) << "rank " << r << " message " << m;
}

// A rank that sleeps on its doorbell with nothing to do must be woken by its peer: the
// receiver when data arrives, the sender when the receiver frees ring space. The long
// doorbell timeout makes a missing ring show as a timed-out wait.
TEST(ShmTransport, SleepersAreWokenByTheirPeer) {
  ScopedEnv env("BRAID_SHM_BUFFER", "64K");
  auto table = hostTable(2);
  auto ranks = setup(table, allToAll(2));
  Connection& a = ranks[0]->to(1);
  Connection& b = ranks[1]->to(0);
  constexpr int kSleepMs = 20000;
  const auto maxWait = std::chrono::milliseconds(kSleepMs / 2);

  // Rank `sleeper` progresses until nothing moves, then says so and sleeps once.
  auto sleepOnce = [&](int sleeper, Connection& c, std::atomic<bool>& asleep, Clock::duration& slept) {
    Doorbell* bell = ranks[sleeper]->ctx.doorbell;
    std::uint32_t seen;
    do seen = bell->read();
    while (c.progress());
    asleep = true;  // ringing only after this, the peer's ring is needed to end the wait
    const auto t0 = Clock::now();
    bell->wait(seen, kSleepMs);
    slept = Clock::now() - t0;
  };

  {  // The receiver sleeps; a small message wakes it.
    Bytes msg = pattern(10, 1), got(10);
    b.postRecv(RecvTarget{got.data(), got.size()});
    std::atomic<bool> asleep{false};
    Clock::duration slept{};
    std::thread t([&] { sleepOnce(1, b, asleep, slept); });
    while (!asleep) std::this_thread::yield();
    a.postSend(msg.data(), msg.size());
    a.progress();
    t.join();
    EXPECT_LT(slept, maxWait) << "the receiver was not woken by the data";
    ASSERT_TRUE(driveAll({&a, &b}, [&] { return !a.busy() && !b.busy(); }));
    EXPECT_EQ(got, msg);
  }
  {  // The sender sleeps on a full ring; the receiver draining it wakes it.
    const Bytes msg = pattern(4 * ringBytes(), 2);
    Bytes got(msg.size());
    a.postSend(msg.data(), msg.size());
    std::atomic<bool> asleep{false};
    Clock::duration slept{};
    std::thread t([&] { sleepOnce(0, a, asleep, slept); });
    while (!asleep) std::this_thread::yield();
    b.postRecv(RecvTarget{got.data(), got.size()});
    b.progress();
    t.join();
    EXPECT_LT(slept, maxWait) << "the sender was not woken by the freed space";
    ASSERT_TRUE(driveAll({&a, &b}, [&] { return !a.busy() && !b.busy(); }));
    EXPECT_EQ(got, msg);
  }
}

TEST(ShmTransport, SizeMismatchNamesThePeer) {
  auto table = hostTable(2);
  auto ranks = setup(table, allToAll(2));
  Bytes msg = pattern(100, 3), got(104);
  ranks[0]->to(1).postSend(msg.data(), msg.size());
  ranks[0]->to(1).progress();
  Connection& b = ranks[1]->to(0);
  b.postRecv(RecvTarget{got.data(), got.size()});
  for (int attempt = 0; attempt < 2; ++attempt) {  // the error repeats; the stream is not consumed
    try {
      b.progress();
      FAIL() << "no error";
    } catch (const RemoteError& e) {
      EXPECT_EQ(e.context().rank, 1);
      EXPECT_EQ(e.context().peer, 0);
      EXPECT_EQ(e.context().host, "host-a");
      EXPECT_EQ(e.context().transport, "shm");
      const std::string expected = "rank 1 expected 104 bytes from rank 0 (host host-a) over shm but it sent 100";
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  }
}

// Two calls that differ only in their collective, at the same sequence number.
std::uint32_t signatureOf(Collective c) {
  OpCall call;
  call.seq = 7;
  call.collective = c;
  call.count = 100;
  return opSignature(call);
}

TEST(ShmTransport, SignatureMismatchNamesBothCalls) {
  auto table = hostTable(2);
  auto ranks = setup(table, allToAll(2));
  const std::uint32_t theirs = signatureOf(Collective::AllGather), mine = signatureOf(Collective::AllReduce);
  Bytes msg = pattern(64, 1), got(64);
  Connection& a = ranks[0]->to(1);
  Connection& b = ranks[1]->to(0);
  // Same signature, or one side unchecked (0): the message goes through.
  for (auto [sa, sb] : {std::pair<std::uint32_t, std::uint32_t>{mine, mine}, {0, mine}, {theirs, 0}}) {
    a.setSignature(sa);
    b.setSignature(sb);
    checkOneMessage(a, b, msg);
  }
  a.setSignature(theirs);
  b.setSignature(mine);
  a.postSend(msg.data(), msg.size());
  b.postRecv(RecvTarget{got.data(), got.size()});
  a.progress();
  try {
    b.progress();
    FAIL() << "a message of another collective was taken";
  } catch (const RemoteError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("rank 1: rank 0 (host host-a) is in " + describeOpSignature(theirs) +
                        " while this rank is in " + describeOpSignature(mine)),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("the ranks called different collectives"), std::string::npos) << what;
    EXPECT_EQ(e.context().peer, 0);
    EXPECT_EQ(e.context().transport, "shm");
  }
}

TEST(ShmTransport, ANoticeReachesThePeerOutsideTheDataStream) {
  auto table = hostTable(2);
  auto ranks = setup(table, allToAll(2));
  Bytes msg = pattern(1000, 2), got(1000);
  Connection& a = ranks[0]->to(1);
  Connection& b = ranks[1]->to(0);
  // A message in the ring does not hide the notice, and the ring's doorbell wakes b.
  a.postSend(msg.data(), msg.size());
  a.progress();
  EXPECT_NO_THROW(b.checkPeer());
  const std::uint32_t seen = ranks[1]->ctx.doorbell->read();
  a.postNotice(FailureNotice{FailureNotice::Kind::PeerTimedOut, 5});
  EXPECT_TRUE(a.flushNotice());
  EXPECT_NE(ranks[1]->ctx.doorbell->read(), seen) << "the notice did not ring the peer's doorbell";
  try {
    b.checkPeer();
    FAIL() << "the notice was not seen";
  } catch (const PeerNoticeError& e) {
    EXPECT_EQ(e.notice.kind, FailureNotice::Kind::PeerTimedOut);
    EXPECT_EQ(e.notice.culprit, 5);
    EXPECT_EQ(e.context().peer, 0);
  }
  // The data that came before it is still intact for whoever wants it.
  b.postRecv(RecvTarget{got.data(), got.size()});
  b.progress();
  EXPECT_EQ(got, msg);
}

TEST(ShmTransport, ConnectFailsNamingAPeerThatDidNotCreateItsSegment) {
  auto table = hostTable(2);
  std::vector<std::exception_ptr> errors;
  // Rank 1 reaches nobody over shm (as if its BRAID_TRANSPORTS differed).
  setup(table, PeerLists{{1}, {}}, &errors);
  ASSERT_TRUE(errors[0]);
  EXPECT_FALSE(errors[1]);
  try {
    std::rethrow_exception(errors[0]);
  } catch (const Error& e) {
    EXPECT_EQ(e.context().peer, 1);
    EXPECT_NE(std::string(e.what()).find("rank 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("/braid-"), std::string::npos) << e.what();
  }
}

void allToAllExchange(int n) {
  ScopedEnv env("BRAID_SHM_BUFFER", "64K");
  auto table = hostTable(n);
  auto ranks = setup(table, allToAll(n));
  constexpr int kRounds = 3;
  auto size = [](int from, int to, int round) { return std::size_t(50000 + 4099 * from + 131 * to + 7 * round); };
  auto seed = [n](int from, int to, int round) { return unsigned((round * n + from) * n + to); };
  // got[r][p * kRounds + m]: what rank r received from p in round m.
  std::vector<std::vector<Bytes>> sent(n), got(n);
  for (int r = 0; r < n; ++r)
    for (int p = 0; p < n; ++p)
      for (int m = 0; m < kRounds; ++m) {
        sent[r].push_back(p == r ? Bytes() : pattern(size(r, p, m), seed(r, p, m)));
        got[r].emplace_back(p == r ? 0 : size(p, r, m));
      }
  std::vector<char> ok(n, 0);
  const auto deadline = Clock::now() + kLimit;
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      std::vector<Connection*> conns;
      for (int m = 0; m < kRounds; ++m)
        for (int p = 0; p < n; ++p) {
          if (p == r) continue;
          ranks[r]->to(p).postSend(sent[r][p * kRounds + m].data(), sent[r][p * kRounds + m].size());
          ranks[r]->to(p).postRecv(RecvTarget{got[r][p * kRounds + m].data(), got[r][p * kRounds + m].size()});
        }
      for (int p = 0; p < n; ++p)
        if (p != r) conns.push_back(&ranks[r]->to(p));
      ok[r] = driveRank(conns, ranks[r]->ctx.doorbell, deadline);
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < n; ++r) {
    ASSERT_TRUE(ok[r]) << "rank " << r << " missed the deadline";
    for (int p = 0; p < n; ++p)
      for (int m = 0; m < kRounds; ++m)
        if (p != r) {
          ASSERT_TRUE(got[r][p * kRounds + m] == sent[p][r * kRounds + m]) << p << " -> " << r << " round " << m;
        }
  }
}

TEST(ShmTransport, AllToAllFourRanks) { allToAllExchange(4); }
TEST(ShmTransport, AllToAllEightRanks) { allToAllExchange(8); }

// --- Two real processes ---------------------------------------------------------------

// A barrier between two processes over a socketpair: send a byte, wait for one.
void socketBarrier(int fd) {
  char c = 1;
  if (write(fd, &c, 1) != 1) throw SystemError("barrier: write failed");
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 30000) != 1 || read(fd, &c, 1) != 1) throw SystemError("barrier: peer did not arrive");
}

std::vector<std::size_t> forkSizes(std::size_t cap) { return {0, 1, 17, 4097, 3 * cap + 5, (1u << 20) + 3}; }

// The child: rank 1. Sends a pattern per size to rank 0 and checks one message from it.
// Reports through its exit status only (no gtest in a forked child).
[[noreturn]] void childRank(int fd, const std::string& tag) {
  int status = 0;
  try {
    auto table = hostTable(2);
    table[0].pid = getppid();
    table[1].pid = getpid();
    ShmTransport transport;
    TransportContext ctx;
    ctx.rank = 1;
    ctx.size = 2;
    ctx.commTag = tag;
    ctx.peers = &table;
    auto conns = transport.connectWith(ctx, {0}, [fd] { socketBarrier(fd); });
    Connection& c = *conns[0];
    std::vector<Bytes> msgs;
    for (std::size_t bytes : forkSizes(ringBytes())) msgs.push_back(pattern(bytes, static_cast<unsigned>(bytes)));
    for (const Bytes& m : msgs) c.postSend(m.data(), m.size());
    const Bytes expect = pattern(200000, 77);
    Bytes got(expect.size());
    c.postRecv(RecvTarget{got.data(), got.size()});
    if (!driveRank({&c}, ctx.doorbell, Clock::now() + kLimit)) status = 2;
    else if (got != expect) status = 3;
  } catch (...) {
    status = 4;
  }
  _exit(status);
}

TEST(ShmTransport, TwoProcesses) {
  ScopedEnv env("BRAID_SHM_BUFFER", "64K");
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  const std::string tag = uniqueTag();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    childRank(fds[1], tag);
  }
  close(fds[1]);
  // Kills the child if an assertion below returns early.
  struct Reaper {
    pid_t pid;
    bool reaped = false;
    ~Reaper() {
      if (!reaped) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{child};

  auto table = hostTable(2);
  table[1].pid = child;
  ShmTransport transport;
  TransportContext ctx;
  ctx.rank = 0;
  ctx.size = 2;
  ctx.commTag = tag;
  ctx.peers = &table;
  auto conns = transport.connectWith(ctx, {1}, [&] { socketBarrier(fds[0]); });
  Connection& c = *conns[0];
  EXPECT_NO_THROW(c.checkPeer());

  std::vector<Bytes> got;
  for (std::size_t bytes : forkSizes(ringBytes())) {
    got.emplace_back(bytes);
    c.postRecv(RecvTarget{got.back().data(), bytes});
  }
  const Bytes reply = pattern(200000, 77);
  c.postSend(reply.data(), reply.size());
  ASSERT_TRUE(driveRank({&c}, ctx.doorbell, Clock::now() + kLimit));
  for (const Bytes& m : got)
    EXPECT_TRUE(m == pattern(m.size(), static_cast<unsigned>(m.size()))) << m.size() << " bytes";

  // The child exits once its work is done; its end of the socket closes then.
  pollfd p{fds[0], POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 30000), 1) << "the child did not exit";
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  reaper.reaped = true;
  close(fds[0]);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "child: 2 deadline, 3 wrong data, 4 exception";

  // A reaped child no longer exists: the executor's liveness check reports it.
  try {
    c.checkPeer();
    FAIL() << "no error for a peer that exited";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.context().peer, 1);
    EXPECT_NE(std::string(e.what()).find("rank 1 (host host-a, pid " + std::to_string(child) + ") is gone"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace braid::shm
