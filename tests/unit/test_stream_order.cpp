// The stream side of a staged call without a GPU: a fake driver table whose stream is a
// host thread running its operations in order (copies, host functions, waits on a word,
// events), as a CUDA stream would. It checks what a GPU run cannot show so directly:
// the stream holds at the wait until the worker releases the ticket, slots come back
// only once their stream is done, a failed enqueue frees the stream and keeps its slot
// until the stream is past it, and shutdown never frees memory a stream may still touch.
#ifdef BRAID_HAVE_CUDA
#include "core/cuda/staging_pool.h"
#include "core/deadline.h"
#include "core/cuda/stream_order.h"
#include "core/cuda/ticket_flag.h"
#include "scoped_env.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <numeric>
#include <thread>

namespace braid {
namespace {

// A stream: operations run in order on a thread; one that is not ready (a wait) is
// retried until it is.
class FakeStream {
 public:
  FakeStream() : runner_([this] { run(); }) {}
  ~FakeStream() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    runner_.join();
  }
  void push(std::function<bool()> op) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ops_.push_back(std::move(op));
    }
    cv_.notify_all();
  }
  // Bounded: a test that fails must not hang.
  bool drained(std::chrono::milliseconds within = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, within, [&] { return ops_.empty() && !busy_; });
  }
  std::size_t pending() {
    std::lock_guard<std::mutex> lock(mutex_);
    return ops_.size();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !ops_.empty(); });
      if (ops_.empty()) return;
      busy_ = true;
      auto op = ops_.front();
      lock.unlock();
      const bool done = op();
      if (!done) std::this_thread::sleep_for(std::chrono::microseconds(50));  // a GPU re-reads the word
      lock.lock();
      busy_ = false;
      if (done) ops_.pop_front();
      cv_.notify_all();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<bool()>> ops_;
  bool busy_ = false, stop_ = false;
  std::thread runner_;
};

struct FakeEvent {
  std::atomic<int> pending{0};
};

// What the fakes count and inject.
struct Fake {
  std::atomic<int> copies{0}, failCopyNumber{-1}, allocs{0}, frees{0};
} fake;

FakeStream& streamOf(CUstream s) { return *reinterpret_cast<FakeStream*>(s); }

CUresult fakeCopy(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream s) {
  if (++fake.copies == fake.failCopyNumber) return CUDA_ERROR_ILLEGAL_ADDRESS;
  streamOf(s).push([=] {
    std::memcpy(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), bytes);
    return true;
  });
  return CUDA_SUCCESS;
}
CUresult fakeHostFunc(CUstream s, CUhostFn fn, void* data) {
  streamOf(s).push([=] {
    fn(data);
    return true;
  });
  return CUDA_SUCCESS;
}
CUresult fakeWait(CUstream s, CUdeviceptr addr, cuuint32_t value, unsigned int) {
  streamOf(s).push([=] {
    auto now = std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(addr)).load();
    return static_cast<std::int32_t>(now - value) >= 0;  // CUDA's cyclic >=
  });
  return CUDA_SUCCESS;
}
CUresult fakeRecord(CUevent e, CUstream s) {
  auto* ev = reinterpret_cast<FakeEvent*>(e);
  ++ev->pending;
  streamOf(s).push([ev] {
    --ev->pending;
    return true;
  });
  return CUDA_SUCCESS;
}
CUresult fakeQuery(CUevent e) { return reinterpret_cast<FakeEvent*>(e)->pending ? CUDA_ERROR_NOT_READY : CUDA_SUCCESS; }
CUresult fakeEventCreate(CUevent* e, unsigned int) {
  *e = reinterpret_cast<CUevent>(new FakeEvent);
  return CUDA_SUCCESS;
}
CUresult fakeEventDestroy(CUevent e) {
  delete reinterpret_cast<FakeEvent*>(e);
  return CUDA_SUCCESS;
}
CUresult fakeHostAlloc(void** p, size_t bytes, unsigned int) {
  ++fake.allocs;
  *p = std::malloc(bytes);
  return CUDA_SUCCESS;
}
CUresult fakeFreeHost(void* p) {
  ++fake.frees;
  std::free(p);
  return CUDA_SUCCESS;
}
CUresult fakeErrorName(CUresult, const char** s) {
  *s = "CUDA_ERROR_ILLEGAL_ADDRESS";
  return CUDA_SUCCESS;
}

cuda::Driver fakeDriver() {
  cuda::Driver d;
  d.cuMemcpyAsync = fakeCopy;
  d.cuLaunchHostFunc = fakeHostFunc;
  d.cuStreamWaitValue32 = fakeWait;
  d.cuEventRecord = fakeRecord;
  d.cuEventQuery = fakeQuery;
  d.cuEventCreate = fakeEventCreate;
  d.cuEventDestroy = fakeEventDestroy;
  d.cuMemHostAlloc = fakeHostAlloc;
  d.cuMemFreeHost = fakeFreeHost;
  d.cuGetErrorName = fakeErrorName;
  return d;
}

struct StagedFixture : ::testing::Test {
  void SetUp() override { fake.failCopyNumber = -1; }
  cuda::Driver driver = fakeDriver();
  std::uint32_t word = 0;
  TicketFlag flag{&word};
  StagingPool pool{driver, 3, /*onDevice=*/false};
  FakeStream stream;
  CUstream handle() { return reinterpret_cast<CUstream>(&stream); }
  CUdeviceptr wordAddress() { return reinterpret_cast<CUdeviceptr>(&word); }

  // An out-of-place all-reduce of `n` ints between two user buffers.
  std::unique_ptr<StagedBatch> stage(std::vector<int>& send, std::vector<int>& recv, StagingSlot** slotOut = nullptr) {
    std::vector<StagedRegion> regions;
    addCollectiveRegions(regions, Collective::AllReduce, send.data(), recv.data(), send.size(), sizeof(int), 0, 1, 0);
    StagingSlot& slot = pool.acquire(layOut(regions), "allReduce");
    if (slotOut) *slotOut = &slot;
    return enqueueStaged(driver, handle(), slot, flag, wordAddress(), regions, {}, 3, "allReduce");
  }
  ~StagedFixture() override {
    flag.releaseAll();
    EXPECT_TRUE(stream.drained());
    pool.release(Deadline(std::chrono::seconds(5)));
  }
};

TEST_F(StagedFixture, TheStreamHoldsUntilTheWorkerReleasesItsTicket) {
  std::vector<int> send(1000), recv(1000, -1);
  std::iota(send.begin(), send.end(), 7);
  auto batch = stage(send, recv);
  std::atomic<bool> stop{false};
  batch->waitUntilStaged("allReduce", stop);  // the inputs are in staging now
  auto* in = static_cast<int*>(batch->staged[0]);
  auto* out = static_cast<int*>(batch->staged[1]);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(in[i], i + 7);
  for (int i = 0; i < 1000; ++i) out[i] = 2 * in[i];  // the worker's collective
  EXPECT_EQ(recv[0], -1) << "copied back before the ticket was released";
  EXPECT_GT(stream.pending(), 0u) << "the stream went past its wait";
  batch.reset();
  ASSERT_TRUE(stream.drained());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(recv[i], 2 * (i + 7)) << i;
}

TEST_F(StagedFixture, PiecesOverlapTheStreamsCopiesWithTheWorker) {
  const std::size_t n = 3000;
  std::vector<int> send(n), recv(n, -1), sent(10, 4), got(10, -1);
  std::iota(send.begin(), send.end(), 1);
  std::vector<StagedRegion> regions;
  addCollectiveRegions(regions, Collective::AllReduce, send.data(), recv.data(), n, sizeof(int), 0, 1, 0);
  // A group's send and receive are staged whole: in with the first piece, out with the last.
  const int sendOp = addPointToPointRegion(regions, true, sent.data(), sizeof(int) * sent.size());
  const int recvOp = addPointToPointRegion(regions, false, got.data(), sizeof(int) * got.size());
  StagingSlot& slot = pool.acquire(layOut(regions), "allReduce");
  const std::vector<StagedPiece> pieces = {{0, 4096}, {4096, 4096}, {8192, n * sizeof(int) - 8192}};
  auto batch = enqueueStaged(driver, handle(), slot, flag, wordAddress(), regions, pieces, 3, "allReduce");
  ASSERT_EQ(batch->pieces, pieces);
  std::atomic<bool> stop{false};
  // Every piece's inputs come in before the worker has finished any piece.
  batch->waitUntilStaged("allReduce", stop, 2);
  EXPECT_EQ(static_cast<const int*>(batch->staged[static_cast<std::size_t>(sendOp)])[9], 4);
  auto* in = static_cast<const int*>(batch->staged[0]);
  auto* out = static_cast<int*>(batch->staged[1]);
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(in[i], static_cast<int>(i) + 1) << i;
  const auto piece = [&](std::size_t k) {  // the worker's collective on piece k
    for (std::size_t i = pieces[k].firstByte / 4; i < (pieces[k].firstByte + pieces[k].bytes) / 4; ++i) out[i] = 3 * in[i];
  };
  piece(0);
  batch->release(0);
  // Piece 0 goes back while piece 1 is still the worker's: the stream copies it, then
  // stops at piece 1's wait, with that wait, its copy, piece 2's wait and copies (the
  // collective's and the receive's) and the event left.
  const Deadline deadline(std::chrono::seconds(10));
  while (stream.pending() != 6 && !deadline.expired()) std::this_thread::yield();
  ASSERT_EQ(stream.pending(), 6u);
  for (std::size_t i = 0; i < 1024; ++i) ASSERT_EQ(recv[i], 3 * (static_cast<int>(i) + 1)) << i;
  EXPECT_EQ(recv[1024], -1) << "piece 1 was copied back before the worker released it";
  piece(1);
  piece(2);
  static_cast<int*>(batch->staged[static_cast<std::size_t>(recvOp)])[9] = 7;  // the group's receive
  batch->release(1);
  batch.reset();  // releases piece 2
  ASSERT_TRUE(stream.drained());
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(recv[i], 3 * (static_cast<int>(i) + 1)) << i;
  EXPECT_EQ(got[9], 7);
}

TEST_F(StagedFixture, PiecesThatDoNotFitARegionAreRefusedBeforeAnythingIsEnqueued) {
  std::vector<int> a(64, 1), b(64);
  std::vector<StagedRegion> regions;
  addCollectiveRegions(regions, Collective::AllReduce, a.data(), b.data(), 64, sizeof(int), 0, 1, 0);
  StagingSlot& slot = pool.acquire(layOut(regions), "allReduce");
  const int copies = fake.copies;
  const std::vector<StagedPiece> tooLong = {{0, 128}, {128, 256}};
  EXPECT_THROW(enqueueStaged(driver, handle(), slot, flag, wordAddress(), regions, tooLong, 3, "allReduce"), Error);
  EXPECT_EQ(fake.copies, copies);
  EXPECT_EQ(stream.pending(), 0u);
}

TEST_F(StagedFixture, SlotsComeBackOnlyWhenTheirStreamIsDone) {
  std::vector<int> a(100, 1), b(100), c(100, 2), d(100);
  StagingSlot* first = nullptr;
  StagingSlot* second = nullptr;
  auto held = stage(a, b, &first);
  auto next = stage(c, d, &second);
  EXPECT_NE(first, second) << "a slot its stream still uses was handed out again";
  std::atomic<bool> stop{false};
  held->waitUntilStaged("first", stop);
  held.reset();
  next->waitUntilStaged("second", stop);
  next.reset();
  ASSERT_TRUE(stream.drained());
  const int allocated = fake.allocs;
  StagingSlot* again = nullptr;
  auto third = stage(a, b, &again);
  EXPECT_TRUE(again == first || again == second);
  EXPECT_EQ(fake.allocs, allocated) << "a free slot was not reused";
  third.reset();
  ASSERT_TRUE(stream.drained());  // the user's buffers outlive what the stream copies
}

TEST_F(StagedFixture, AFailedEnqueueReleasesItsTicketAndKeepsItsSlotUntilTheStreamIsPast) {
  std::vector<int> a(64, 1), b(64), c(64, 5), d(64);
  auto earlier = stage(a, b);  // a call already on the stream, not yet released
  fake.failCopyNumber = fake.copies + 2;  // the next call's second copy (its copy back) fails
  std::vector<StagedRegion> regions;
  addCollectiveRegions(regions, Collective::AllGather, c.data(), d.data(), 32, sizeof(int), 0, 2, 0);
  StagingSlot& broken = pool.acquire(layOut(regions), "allGather");
  try {
    enqueueStaged(driver, handle(), broken, flag, wordAddress(), regions, {}, 3, "allGather");
    FAIL() << "the failed copy was not reported";
  } catch (const SystemError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 3: allGather"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("CUDA_ERROR_ILLEGAL_ADDRESS"), std::string::npos) << e.what();
  }
  EXPECT_EQ(word, 0u) << "the failed call let the earlier call's stream go on";
  EXPECT_FALSE(broken.poisoned) << "the stream could still mark where the failed call ends";
  StagingSlot* meanwhile = nullptr;
  auto other = stage(c, d, &meanwhile);
  EXPECT_NE(meanwhile, &broken) << "a slot the stream may still copy into was handed out again";
  earlier.reset();  // the earlier call ends: the word passes both of its successors' tickets
  EXPECT_EQ(word, 2u);
  other.reset();
  EXPECT_EQ(word, 3u);
  ASSERT_TRUE(stream.drained());
}

TEST_F(StagedFixture, WaitingForTheStreamEndsAtTheDeadlineOrOnStop) {
  testing::ScopedEnv timeout("BRAID_TIMEOUT", "200ms");
  std::atomic<bool> gateOpen{false}, stop{false};
  fakeHostFunc(handle(), [](void* g) {
    while (!static_cast<std::atomic<bool>*>(g)->load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }, &gateOpen);  // work before the call that does not finish
  std::vector<int> a(16, 1), b(16);
  auto batch = stage(a, b);
  EXPECT_THROW(batch->waitUntilStaged("allReduce", stop), TimeoutError);
  stop = true;
  EXPECT_THROW(batch->waitUntilStaged("allReduce", stop), AbortedError);
  // Shutdown meanwhile: the stream still holds the slot, so nothing is freed.
  const int freed = fake.frees;
  EXPECT_GT(pool.release(Deadline(std::chrono::milliseconds(20))), 0u);
  EXPECT_EQ(fake.frees, freed);
  gateOpen = true;
  batch.reset();
  ASSERT_TRUE(stream.drained());
  EXPECT_EQ(pool.release(Deadline(std::chrono::seconds(5))), 0u);  // now it is free
  EXPECT_GT(fake.frees, freed);
}

// Stream handles the fake reads flags from: the two values each handle stands for.
CUresult fakeStreamFlags(CUstream s, unsigned int* flags) {
  if (s == reinterpret_cast<CUstream>(0x10)) return CUDA_ERROR_INVALID_HANDLE;
  *flags = s == reinterpret_cast<CUstream>(0x20) ? CU_STREAM_NON_BLOCKING : CU_STREAM_DEFAULT;
  return CUDA_SUCCESS;
}

TEST(StreamOrdering, TheDefaultStreamsAreKnownByTheirHandlesAndOthersByTheirFlags) {
  cuda::Driver d = fakeDriver();
  d.cuStreamGetFlags = fakeStreamFlags;
  EXPECT_EQ(orderingOf(d, nullptr, 0, "allReduce"), StreamOrdering::Legacy);
  EXPECT_EQ(orderingOf(d, CU_STREAM_LEGACY, 0, "allReduce"), StreamOrdering::Legacy);
  EXPECT_EQ(orderingOf(d, CU_STREAM_PER_THREAD, 0, "allReduce"), StreamOrdering::Blocking);
  EXPECT_EQ(orderingOf(d, reinterpret_cast<CUstream>(0x30), 0, "allReduce"), StreamOrdering::Blocking);
  EXPECT_EQ(orderingOf(d, reinterpret_cast<CUstream>(0x20), 0, "allReduce"), StreamOrdering::NonBlocking);
  try {
    orderingOf(d, reinterpret_cast<CUstream>(0x10), 5, "broadcast");
    ADD_FAILURE() << "a stream whose flags CUDA cannot read was classified";
  } catch (const SystemError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("rank 5"), std::string::npos) << what;
    EXPECT_NE(what.find("broadcast"), std::string::npos) << what;
    EXPECT_NE(what.find("cuStreamGetFlags"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace braid
#endif
