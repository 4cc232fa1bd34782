// The tcp transport with "ranks" as threads of one process: the TransportContext is
// built by hand (no bootstrap), and connections are driven by progress() loops that
// give up at a deadline, so a lost byte shows up as a failure rather than a hang.
#include "core/deadline.h"
#include "core/env.h"
#include "core/op_signature.h"
#include "core/socket.h"
#include "transport/tcp/tcp_connection.h"
#include "transport/transport.h"
#include "scoped_env.h"

#include <braid/error.h>

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <optional>
#include <thread>

namespace braid {
namespace {

using namespace std::chrono_literals;
constexpr std::size_t kMiB = 1 << 20;
constexpr std::size_t kPiece = tcp::kPieceBytes;
const std::array<unsigned char, 16> kSecret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

using testing::ScopedEnv;

// Every test runs under a short BRAID_TIMEOUT, so that a setup bug fails instead of hanging.
class Tcp : public ::testing::Test {
 protected:
  ScopedEnv timeout_{"BRAID_TIMEOUT", "20s"};
};

// Bytes that differ at every offset, so a piece landing in the wrong place cannot pass.
std::vector<unsigned char> pattern(std::size_t n, std::uint64_t seed) {
  std::vector<unsigned char> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed * 0xD1B54A32D192ED03ull;
    v[i] = static_cast<unsigned char>((x ^ (x >> 29)) >> 24);
  }
  return v;
}

struct Mesh {
  std::vector<PeerInfo> infos;
  std::vector<std::unique_ptr<Transport>> transports;
  std::vector<TransportContext> ctxs;
  std::vector<std::vector<std::unique_ptr<Connection>>> conns;  // [rank][peer], null at rank
  Connection& c(int rank, int peer) { return *conns[rank][peer]; }
  std::vector<Connection*> all() {
    std::vector<Connection*> out;
    for (auto& row : conns)
      for (auto& c : row)
        if (c) out.push_back(c.get());
    return out;
  }
};

std::string freshTag() {
  static std::atomic<int> n{0};
  return "tcp-test-" + std::to_string(n++);
}

TransportContext contextFor(int rank, int size, const std::string& tag, const std::vector<PeerInfo>* peers) {
  TransportContext ctx;
  ctx.rank = rank;
  ctx.size = size;
  ctx.commTag = tag;
  ctx.secret = kSecret;
  ctx.peers = peers;
  return ctx;
}

// `size` ranks as threads: publish, a barrier standing in for the all-gather (its
// completion runs `beforeConnect`, e.g. to send strangers), then connect to all others.
std::unique_ptr<Mesh> makeMesh(int size, const std::function<void(Mesh&)>& beforeConnect = {}) {
  auto m = std::make_unique<Mesh>();
  std::string tag = freshTag();
  m->infos.resize(size);
  m->conns.resize(size);
  for (int r = 0; r < size; ++r) {
    m->transports.push_back(makeTcpTransport());
    m->ctxs.push_back(contextFor(r, size, tag, &m->infos));
    m->conns[r].resize(size);
  }
  std::vector<std::exception_ptr> errors(size + 1);
  std::barrier sync(size, [&]() noexcept {
    try {
      if (beforeConnect) beforeConnect(*m);
    } catch (...) {
      errors[size] = std::current_exception();
    }
  });
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r) {
    threads.emplace_back([&, r] {
      try {
        m->infos[r].rank = r;
        std::snprintf(m->infos[r].hostName, sizeof m->infos[r].hostName, "host%d", r);
        m->transports[r]->publish(m->ctxs[r], m->infos[r].endpoint[0].data());
      } catch (...) {
        errors[r] = std::current_exception();
      }
      sync.arrive_and_wait();
      if (errors[r]) return;
      try {
        std::vector<int> peers;
        for (int p = 0; p < size; ++p)
          if (p != r) peers.push_back(p);
        auto cs = m->transports[r]->connect(m->ctxs[r], 0, peers);
        for (std::size_t i = 0; i < peers.size(); ++i) m->conns[r][peers[i]] = std::move(cs[i]);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return m;
}

// Progress until nothing is busy; throws past the limit.
void drive(const std::vector<Connection*>& conns, std::chrono::milliseconds limit = 60s) {
  Deadline deadline(limit);
  for (;;) {
    bool busy = false;
    for (Connection* c : conns) {
      c->progress();
      busy = busy || c->busy();
    }
    if (!busy) return;
    if (deadline.expired()) throw std::runtime_error("drive: connections still busy at the deadline");
  }
}

// Sends each size from a to b and b to a, all posted up front, and checks every byte.
void exchange(Mesh& m, int a, int b, const std::vector<std::size_t>& sizes) {
  std::vector<std::vector<unsigned char>> out[2], in[2];
  for (int dir = 0; dir < 2; ++dir) {
    Connection& tx = dir == 0 ? m.c(a, b) : m.c(b, a);
    Connection& rx = dir == 0 ? m.c(b, a) : m.c(a, b);
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      out[dir].push_back(pattern(sizes[i], i * 2 + dir));
      in[dir].emplace_back(sizes[i], 0xEE);
    }
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      tx.postSend(out[dir][i].data(), sizes[i]);
      rx.postRecv(RecvTarget{in[dir][i].data(), sizes[i]});
    }
  }
  drive({&m.c(a, b), &m.c(b, a)});
  for (int dir = 0; dir < 2; ++dir)
    for (std::size_t i = 0; i < sizes.size(); ++i)
      ASSERT_TRUE(out[dir][i] == in[dir][i]) << "message " << i << " of " << sizes[i] << " bytes, direction " << dir;
}

template <class T>
void sumKernel(void* dst, const void* a, const void* b, std::size_t n) {
  auto* d = static_cast<T*>(dst);
  auto* x = static_cast<const T*>(a);
  auto* y = static_cast<const T*>(b);
  for (std::size_t i = 0; i < n; ++i) d[i] = x[i] + y[i];
}

// a -> b with combine: b's buffer ends up as its own values plus a's (or `src` plus a's).
template <class T>
void combineCheck(Mesh& m, std::size_t count, bool separateSrc) {
  std::vector<T> sent(count), local(count), src(count);
  for (std::size_t i = 0; i < count; ++i) {
    // Small integers: float sums are exact, so the check can be exact.
    sent[i] = static_cast<T>(static_cast<int>(i % 1999) - 999);
    local[i] = static_cast<T>(static_cast<int>((i * 7) % 1013));
    src[i] = static_cast<T>(static_cast<int>((i * 3) % 517) - 100);
  }
  RecvTarget t{local.data(), count * sizeof(T), separateSrc ? static_cast<const void*>(src.data()) : nullptr,
               &sumKernel<T>, sizeof(T)};
  std::vector<T> expect(count);
  for (std::size_t i = 0; i < count; ++i) expect[i] = (separateSrc ? src[i] : local[i]) + sent[i];
  m.c(0, 1).postSend(sent.data(), count * sizeof(T));
  m.c(1, 0).postRecv(t);
  drive({&m.c(0, 1), &m.c(1, 0)});
  ASSERT_TRUE(local == expect) << count << " elements";
}

TEST(TcpLayout, LanesPartitionEveryMessage) {
  for (int k = 1; k <= 5; ++k)
    for (std::uint64_t seq = 0; seq < 7; ++seq)
      for (std::uint64_t bytes : {std::uint64_t(0), std::uint64_t(1), std::uint64_t(kPiece - 1),
                                  std::uint64_t(kPiece), std::uint64_t(kPiece + 1), std::uint64_t(3 * kPiece + 5),
                                  std::uint64_t(9 * kPiece)}) {
        std::vector<int> seen(bytes, 0);
        std::uint64_t total = 0;
        for (int lane = 0; lane < k; ++lane) {
          std::uint64_t share = tcp::laneShare(seq, bytes, lane, k);
          std::uint64_t header = seq % k == static_cast<std::uint64_t>(lane) ? tcp::kHeaderBytes : 0;
          ASSERT_GE(share, header);
          if (bytes <= kPiece && header == 0) {
            EXPECT_EQ(share, 0u) << "a small message rides on one lane";
          }
          total += share;
          for (std::uint64_t off = 0; off < share - header;) {
            tcp::Span s = tcp::laneSpan(seq, bytes, lane, k, off);
            ASSERT_GT(s.len, 0u);
            ASSERT_LE(s.pos + s.len, bytes);
            ASSERT_LE(off + s.len, share - header) << "a span runs past the lane's share";
            EXPECT_EQ((seq + s.pos / kPiece) % k, static_cast<std::uint64_t>(lane)) << "piece on its lane";
            for (std::uint64_t i = s.pos; i < s.pos + s.len; ++i) ++seen[i];
            off += s.len;
          }
        }
        EXPECT_EQ(total, bytes + tcp::kHeaderBytes);
        // One comparison per byte would dominate the run time: find the first miss instead.
        auto miss = std::find_if(seen.begin(), seen.end(), [](int v) { return v != 1; });
        EXPECT_EQ(miss, seen.end()) << "byte " << (miss - seen.begin()) << " k " << k << " seq " << seq;
      }
}

// A sender and a receiver over socketpairs, with the test relaying each lane's bytes in
// odd-sized fragments (1 byte, 3, 7, ...): headers and elements arrive split anywhere,
// which a loopback TCP run only does by chance. The relay also counts what each lane
// carried, checking the layout both ends compute.
TEST(TcpWire, ReceiverCopesWithAnyFragmentation) {
  constexpr int k = 3;
  std::vector<Socket> txLanes, rxLanes, relayIn, relayOut;
  for (int i = 0; i < k; ++i) {
    int a[2], b[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    txLanes.emplace_back(a[0]);
    relayIn.emplace_back(a[1]);
    relayOut.emplace_back(b[0]);
    rxLanes.emplace_back(b[1]);
  }
  TcpConnection tx(0, 1, "rx-host", std::move(txLanes)), rx(1, 0, "tx-host", std::move(rxLanes));

  std::vector<std::size_t> sizes = {0, 12, 3, 4096, kPiece + 13, 2 * kPiece + 4, 1, 3 * kPiece + 8};
  std::vector<std::vector<unsigned char>> out, in, expect;
  std::vector<std::uint64_t> laneBytes(k, 0);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    out.push_back(pattern(sizes[i], i));
    in.push_back(pattern(sizes[i], 100 + i));
    expect.push_back(out.back());
    for (int lane = 0; lane < k; ++lane) laneBytes[lane] += tcp::laneShare(i, sizes[i], lane, k);
    tx.postSend(out[i].data(), sizes[i]);
    if (i % 2 == 1) {
      // Odd messages combine as int32 (8 bytes as int64 for variety): in += out.
      std::size_t e = i % 4 == 1 ? 4 : 8;
      auto& ex = expect.back();
      for (std::size_t off = 0; off + e <= sizes[i]; off += e) {
        if (e == 4) {
          std::int32_t x, y;
          std::memcpy(&x, out[i].data() + off, 4), std::memcpy(&y, in[i].data() + off, 4);
          std::int32_t z = static_cast<std::int32_t>(static_cast<std::uint32_t>(x) + static_cast<std::uint32_t>(y));
          std::memcpy(ex.data() + off, &z, 4);
        } else {
          std::int64_t x, y;
          std::memcpy(&x, out[i].data() + off, 8), std::memcpy(&y, in[i].data() + off, 8);
          std::int64_t z = static_cast<std::int64_t>(static_cast<std::uint64_t>(x) + static_cast<std::uint64_t>(y));
          std::memcpy(ex.data() + off, &z, 8);
        }
      }
      auto fn = e == 4 ? &sumKernel<std::uint32_t> : &sumKernel<std::uint64_t>;
      ASSERT_EQ(sizes[i] % e, 0u);
      rx.postRecv(RecvTarget{in[i].data(), sizes[i], nullptr, fn, e});
    } else {
      rx.postRecv(RecvTarget{in[i].data(), sizes[i]});
    }
  }

  const std::size_t fragments[] = {1, 3, 7, 2, 4099, 5, 65536 + 3, 11};
  std::vector<std::string> pending(k);
  std::vector<std::uint64_t> relayed(k, 0);
  std::vector<char> buf(1 << 20);
  std::size_t step = 0;
  Deadline deadline(20s);
  while (tx.busy() || rx.busy()) {
    ASSERT_FALSE(deadline.expired()) << "stuck";
    tx.progress();
    for (int lane = 0; lane < k; ++lane) {
      ssize_t n = ::recv(relayIn[lane].fd(), buf.data(), buf.size(), MSG_DONTWAIT);
      if (n > 0) pending[lane].append(buf.data(), static_cast<std::size_t>(n));
      std::size_t f = std::min(fragments[step++ % std::size(fragments)], pending[lane].size());
      if (f == 0) continue;
      ssize_t w = ::send(relayOut[lane].fd(), pending[lane].data(), f, MSG_DONTWAIT);
      if (w > 0) {
        pending[lane].erase(0, static_cast<std::size_t>(w));
        relayed[lane] += static_cast<std::uint64_t>(w);
      }
      rx.progress();  // after every fragment, so each one is seen on its own
    }
  }
  EXPECT_EQ(relayed, laneBytes);
  for (std::size_t i = 0; i < sizes.size(); ++i) EXPECT_TRUE(in[i] == expect[i]) << "message " << i;
}

TEST_F(Tcp, TwoRanksExactBytesForEverySize) {
  auto m = makeMesh(2);
  EXPECT_STREQ(m->c(0, 1).transportName(), "tcp");
  EXPECT_EQ(m->c(0, 1).peer(), 1);
  EXPECT_EQ(m->c(1, 0).peerHost(), "host0");
  exchange(*m, 0, 1, {0, 1, 7, 4096, kMiB + 3, 64 * kMiB + 1});
  // The same connections keep working: sequence numbers carry on across batches.
  exchange(*m, 0, 1, {3, 0, kPiece, kPiece + 1});
}

TEST_F(Tcp, ManySmallMessagesInARow) {
  auto m = makeMesh(2);
  std::vector<std::size_t> sizes;
  for (int i = 0; i < 20000; ++i) sizes.push_back(static_cast<std::size_t>((i * 37) % 64 + (i % 5 == 0 ? 0 : 1)));
  exchange(*m, 0, 1, sizes);
}

TEST_F(Tcp, ReceivesPostedLateStillMatchInOrder) {
  auto m = makeMesh(2);
  auto a = pattern(3 * kMiB, 1), b = pattern(10, 2);
  m->c(0, 1).postSend(a.data(), a.size());
  m->c(0, 1).postSend(b.data(), b.size());
  // The sender runs ahead until the socket buffers fill; nothing may be lost meanwhile.
  for (int i = 0; i < 1000; ++i) m->c(0, 1).progress(), m->c(1, 0).progress();
  std::vector<unsigned char> ra(a.size()), rb(b.size());
  m->c(1, 0).postRecv(RecvTarget{ra.data(), ra.size()});
  m->c(1, 0).postRecv(RecvTarget{rb.data(), rb.size()});
  drive({&m->c(0, 1), &m->c(1, 0)});
  EXPECT_TRUE(ra == a);
  EXPECT_TRUE(rb == b);
}

TEST_F(Tcp, CombineReceivesSumFloatsAndInts) {
  auto m = makeMesh(2);
  for (std::size_t count : {std::size_t(1), std::size_t(1000), kPiece / 4 + 1, 3 * kMiB / 4 + 5, 5 * kMiB + 3}) {
    combineCheck<float>(*m, count, false);
    combineCheck<std::int32_t>(*m, count, true);
  }
  combineCheck<double>(*m, kMiB + 1, false);
}

class TcpStriping : public Tcp, public ::testing::WithParamInterface<int> {};

TEST_P(TcpStriping, SocketsCarryEveryByte) {
  ScopedEnv k("BRAID_TCP_SOCKETS", std::to_string(GetParam()));
  auto m = makeMesh(2);
  exchange(*m, 0, 1,
           {0, 100, kPiece - 1, kPiece, kPiece + 1, 1, 2 * kPiece, 5 * kPiece + 7, 0, 16 * kMiB + 1, 3, 64 * kMiB + 1});
  combineCheck<float>(*m, 3 * kMiB + 1, false);
  combineCheck<std::int32_t>(*m, 7, true);
  // Chunk-sized messages rotate over the lanes, back to back.
  exchange(*m, 0, 1, std::vector<std::size_t>(40, kPiece));
}

INSTANTIATE_TEST_SUITE_P(K, TcpStriping, ::testing::Values(1, 2, 4));

TEST_F(Tcp, ThreeAndFourRanksAllPairs) {
  for (int size : {3, 4}) {
    ScopedEnv k("BRAID_TCP_SOCKETS", size == 3 ? "3" : "2");
    auto m = makeMesh(size);
    std::vector<std::vector<unsigned char>> out(size * size), in(size * size);
    for (int r = 0; r < size; ++r)
      for (int p = 0; p < size; ++p) {
        if (r == p) continue;
        std::size_t n = (r * size + p) * 300001 % (3 * kMiB);  // distinct size per pair
        out[r * size + p] = pattern(n, r * size + p);
        in[r * size + p].assign(n, 0);
      }
    for (int r = 0; r < size; ++r)
      for (int p = 0; p < size; ++p) {
        if (r == p) continue;
        m->c(r, p).postSend(out[r * size + p].data(), out[r * size + p].size());
        m->c(p, r).postRecv(RecvTarget{in[r * size + p].data(), in[r * size + p].size()});
      }
    drive(m->all());
    for (int i = 0; i < size * size; ++i) EXPECT_TRUE(out[i] == in[i]) << "pair " << i << " of " << size << " ranks";
  }
}

// Drives with poll() between progress calls, as the executor does: a missing POLLIN or
// POLLOUT shows up as a poll that sleeps through work and then times out.
TEST_F(Tcp, PollFdsWakeForEveryPendingTransfer) {
  ScopedEnv k("BRAID_TCP_SOCKETS", "4");
  auto m = makeMesh(3);
  std::vector<std::vector<unsigned char>> out, in;
  std::vector<std::size_t> sizes = {0, 5, kPiece + 9, 9 * kMiB + 1, 17, 3 * kPiece};
  for (int r = 0; r < 3; ++r)
    for (int p = 0; p < 3; ++p)
      for (std::size_t i = 0; r != p && i < sizes.size(); ++i) {
        out.push_back(pattern(sizes[i], out.size()));
        in.emplace_back(sizes[i], 0);
        m->c(r, p).postSend(out.back().data(), sizes[i]);
        m->c(p, r).postRecv(RecvTarget{in.back().data(), sizes[i]});
      }
  Deadline deadline(60s);
  std::vector<pollfd> fds;
  for (;;) {
    bool moved = false, busy = false;
    for (Connection* c : m->all()) {
      moved = c->progress() || moved;
      busy = busy || c->busy();
    }
    if (!busy) break;
    ASSERT_FALSE(deadline.expired());
    if (moved) continue;
    fds.clear();
    for (Connection* c : m->all()) c->addPollFds(fds);
    ASSERT_FALSE(fds.empty());
    ASSERT_GT(::poll(fds.data(), fds.size(), 5000), 0) << "poll slept through pending work";
  }
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_TRUE(out[i] == in[i]) << "message " << i;
}

TEST_F(Tcp, SizeMismatchNamesThePeer) {
  for (const char* k : {"2", "4"}) {
    ScopedEnv sockets("BRAID_TCP_SOCKETS", k);
    auto m = makeMesh(2);
    for (auto [sent, expected] : {std::pair<std::size_t, std::size_t>{100, 200}, {3 * kMiB, 3 * kMiB + 4}}) {
      auto data = pattern(sent, 1);
      std::vector<unsigned char> dst(expected);
      m->c(0, 1).postSend(data.data(), sent);
      m->c(1, 0).postRecv(RecvTarget{dst.data(), expected});
      try {
        drive({&m->c(0, 1), &m->c(1, 0)}, 20s);
        FAIL() << "a size mismatch went unnoticed";
      } catch (const RemoteError& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("rank 1 expected " + std::to_string(expected) + " bytes from rank 0 (host host0)"),
                  std::string::npos)
            << what;
        EXPECT_NE(what.find("sent " + std::to_string(sent)), std::string::npos) << what;
        EXPECT_EQ(e.context().peer, 0);
        EXPECT_EQ(e.context().rank, 1);
        EXPECT_EQ(e.context().transport, "tcp");
        EXPECT_EQ(e.context().host, "host0");
      }
      // The stream is out of step now; a fresh mesh for the next case.
      m = makeMesh(2);
    }
  }
}

TEST_F(Tcp, SignatureMismatchNamesBothCalls) {
  OpCall call;
  call.seq = 9;
  call.count = 1000;
  const std::uint32_t mine = opSignature(call);
  call.type = DataType::Int32;
  const std::uint32_t theirs = opSignature(call);
  auto m = makeMesh(2);
  auto data = pattern(3 * kMiB, 5);
  std::vector<unsigned char> dst(data.size());
  m->c(0, 1).setSignature(mine);
  m->c(1, 0).setSignature(mine);
  m->c(0, 1).postSend(data.data(), data.size());
  m->c(1, 0).postRecv(RecvTarget{dst.data(), dst.size()});
  drive({&m->c(0, 1), &m->c(1, 0)}, 20s);
  ASSERT_TRUE(dst == data);
  m->c(0, 1).setSignature(theirs);
  m->c(0, 1).postSend(data.data(), data.size());
  m->c(1, 0).postRecv(RecvTarget{dst.data(), dst.size()});
  try {
    drive({&m->c(0, 1), &m->c(1, 0)}, 20s);
    FAIL() << "a message of another call was taken";
  } catch (const RemoteError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("rank 1: rank 0 (host host0) is in " + describeOpSignature(theirs) +
                        " while this rank is in " + describeOpSignature(mine)),
              std::string::npos)
        << what;
    EXPECT_EQ(e.context().peer, 0);
    EXPECT_EQ(e.context().transport, "tcp");
  }
}

// The notice must land where the receiver reads its next header, never inside a
// payload: a message already on the wire is finished first, messages not started are
// dropped. A lane that carried its whole share of the first message may have started
// on the second before the notice is posted (seen in CI with a 32 MiB first message: 3
// lanes of 8 MiB socket buffers each way held a lane's share): then the notice follows
// the second, with no receive posted for it, and the receiver finds it as its executor
// does when idle (checkPeer).
TEST_F(Tcp, ANoticeFollowsTheMessageUnderWayOnEverySocketCount) {
  for (const char* k : {"1", "3"}) {
    ScopedEnv sockets("BRAID_TCP_SOCKETS", k);
    auto m = makeMesh(2);
    Connection& a = m->c(0, 1);
    Connection& b = m->c(1, 0);
    auto first = pattern(64 * kMiB + 5, 6), second = pattern(kMiB, 7);
    std::vector<unsigned char> got(first.size()), got2(second.size());
    a.postSend(first.data(), first.size());
    a.postSend(second.data(), second.size());
    // Part of the first message gets out: a socket's buffers hold at most 16 MiB (Braid
    // asks for 4 MiB each way, the kernel doubles it), and each lane's share is over 21 MiB.
    for (int i = 0; i < 50; ++i) a.progress();
    ASSERT_EQ(a.sendsDone(), 0u);
    a.postNotice(FailureNotice{FailureNotice::Kind::PeerGone, 7});
    b.postRecv(RecvTarget{got.data(), got.size()});
    b.postRecv(RecvTarget{got2.data(), got2.size()});
    Deadline deadline(20s);
    bool flushed = false;
    try {
      while (!deadline.expired()) {
        flushed = a.flushNotice() || flushed;
        b.progress();
        if (!b.busy()) b.checkPeer();
      }
      FAIL() << "the notice never arrived (" << k << " sockets)";
    } catch (const PeerNoticeError& e) {
      EXPECT_EQ(e.notice.kind, FailureNotice::Kind::PeerGone);
      EXPECT_EQ(e.notice.culprit, 7);
      EXPECT_EQ(e.context().peer, 0);
    }
    // With one socket the stream before the notice is exactly the first message. (With
    // more, the lane carrying the notice may reach it before the others finish.) A
    // message received whole is received intact.
    if (std::string(k) == "1") {
      EXPECT_TRUE(got == first) << "the message under way was not finished intact";
    }
    if (b.recvsDone() >= 1) {
      EXPECT_TRUE(got == first) << k << " sockets";
    }
    if (b.recvsDone() == 2) {
      EXPECT_TRUE(got2 == second) << "the second message was started, so finished (" << k << " sockets)";
    }
  }
}

TEST_F(Tcp, ANoticeIsSeenWithNoReceivePosted) {
  auto m = makeMesh(2);
  EXPECT_NO_THROW(m->c(1, 0).checkPeer());
  m->c(0, 1).postNotice(FailureNotice{FailureNotice::Kind::Aborted, 0});
  ASSERT_TRUE(m->c(0, 1).flushNotice());
  std::vector<pollfd> fds;
  m->c(1, 0).addPollFds(fds);
  for (pollfd& p : fds) p.events |= POLLIN;
  ASSERT_GT(::poll(fds.data(), fds.size(), 10000), 0) << "the notice did not arrive";
  try {
    m->c(1, 0).checkPeer();
    FAIL() << "checkPeer() did not see the notice";
  } catch (const PeerNoticeError& e) {
    EXPECT_EQ(e.notice.kind, FailureNotice::Kind::Aborted);
    EXPECT_EQ(e.notice.culprit, 0);
  }
}

TEST_F(Tcp, PeerClosingMidMessageIsARemoteErrorNamingIt) {
  auto m = makeMesh(2);
  auto data = pattern(64 * kMiB, 3);
  std::vector<unsigned char> dst(data.size());
  m->c(0, 1).postSend(data.data(), data.size());
  m->c(1, 0).postRecv(RecvTarget{dst.data(), dst.size()});
  // Part of the message gets out: the sender fills the socket buffers, which hold far
  // less than 64 MiB, while the receiver has not started reading ...
  for (int i = 0; i < 50; ++i) m->c(0, 1).progress();
  ASSERT_TRUE(m->c(0, 1).busy());
  // ... then rank 0 goes away.
  m->conns[0][1].reset();
  try {
    drive({&m->c(1, 0)}, 20s);
    FAIL() << "the receiver did not notice its peer closing";
  } catch (const RemoteError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("rank 0 (host host0) closed its tcp connection to rank 1"), std::string::npos) << what;
    EXPECT_EQ(e.context().peer, 0);
  }
}

TEST_F(Tcp, SendingToAClosedPeerIsARemoteError) {
  auto m = makeMesh(2);
  m->conns[1][0].reset();
  auto data = pattern(64 * kMiB, 4);
  m->c(0, 1).postSend(data.data(), data.size());
  try {
    drive({&m->c(0, 1)}, 20s);
    FAIL() << "64 MiB went to a closed socket without an error";
  } catch (const RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 1 (host host1) closed"), std::string::npos) << e.what();
  }
}

TEST_F(Tcp, IdleConnectionNoticesAClosedPeerThroughPoll) {
  auto m = makeMesh(2);
  m->conns[1][0].reset();
  std::vector<pollfd> fds;
  m->c(0, 1).addPollFds(fds);
  ASSERT_FALSE(fds.empty());
  // The executor sleeps on these fds; EOF must wake it, and progress() must then report it.
  ASSERT_GT(::poll(fds.data(), fds.size(), 10000), 0);
  // An idle connection looks for EOF only now and then, to keep idle sweeps cheap.
  try {
    for (int i = 0; i < 1000; ++i) m->c(0, 1).progress();
    FAIL() << "progress() kept ignoring the peer's EOF";
  } catch (const RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 1 (host host1) closed"), std::string::npos) << e.what();
  }
}

TEST_F(Tcp, StrangersAreDroppedWhileRealPeersConnect) {
  std::vector<Socket> strangers;
  auto m = makeMesh(3, [&](Mesh& mesh) {
    SockAddr addr;
    std::memcpy(&addr, mesh.infos[0].endpoint[0].data(), sizeof addr);
    auto hello = [&](auto edit) {
      tcp::Hello h{};
      h.magic = tcp::Hello::kMagic;
      h.rank = 1;
      h.index = 0;
      h.sockets = static_cast<std::uint32_t>(Env::get().tcpSockets());
      h.tagHash = tcp::tagHash(mesh.ctxs[0].commTag);
      std::memcpy(h.secret, kSecret.data(), sizeof h.secret);
      edit(h);
      strangers.push_back(Socket::connect(addr, Deadline(5s)));
      strangers.back().sendAll(&h, sizeof h, Deadline(5s));
    };
    // Rank 0 accepts from ranks 1 and 2; these reach it first, posing as rank 1's socket 0.
    hello([](tcp::Hello& h) { h.secret[0] ^= 0xFF; });  // wrong secret
    hello([](tcp::Hello& h) { h.tagHash ^= 1; });        // another communicator
    hello([](tcp::Hello& h) { h.rank = 0; });            // not a higher rank
    hello([](tcp::Hello& h) { h.rank = 7; });            // no such rank
    hello([](tcp::Hello& h) { h.magic = 0x12345678; });  // not Braid at all
    strangers.push_back(Socket::connect(addr, Deadline(5s)));  // connects and says nothing
    strangers.push_back(Socket::connect(addr, Deadline(5s)));  // half a hello, then gone
    strangers.back().sendAll("BRDT", 4, Deadline(5s));
    strangers.back().close();
  });
  exchange(*m, 0, 1, {10, 2 * kMiB + 1});
  exchange(*m, 0, 2, {10, 2 * kMiB + 1});
  exchange(*m, 1, 2, {10});
  // Each stranger that sent a hello was hung up on.
  for (int i = 0; i < 5; ++i) {
    char c;
    EXPECT_THROW(strangers[i].recvAll(&c, 1, Deadline(5s)), SystemError) << "stranger " << i;
  }
}

TEST_F(Tcp, ADifferentSocketCountIsReported) {
  std::vector<PeerInfo> infos(2);
  auto t = makeTcpTransport();
  TransportContext ctx = contextFor(0, 2, freshTag(), &infos);
  t->publish(ctx, infos[0].endpoint[0].data());
  SockAddr addr;
  std::memcpy(&addr, infos[0].endpoint[0].data(), sizeof addr);
  tcp::Hello h{};
  h.magic = tcp::Hello::kMagic;
  h.rank = 1;
  h.sockets = static_cast<std::uint32_t>(Env::get().tcpSockets() + 1);
  h.tagHash = tcp::tagHash(ctx.commTag);
  std::memcpy(h.secret, kSecret.data(), sizeof h.secret);
  Socket s = Socket::connect(addr, Deadline(5s));
  s.sendAll(&h, sizeof h, Deadline(5s));
  try {
    t->connect(ctx, 0, {1});
    FAIL() << "a rank with another BRAID_TCP_SOCKETS was accepted";
  } catch (const RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("BRAID_TCP_SOCKETS"), std::string::npos) << e.what();
    EXPECT_EQ(e.context().peer, 1);
  }
}

TEST_F(Tcp, ConnectTimeoutNamesTheMissingPeers) {
  ScopedEnv timeout("BRAID_TIMEOUT", "300ms");
  std::vector<PeerInfo> infos(3);
  std::vector<std::unique_ptr<Transport>> ts;
  std::vector<TransportContext> ctxs;
  std::string tag = freshTag();
  for (int r = 0; r < 3; ++r) {
    ts.push_back(makeTcpTransport());
    ctxs.push_back(contextFor(r, 3, tag, &infos));
    std::snprintf(infos[r].hostName, sizeof infos[r].hostName, "host%d", r);
    ts[r]->publish(ctxs[r], infos[r].endpoint[0].data());
  }
  // Rank 2 connects (through rank 0's backlog, whether or not rank 0 accepts); rank 1 never shows up.
  std::thread two([&] { EXPECT_NO_THROW(ts[2]->connect(ctxs[2], 0, {0})); });
  two.join();
  auto start = Deadline::Clock::now();
  try {
    ts[0]->connect(ctxs[0], 0, {1, 2});
    FAIL() << "connect returned without rank 1";
  } catch (const TimeoutError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("rank 1 (host host1)"), std::string::npos) << what;
    EXPECT_EQ(what.find("rank 2 (host"), std::string::npos) << "rank 2 did connect: " << what;
    EXPECT_EQ(e.context().peer, 1);
  }
  EXPECT_LT(Deadline::Clock::now() - start, 5s);
}

}  // namespace
}  // namespace braid
