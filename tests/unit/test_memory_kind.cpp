// Calls on CUDA memory, the parts a machine without a GPU can check: host pointers stay
// on the host path without loading CUDA at all, a stream where CUDA cannot run gets an
// error naming the argument, the rank and the reason, the ticket word streams wait on
// moves only over consecutive released tickets, and staged copies keep in-place layouts.
#include "rank_threads.h"

#include "core/cuda/staging_plan.h"
#include "core/cuda/ticket_flag.h"
#ifdef BRAID_HAVE_CUDA
#include "core/cuda/memory_kind.h"
#endif

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cstdint>
#include <memory>
#include <numeric>
#include <vector>

namespace braid {
namespace {

using testing::runRanks;

// ---- the ticket word -------------------------------------------------------------

TEST(TicketFlag, InOrderReleasesPublishEachTicket) {
  std::uint32_t word = 77;
  TicketFlag flag(&word);
  EXPECT_EQ(word, 0u);  // a stream waiting for ticket 1 waits
  const std::uint32_t a = flag.issue(), b = flag.issue();
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  flag.release(a);
  EXPECT_EQ(word, 1u);
  flag.release(b);
  EXPECT_EQ(word, 2u);
  EXPECT_EQ(flag.published(), 2u);
}

TEST(TicketFlag, AnEarlyReleaseWaitsForEveryEarlierTicket) {
  std::uint32_t word = 0;
  TicketFlag flag(&word);
  const std::uint32_t t1 = flag.issue(), t2 = flag.issue(), t3 = flag.issue(), t4 = flag.issue();
  flag.release(t3);  // a later call failed first: ticket 1's stream must not go on
  EXPECT_EQ(word, 0u);
  flag.release(t2);
  EXPECT_EQ(word, 0u);
  flag.release(t1);
  EXPECT_EQ(word, t3);
  flag.release(t4);
  EXPECT_EQ(word, t4);
}

TEST(TicketFlag, RepeatedAndUnknownReleasesChangeNothing) {
  std::uint32_t word = 0;
  TicketFlag flag(&word);
  const std::uint32_t t1 = flag.issue(), t2 = flag.issue();
  flag.release(t1);
  flag.release(t1);
  flag.release(99);
  flag.release(0);
  EXPECT_EQ(word, t1);
  flag.release(t2);
  EXPECT_EQ(word, t2);
}

TEST(TicketFlag, ReleaseAllFreesEveryWaitingStream) {
  std::uint32_t word = 0;
  TicketFlag flag(&word);
  flag.issue();
  flag.issue();
  const std::uint32_t last = flag.issue();
  flag.releaseAll();
  EXPECT_EQ(word, last);
  const std::uint32_t next = flag.issue();  // tickets go on after a shutdown-style release
  flag.release(next);
  EXPECT_EQ(word, next);
}

// ---- where staged buffers sit ------------------------------------------------------

// Fake addresses: the plan only compares and subtracts them.
const void* at(std::uintptr_t address) { return reinterpret_cast<const void*>(address); }

TEST(StagingPlan, OutOfPlaceAllReduceCopiesInAndOut) {
  std::vector<StagedRegion> regions;
  auto [send, recv] = addCollectiveRegions(regions, Collective::AllReduce, at(0x10000), at(0x20000), 10, 4, 0, 2, 0);
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_TRUE(regions[send].copyIn);
  EXPECT_FALSE(regions[send].copyOut);
  EXPECT_EQ(regions[send].bytes, 40u);
  EXPECT_FALSE(regions[recv].copyIn);
  EXPECT_TRUE(regions[recv].copyOut);
  EXPECT_EQ(regions[recv].bytes, 40u);
  const std::size_t total = layOut(regions);
  unsigned char slot[1024];
  unsigned char* s = stagedAddress(regions, send, slot);
  unsigned char* r = stagedAddress(regions, recv, slot);
  EXPECT_EQ(total, 2 * kStagingAlign);
  EXPECT_TRUE(s + 40 <= r || r + 40 <= s) << "the two copies overlap";
  EXPECT_EQ(static_cast<std::size_t>(s - slot) % kStagingAlign, 0u);
  EXPECT_EQ(static_cast<std::size_t>(r - slot) % kStagingAlign, 0u);
}

TEST(StagingPlan, InPlaceLayoutsStayInPlace) {
  const std::size_t count = 6, elem = 2;
  const int rank = 2, size = 4;
  // All-gather in place: send is this rank's block of recv.
  {
    std::vector<StagedRegion> regions;
    const std::uintptr_t recv = 0x40000, send = recv + rank * count * elem;
    auto [s, r] = addCollectiveRegions(regions, Collective::AllGather, at(send), at(recv), count, elem, rank, size, 0);
    layOut(regions);
    unsigned char slot[1024];
    EXPECT_EQ(stagedAddress(regions, s, slot), stagedAddress(regions, r, slot) + rank * count * elem);
    EXPECT_TRUE(regions[s].copyIn);
    EXPECT_EQ(regions[s].bytes, count * elem);
    EXPECT_TRUE(regions[r].copyOut);
    EXPECT_EQ(regions[r].bytes, count * elem * size);
  }
  // Reduce-scatter in place: recv is this rank's block of send.
  {
    std::vector<StagedRegion> regions;
    const std::uintptr_t send = 0x80000, recv = send + rank * count * elem;
    auto [s, r] = addCollectiveRegions(regions, Collective::ReduceScatter, at(send), at(recv), count, elem, rank, size, 0);
    layOut(regions);
    unsigned char slot[1024];
    EXPECT_EQ(stagedAddress(regions, r, slot), stagedAddress(regions, s, slot) + rank * count * elem);
    EXPECT_EQ(regions[s].bytes, count * elem * size);
    EXPECT_TRUE(regions[r].copyOut);
  }
  // All-reduce in place: one copy, filled and copied back.
  {
    std::vector<StagedRegion> regions;
    auto [s, r] = addCollectiveRegions(regions, Collective::AllReduce, at(0x1000), at(0x1000), count, elem, rank, size, 0);
    EXPECT_EQ(layOut(regions), kStagingAlign);
    unsigned char slot[1024];
    EXPECT_EQ(stagedAddress(regions, s, slot), stagedAddress(regions, r, slot));
  }
}

TEST(StagingPlan, RootsDecideWhatIsReadAndWritten) {
  std::vector<StagedRegion> regions;
  auto [bs, br] = addCollectiveRegions(regions, Collective::Broadcast, at(0x1000), at(0x9000), 8, 8, 1, 3, 0);
  EXPECT_FALSE(regions[bs].copyIn) << "a non-root's broadcast input is not read";
  EXPECT_TRUE(regions[br].copyOut);
  auto [rs, rr] = addCollectiveRegions(regions, Collective::Reduce, at(0x20000), at(0x30000), 8, 8, 1, 3, 0);
  EXPECT_TRUE(regions[rs].copyIn);
  EXPECT_FALSE(regions[rr].copyOut) << "a non-root's reduce output is not written";
  auto [rootSend, rootRecv] = addCollectiveRegions(regions, Collective::Reduce, at(0x40000), at(0x50000), 8, 8, 0, 3, 0);
  EXPECT_TRUE(regions[rootRecv].copyOut);
  EXPECT_TRUE(regions[rootSend].copyIn);
  // A null send (a non-root broadcast may pass one) has no region.
  auto [none, recv] = addCollectiveRegions(regions, Collective::Broadcast, nullptr, at(0x60000), 8, 8, 2, 3, 0);
  EXPECT_EQ(none, -1);
  EXPECT_GE(recv, 0);
  unsigned char slot[4096];
  layOut(regions);
  EXPECT_EQ(stagedAddress(regions, none, slot), nullptr);
}

TEST(StagingPlan, AllToAllAndPointToPointSizes) {
  std::vector<StagedRegion> regions;
  auto [s, r] = addCollectiveRegions(regions, Collective::AllToAll, at(0x1000), at(0x100000), 5, 4, 0, 3, 0);
  EXPECT_EQ(regions[s].bytes, 60u);
  EXPECT_EQ(regions[r].bytes, 60u);
  // A group that sends from and receives into one buffer: two copies, so the send
  // carries what the buffer held before the group.
  const int out = addPointToPointRegion(regions, true, at(0x200000), 100);
  const int in = addPointToPointRegion(regions, false, at(0x200000), 100);
  EXPECT_TRUE(regions[out].copyIn && !regions[out].copyOut);
  EXPECT_TRUE(regions[in].copyOut && !regions[in].copyIn);
  layOut(regions);
  unsigned char slot[4096];
  EXPECT_NE(stagedAddress(regions, out, slot), stagedAddress(regions, in, slot));
}

TEST(StagingPlan, OnlyLargeElementwiseCallsAreCutIntoPieces) {
  constexpr std::size_t M = std::size_t{1} << 20;
  for (Collective c : {Collective::AllGather, Collective::ReduceScatter, Collective::AllToAll})
    EXPECT_TRUE(stagingPieces(c, 256 * M, 4).empty()) << toString(c);
  EXPECT_TRUE(stagingPieces(Collective::AllReduce, 2 * kStagingPieceBytes / 4 - 1, 4).empty());
  EXPECT_EQ(stagingPieces(Collective::AllReduce, 2 * kStagingPieceBytes / 4, 4),
            (std::vector<StagedPiece>{{0, kStagingPieceBytes}, {kStagingPieceBytes, kStagingPieceBytes}}));
  // Odd counts of every element size: the pieces tile the buffer in whole elements, each
  // but the last aligned, never more than kMaxStagingPieces of them.
  for (std::size_t elem : {1, 2, 4, 8})
    for (std::size_t count : {3 * kStagingPieceBytes / elem + 3, std::size_t{1} << 30 >> (elem / 2), 4096 * M / elem + 1}) {
      const auto pieces = stagingPieces(Collective::Broadcast, count, elem);
      ASSERT_GE(pieces.size(), 2u);
      EXPECT_LE(pieces.size(), kMaxStagingPieces);
      std::size_t next = 0;
      for (std::size_t k = 0; k < pieces.size(); ++k) {
        EXPECT_EQ(pieces[k].firstByte, next);
        EXPECT_EQ(pieces[k].bytes % elem, 0u);
        if (k + 1 < pieces.size()) {
          EXPECT_EQ(pieces[k].bytes % kStagingAlign, 0u);
        }
        next += pieces[k].bytes;
      }
      EXPECT_EQ(next, count * elem) << elem << " " << count;
    }
  EXPECT_EQ(stagingPieces(Collective::Reduce, std::size_t{1} << 30, 8).size(), kMaxStagingPieces);
}

// ---- host memory, streams and CUDA's absence -------------------------------------------

// Whether a CUDA driver library can be loaded here (loading it creates no context).
bool driverInstalled() {
  void* handle = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (handle) dlclose(handle);
  return handle != nullptr;
}

#ifdef BRAID_HAVE_CUDA
TEST(MemoryKind, HostPointersAreHostMemory) {
  int onStack = 0;
  auto onHeap = std::make_unique<double[]>(16);
  EXPECT_EQ(inspectPointer(&onStack).kind, MemoryKind::Host);
  EXPECT_EQ(inspectPointer(onHeap.get()).kind, MemoryKind::Host);
  EXPECT_EQ(inspectPointer(nullptr).kind, MemoryKind::Host);
  EXPECT_STREQ(toString(MemoryKind::Host), "pageable host memory");
  EXPECT_STREQ(toString(MemoryKind::Device), "device memory");
}

TEST(MemoryKind, HostCollectivesNeverLoadTheCudaDriver) {
  if (cudaDriverLoaded()) GTEST_SKIP() << "the CUDA driver was loaded before this test, in this process";
  auto out = runRanks(2, [](Communicator& c) {
    std::vector<std::int32_t> in(100), res(100), gathered(200);
    std::iota(in.begin(), in.end(), c.rank());
    c.allReduce(in.data(), res.data(), in.size(), DataType::Int32, ReduceOp::Sum);
    c.allGather(in.data(), gathered.data(), in.size(), DataType::Int32);
    c.allReduceAsync(in.data(), in.data(), in.size(), DataType::Int32, ReduceOp::Max).wait();
    c.groupStart();
    c.send(res.data(), 10, DataType::Int32, 1 - c.rank());
    c.recv(gathered.data(), 10, DataType::Int32, 1 - c.rank());
    c.groupEnd();
    for (int i = 0; i < 100; ++i) ASSERT_EQ(res[i], 2 * i + 1);
  });
  for (const auto& o : out) EXPECT_FALSE(o.error) << o.message();
  // No driver, no context: a host job on a GPU machine pays nothing for CUDA.
  EXPECT_FALSE(cudaDriverLoaded());
  EXPECT_EQ(dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD), nullptr);
}
#endif

TEST(MemoryKind, AStreamWhereCudaCannotRunNamesTheArgumentRankAndReason) {
  if (driverInstalled()) GTEST_SKIP() << "a CUDA driver is installed here; tests/gpu checks calls with streams";
  auto* fakeStream = reinterpret_cast<Stream>(std::uintptr_t{0x5a});  // never dereferenced: CUDA is refused first
  auto out = runRanks(2, [&](Communicator& c) {
    std::vector<float> a(8, 1.0f), b(8, 0.0f);
    auto expectRefused = [&](const std::function<void()>& call, const char* name) {
      try {
        call();
        ADD_FAILURE() << name << " with a stream was accepted";
      } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("'stream'"), std::string::npos) << m;
        EXPECT_NE(m.find("rank " + std::to_string(c.rank())), std::string::npos) << m;
        EXPECT_NE(m.find(name), std::string::npos) << m;
        EXPECT_EQ(e.context().rank, c.rank());
#ifdef BRAID_HAVE_CUDA
        EXPECT_EQ(e.kind(), ErrorKind::System) << m;
        EXPECT_NE(m.find("no CUDA driver"), std::string::npos) << m;
#else
        EXPECT_EQ(e.kind(), ErrorKind::Unsupported) << m;
#endif
      }
    };
    expectRefused([&] { c.allReduce(a.data(), b.data(), 8, DataType::Float32, ReduceOp::Sum, fakeStream); }, "allReduce");
    expectRefused([&] { c.broadcast(a.data(), b.data(), 8, DataType::Float32, 0, fakeStream); }, "broadcast");
    expectRefused([&] { c.send(a.data(), 8, DataType::Float32, 1 - c.rank(), fakeStream); }, "send");
    c.groupStart();
    expectRefused([&] { c.recv(b.data(), 8, DataType::Float32, 1 - c.rank(), fakeStream); }, "recv");
    c.groupEnd();  // nothing joined the group
    // Nothing was sent: host memory still works, exactly.
    c.allReduce(a.data(), b.data(), 8, DataType::Float32, ReduceOp::Sum);
    for (float v : b) ASSERT_EQ(v, 2.0f);
    EXPECT_FALSE(c.asyncError());
  });
  for (const auto& o : out) EXPECT_FALSE(o.error) << o.message();
}

}  // namespace
}  // namespace braid
