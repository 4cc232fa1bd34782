// Stream semantics of calls on GPU memory: a call returns while its stream is still held
// and the stream sees its inputs and results in order; groups fuse on one stream; what
// cannot work is refused naming the argument and the rank; a failure or an abort never
// leaves a stream waiting; and a host-memory job creates no CUDA context.
#include "../unit/rank_threads.h"
#include "../unit/scoped_env.h"
#include "device_cases.h"

#include <cuda.h>
#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <thread>

namespace braid::gpu_test {
namespace {

using braid::testing::runRanks;
using Clock = std::chrono::steady_clock;

void expectAllOk(const std::vector<braid::testing::RankOutcome>& outcomes) {
  for (std::size_t r = 0; r < outcomes.size(); ++r)
    EXPECT_FALSE(outcomes[r].error) << "rank " << r << ": " << outcomes[r].message();
}

// Holds a stream at a point until opened (bounded, so a failing test cannot hang).
struct Gate {
  std::atomic<bool> open{false};
  static void CUDART_CB hold(void* self) {
    const auto until = Clock::now() + std::chrono::seconds(60);
    while (!static_cast<Gate*>(self)->open.load() && Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::microseconds(100));  // a host function may not call CUDA
  }
  void closeOn(cudaStream_t s) { check(cudaLaunchHostFunc(s, hold, this), "cudaLaunchHostFunc"); }
};

template <class E>
void expectError(const std::function<void()>& call, const std::vector<std::string>& words, int rank) {
  try {
    call();
    ADD_FAILURE() << "accepted; expected an error naming " << words.front();
  } catch (const E& e) {
    for (const auto& w : words) EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rank " + std::to_string(rank)), std::string::npos) << e.what();
  }
}

TEST(DeviceStreams, CallsReturnAtOnceAndFollowStreamOrder) {
  BRAID_SKIP_WITHOUT_GPU();
  for (int ranks : {2, 4}) {
    const std::size_t n = 4099;
    std::atomic<int> issued{0};
    std::vector<Gate> gates(static_cast<std::size_t>(ranks));
    std::thread opener([&] {  // opens the gates once every rank's calls have returned
      const auto until = Clock::now() + std::chrono::seconds(30);
      while (issued.load() < ranks && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      EXPECT_EQ(issued.load(), ranks) << "a call on a held stream did not return";
      for (auto& g : gates) g.open = true;
    });
    auto out = runRanks(ranks, [&](Communicator& c) {
      check(cudaSetDevice(0), "cudaSetDevice");
      Stream stream;
      DeviceBuffer in(n), sum(n), gathered(n * ranks);
      PinnedBuffer result(n * ranks);
      check(cudaMemset(in.get(), 0x77, n), "cudaMemset");  // what a too-early read would see
      c.barrier();
      cudaStream_t s = stream.get();
      gates[static_cast<std::size_t>(c.rank())].closeOn(s);
      // Written on the stream just before the call, read back just after, no host wait.
      check(cudaMemsetAsync(in.get(), c.rank() + 1, n, s), "cudaMemsetAsync");
      c.allReduce(in.get(), sum.get(), n, DataType::Uint8, ReduceOp::Sum, s);
      c.allGather(sum.get(), gathered.get(), n, DataType::Uint8, s);  // reads the all-reduce's result
      check(cudaMemcpyAsync(result.get(), gathered.get(), n * ranks, cudaMemcpyDeviceToHost, s), "download");
      ++issued;
      waitFor(s, "the stream");
      const auto expected = static_cast<unsigned char>(ranks * (ranks + 1) / 2);
      for (std::size_t i = 0; i < n * ranks; ++i) ASSERT_EQ(result.get()[i], expected) << "element " << i;
      EXPECT_FALSE(c.asyncError());
      c.barrier();
    });
    opener.join();
    expectAllOk(out);
  }
}

TEST(DeviceStreams, GroupsFuseOnOneStreamAndRefuseMixing) {
  BRAID_SKIP_WITHOUT_GPU();
  const int ranks = 3;
  const std::size_t n = 1000;
  auto out = runRanks(ranks, [&](Communicator& c) {
    check(cudaSetDevice(0), "cudaSetDevice");
    Stream stream, other;
    DeviceBuffer in(n * 4), sum(n * 4), all(n * 4 * ranks), ring(n * 4);
    PinnedBuffer up(n * 4), down(n * 4 * ranks + 2 * n * 4);
    std::vector<std::int32_t> hostIn(n, c.rank());
    c.barrier();
    cudaStream_t s = stream.get();
    for (std::size_t i = 0; i < n; ++i) reinterpret_cast<std::int32_t*>(up.get())[i] = c.rank() * 10 + 1;
    check(cudaMemcpyAsync(in.get(), up.get(), n * 4, cudaMemcpyHostToDevice, s), "upload");
    c.groupStart();
    c.allReduce(in.get(), sum.get(), n, DataType::Int32, ReduceOp::Sum, s);
    c.allGather(in.get(), all.get(), n, DataType::Int32, s);
    c.send(in.get(), n, DataType::Int32, (c.rank() + 1) % ranks, s);
    c.recv(ring.get(), n, DataType::Int32, (c.rank() + ranks - 1) % ranks, s);
    // Refused at the call, naming the argument; the group goes on without them.
    expectError<UnsupportedError>([&] { c.allReduce(in.get(), sum.get(), n, DataType::Int32, ReduceOp::Sum, other.get()); },
                                  {"'stream'", "same stream"}, c.rank());
    expectError<UnsupportedError>([&] { c.allReduce(hostIn.data(), hostIn.data(), n, DataType::Int32, ReduceOp::Sum); },
                                  {"host memory"}, c.rank());
    c.groupEnd();
    check(cudaMemcpyAsync(down.get(), sum.get(), n * 4, cudaMemcpyDeviceToHost, s), "download");
    check(cudaMemcpyAsync(down.get() + n * 4, all.get(), n * 4 * ranks, cudaMemcpyDeviceToHost, s), "download");
    check(cudaMemcpyAsync(down.get() + n * 4 * (ranks + 1), ring.get(), n * 4, cudaMemcpyDeviceToHost, s), "download");
    waitFor(s, "the stream");
    const auto* got = reinterpret_cast<const std::int32_t*>(down.get());
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(got[i], 10 * (0 + 1 + 2) + ranks) << "sum " << i;
    for (int r = 0; r < ranks; ++r)
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(got[n + r * n + i], r * 10 + 1) << "gathered block " << r;
    const int from = (c.rank() + ranks - 1) % ranks;
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(got[n * (ranks + 1) + i], from * 10 + 1) << "ring " << i;
    EXPECT_FALSE(c.asyncError());
    c.barrier();
  });
  expectAllOk(out);
}

// Managed memory in, device memory out, on the stream.
TEST(DeviceStreams, ManagedMemoryIsTakenOnAStream) {
  BRAID_SKIP_WITHOUT_GPU();
  const std::size_t n = 513;
  auto out = runRanks(2, [&](Communicator& c) {
    check(cudaSetDevice(0), "cudaSetDevice");
    Stream stream;
    cudaStream_t s = stream.get();
    DeviceBuffer device(n * 4);
    PinnedBuffer result(n * 4);
    float* managed = nullptr;
    check(cudaMallocManaged(reinterpret_cast<void**>(&managed), n * 4), "cudaMallocManaged");
    for (std::size_t i = 0; i < n; ++i) managed[i] = static_cast<float>(c.rank() + 1);
    c.barrier();
    c.allReduce(managed, device.get(), n, DataType::Float32, ReduceOp::Sum, s);
    check(cudaMemcpyAsync(result.get(), device.get(), n * 4, cudaMemcpyDeviceToHost, s), "download");
    waitFor(s, "the stream", 30);
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(reinterpret_cast<float*>(result.get())[i], 3.0f) << i;
    EXPECT_FALSE(c.asyncError());
    c.barrier();
    check(cudaFree(managed), "cudaFree");
  });
  expectAllOk(out);
}

// Pinned host memory with a stream is refused, naming the argument (a copy between it
// and the pinned staging would block the caller until the stream gets there: on an
// H100 two thread ranks deadlocked that way); without a stream it is host memory.
TEST(DeviceStreams, PinnedHostMemoryIsRefusedOnAStreamAndTakenWithout) {
  BRAID_SKIP_WITHOUT_GPU();
  const std::size_t n = 513;
  auto out = runRanks(2, [&](Communicator& c) {
    check(cudaSetDevice(0), "cudaSetDevice");
    Stream stream;
    cudaStream_t s = stream.get();
    DeviceBuffer device(n * 4);
    PinnedBuffer pinned(n * 4);
    for (std::size_t i = 0; i < n; ++i) reinterpret_cast<float*>(pinned.get())[i] = static_cast<float>(c.rank() + 1);
    c.barrier();
    expectError<InvalidArgument>([&] { c.allReduce(device.get(), pinned.get(), n, DataType::Float32, ReduceOp::Max, s); },
                                 {"'recvbuff'", "pinned"}, c.rank());
    expectError<InvalidArgument>([&] { c.allReduce(pinned.get(), device.get(), n, DataType::Float32, ReduceOp::Max, s); },
                                 {"'sendbuff'", "pinned"}, c.rank());
    c.allReduce(pinned.get(), pinned.get(), n, DataType::Float32, ReduceOp::Sum);
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(reinterpret_cast<float*>(pinned.get())[i], 3.0f) << i;
    EXPECT_FALSE(c.asyncError());
    c.barrier();
  });
  expectAllOk(out);
}

// Refused before anything is sent, naming the argument and the rank.
TEST(DeviceStreams, PageableMemoryOnAStreamIsRefusedByName) {
  BRAID_SKIP_WITHOUT_GPU();
  const std::size_t n = 513;
  auto out = runRanks(2, [&](Communicator& c) {
    check(cudaSetDevice(0), "cudaSetDevice");
    Stream stream;
    cudaStream_t s = stream.get();
    DeviceBuffer device(n * 4);
    std::vector<float> pageable(n, 1.0f);
    c.barrier();
    expectError<InvalidArgument>([&] { c.allReduce(device.get(), pageable.data(), n, DataType::Float32, ReduceOp::Sum, s); },
                                 {"'recvbuff'", "pageable"}, c.rank());
    expectError<InvalidArgument>([&] { c.allReduceAsync(device.get(), device.get(), n, DataType::Float32, ReduceOp::Sum); },
                                 {"'sendbuff'", "stream"}, c.rank());
    expectError<InvalidArgument>([&] { c.allReduce(pageable.data(), pageable.data(), n, DataType::Float32, ReduceOp::Sum, s); },
                                 {"'sendbuff'", "pageable"}, c.rank());
    EXPECT_FALSE(c.asyncError());
    c.barrier();
  });
  expectAllOk(out);
}

TEST(DeviceStreams, DeviceMemoryWithoutAStreamUsesTheDefaultStream) {
  BRAID_SKIP_WITHOUT_GPU();
  // One rank: ranks as threads cannot share the legacy default stream (the next test).
  auto out = runRanks(1, [](Communicator& c) {
    check(cudaSetDevice(0), "cudaSetDevice");
    DeviceBuffer in(4096), res(4096);
    PinnedBuffer down(4096);
    check(cudaMemsetAsync(in.get(), 3, 4096, nullptr), "cudaMemsetAsync");
    c.allReduce(in.get(), res.get(), 4096, DataType::Uint8, ReduceOp::Sum);
    check(cudaMemcpyAsync(down.get(), res.get(), 4096, cudaMemcpyDeviceToHost, nullptr), "download");
    waitFor(nullptr, "the default stream");
    for (int i = 0; i < 4096; ++i) ASSERT_EQ(down.get()[i], 3) << i;
  });
  expectAllOk(out);
}

// Thread ranks on one GPU share its legacy default stream: a second rank's call on it,
// or on a blocking stream, while the first rank's call there is unfinished, would wait
// behind it, and it waits for the second rank. The second call is refused at once,
// naming the first rank, and nothing is lost: the first rank's call completes once the
// second joins on a non-blocking stream.
TEST(DeviceStreams, ASecondThreadRankOnTheLegacyStreamIsRefusedAndLosesNothing) {
  BRAID_SKIP_WITHOUT_GPU();
  const std::size_t n = 4096;
  std::atomic<bool> firstEnqueued{false};
  auto out = runRanks(2, [&](Communicator& c) {
    check(cudaSetDevice(0), "cudaSetDevice");
    Stream own;
    DeviceBuffer in(n), res(n);
    PinnedBuffer down(n);
    check(cudaMemsetAsync(in.get(), c.rank() + 1, n, own.get()), "cudaMemsetAsync");
    // Both ranks on streams of their own first: binding and staging are set up.
    c.allReduce(in.get(), res.get(), n, DataType::Uint8, ReduceOp::Sum, own.get());
    waitFor(own.get(), "the warm-up all-reduce");
    c.barrier();
    check(cudaMemsetAsync(res.get(), 0, n, own.get()), "cudaMemsetAsync");
    waitFor(own.get(), "clearing the result");
    if (c.rank() == 0) {
      c.allReduce(in.get(), res.get(), n, DataType::Uint8, ReduceOp::Sum);  // the legacy default stream
      firstEnqueued = true;
      check(cudaMemcpyAsync(down.get(), res.get(), n, cudaMemcpyDeviceToHost, nullptr), "download");
      waitFor(nullptr, "the default stream");
    } else {
      const auto until = Clock::now() + std::chrono::seconds(60);
      while (!firstEnqueued.load() && Clock::now() < until) std::this_thread::yield();
      ASSERT_TRUE(firstEnqueued.load()) << "rank 0 did not enqueue its call";
      expectError<InvalidArgument>([&] { c.allReduce(in.get(), res.get(), n, DataType::Uint8, ReduceOp::Sum); },
                                   {"default stream (null 'stream')", "rank 0", "cudaStreamNonBlocking"}, 1);
      cudaStream_t blocking = nullptr;
      check(cudaStreamCreate(&blocking), "cudaStreamCreate");
      expectError<InvalidArgument>(
          [&] { c.allReduce(in.get(), res.get(), n, DataType::Uint8, ReduceOp::Sum, blocking); },
          {"argument 'stream' is a blocking stream", "rank 0", "the legacy default stream"}, 1);
      check(cudaStreamDestroy(blocking), "cudaStreamDestroy");
      c.allReduce(in.get(), res.get(), n, DataType::Uint8, ReduceOp::Sum, own.get());
      check(cudaMemcpyAsync(down.get(), res.get(), n, cudaMemcpyDeviceToHost, own.get()), "download");
      waitFor(own.get(), "the rank's own stream");
    }
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(down.get()[i], 3) << "rank " << c.rank() << ", byte " << i;
    EXPECT_FALSE(c.asyncError());
    c.barrier();
  });
  expectAllOk(out);
}

TEST(DeviceStreams, GraphCaptureIsRefused) {
  BRAID_SKIP_WITHOUT_GPU();
  auto out = runRanks(1, [&](Communicator& c) {
    check(cudaSetDevice(0), "cudaSetDevice");
    Stream stream;
    DeviceBuffer buf(1024);
    check(cudaStreamBeginCapture(stream.get(), cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    expectError<UnsupportedError>([&] { c.allReduce(buf.get(), buf.get(), 256, DataType::Float32, ReduceOp::Sum, stream.get()); },
                                  {"'stream'", "graph"}, c.rank());
    cudaGraph_t graph = nullptr;
    check(cudaStreamEndCapture(stream.get(), &graph), "cudaStreamEndCapture");
    if (graph) check(cudaGraphDestroy(graph), "cudaGraphDestroy");
    // The refusal sent nothing: the communicator still works on the same stream.
    check(cudaMemsetAsync(buf.get(), 0, 1024, stream.get()), "cudaMemsetAsync");
    c.allReduce(buf.get(), buf.get(), 256, DataType::Float32, ReduceOp::Sum, stream.get());
    waitFor(stream.get(), "the stream");
    EXPECT_FALSE(c.asyncError());
  });
  expectAllOk(out);
}

TEST(DeviceStreams, DeviceMemoryOfAnotherGpuIsRefused) {
  BRAID_SKIP_WITHOUT_GPU();
  int gpus = 0;
  check(cudaGetDeviceCount(&gpus), "cudaGetDeviceCount");
  if (gpus < 2) GTEST_SKIP() << "needs 2 GPUs; this machine has " << gpus;
  auto out = runRanks(1, [&](Communicator& c) {
    check(cudaSetDevice(1), "cudaSetDevice(1)");
    DeviceBuffer elsewhere(1024);
    check(cudaSetDevice(0), "cudaSetDevice(0)");
    Stream stream;
    DeviceBuffer buf(1024);
    c.allReduce(buf.get(), buf.get(), 256, DataType::Float32, ReduceOp::Sum, stream.get());  // binds GPU 0
    expectError<InvalidArgument>([&] { c.allReduce(elsewhere.get(), buf.get(), 256, DataType::Float32, ReduceOp::Sum, stream.get()); },
                                 {"'sendbuff'", "GPU 1"}, c.rank());
    waitFor(stream.get(), "the stream");
    EXPECT_FALSE(c.asyncError());
  });
  expectAllOk(out);
}

TEST(DeviceStreams, AFailureReleasesTheStreamAndSurfacesAsAsyncError) {
  BRAID_SKIP_WITHOUT_GPU();
  braid::testing::ScopedEnv timeout("BRAID_TIMEOUT", "4s");
  std::atomic<bool> issued{false}, checked{false};
  auto out = runRanks(2, [&](Communicator& c) {
    check(cudaSetDevice(0), "cudaSetDevice");
    Stream stream;
    DeviceBuffer buf(4096);
    c.barrier();
    if (c.rank() == 1) {  // never joins the call: rank 0's collective times out
      for (auto until = Clock::now() + std::chrono::seconds(60); !checked && Clock::now() < until;)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return;
    }
    const auto start = Clock::now();
    c.allReduce(buf.get(), buf.get(), 1024, DataType::Float32, ReduceOp::Sum, stream.get());
    issued = true;
    waitFor(stream.get(), "the stream of a failed call", 30);  // released, not held forever
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(20));
    auto error = c.asyncError();
    ASSERT_TRUE(error) << "the failure did not surface";
    try {
      std::rethrow_exception(error);
    } catch (const TimeoutError& e) {
      EXPECT_NE(std::string(e.what()).find("rank 1"), std::string::npos) << e.what();
    }
    expectError<TimeoutError>([&] { c.allReduce(buf.get(), buf.get(), 1024, DataType::Float32, ReduceOp::Sum, stream.get()); },
                              {"unusable"}, 0);
    checked = true;
  });
  EXPECT_TRUE(issued);
  expectAllOk(out);
}

TEST(DeviceStreams, AbortReturnsWhileTheStreamIsHeldAndReleasesIt) {
  BRAID_SKIP_WITHOUT_GPU();
  auto out = runRanks(1, [](Communicator& c) {
    check(cudaSetDevice(0), "cudaSetDevice");
    Stream stream;
    DeviceBuffer buf(4096);
    Gate gate;
    gate.closeOn(stream.get());
    c.allReduce(buf.get(), buf.get(), 1024, DataType::Float32, ReduceOp::Sum, stream.get());
    const auto start = Clock::now();
    c.abort();  // the worker is waiting for a stream that has not reached the call
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(2500));
    gate.open = true;
    waitFor(stream.get(), "the stream after abort", 30);
    expectError<AbortedError>([&] { c.allReduce(buf.get(), buf.get(), 1024, DataType::Float32, ReduceOp::Sum, stream.get()); },
                              {"abort"}, 0);
  });
  expectAllOk(out);
}

// In a fresh process: host collectives with the driver loaded (first uninitialised, then
// initialised) must leave GPU 0's primary context inactive and none current.
int hostJobCreatesNoContext() {
  void* lib = dlopen("libcuda.so.1", RTLD_NOW);
  if (!lib) return 10;
  auto init = reinterpret_cast<CUresult (*)(unsigned)>(dlsym(lib, "cuInit"));
  auto state = reinterpret_cast<CUresult (*)(CUdevice, unsigned*, int*)>(dlsym(lib, "cuDevicePrimaryCtxGetState"));
  auto current = reinterpret_cast<CUresult (*)(CUcontext*)>(dlsym(lib, "cuCtxGetCurrent"));
  auto hostCollectives = [] {
    auto outcomes = runRanks(2, [](Communicator& c) {
      std::vector<double> a(1000, 1.0), b(1000);
      c.allReduce(a.data(), b.data(), a.size(), DataType::Float64, ReduceOp::Sum);
      c.groupStart();
      c.send(a.data(), 10, DataType::Float64, 1 - c.rank());
      c.recv(b.data(), 10, DataType::Float64, 1 - c.rank());
      c.groupEnd();
    });
    for (const auto& o : outcomes)
      if (o.error) return false;
    return true;
  };
  if (!hostCollectives()) return 11;  // the driver loaded, not initialised
  if (init(0) != CUDA_SUCCESS) return 12;
  unsigned flags = 0;
  int active = 0;
  if (state(0, &flags, &active) != CUDA_SUCCESS || active) return 13;
  if (!hostCollectives()) return 14;  // initialised, no context anywhere
  CUcontext ctx = nullptr;
  if (state(0, &flags, &active) != CUDA_SUCCESS || active) return 1;
  if (current(&ctx) != CUDA_SUCCESS || ctx) return 2;
  return 0;
}

constexpr const char* kNoContextChild = "BRAID_GPU_TEST_NO_CONTEXT_CHILD";

TEST(DeviceStreams, HostJobsCreateNoCudaContext) {
  // The death test's fresh process runs this body again: it checks and exits here,
  // before anything below could initialise CUDA in it.
  if (std::getenv(kNoContextChild)) std::_Exit(hostJobCreatesNoContext());
  BRAID_SKIP_WITHOUT_GPU();
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // fork and exec: none of this process's CUDA state
  braid::testing::ScopedEnv child(kNoContextChild, "1");
  EXPECT_EXIT(std::_Exit(hostJobCreatesNoContext()), ::testing::ExitedWithCode(0), "")
      << "exit 1: a primary context became active; 2: a context became current; 1x: setup failed";
}

}  // namespace
}  // namespace braid::gpu_test
