// Achieved bandwidth of the kernels on 256 MiB buffers, beside cudaMemcpy's device to
// device rate (the bound a reduction can approach). The rates are printed and recorded
// as test properties, not held to a threshold; the results are checked on a sample.
#include <gtest/gtest.h>

#include <braid/types.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "gpu_support.h"
#include "kernel_cases.h"
#include "reduce/cuda/device_reduce.h"
#include "reduce/reduce.h"

namespace braid::gpu_test {
namespace {

constexpr std::size_t kBufferBytes = 256u << 20;
constexpr std::size_t kBlockBytes = 1u << 20;  // inputs repeat every block
constexpr int kIterations = 10;

// Seconds per call of `enqueue`, averaged over kIterations after one warm-up call.
double secondsPerCall(cudaStream_t stream, const std::function<void()>& enqueue, const std::string& what) {
  enqueue();
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  check(cudaEventRecord(start, stream), "cudaEventRecord");
  for (int i = 0; i < kIterations; ++i) enqueue();
  check(cudaEventRecord(stop, stream), "cudaEventRecord");
  waitFor(stream, what);
  float ms = 0;
  check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
  (void)cudaEventDestroy(start);
  (void)cudaEventDestroy(stop);
  return ms / 1000.0 / kIterations;
}

void report(const std::string& name, double bytesMoved, double seconds) {
  const double gbps = bytesMoved / seconds / 1e9;
  std::printf("[ bandwidth ] %-28s %8.1f GB/s\n", name.c_str(), gbps);
  testing::Test::RecordProperty(name, std::to_string(gbps));
}

TEST(DeviceBandwidth, ReportsRatesForLargeBuffers) {
  BRAID_SKIP_WITHOUT_GPU();
  Stream stream;
  DeviceBuffer a(kBufferBytes), b(kBufferBytes), dst(kBufferBytes);
  const Inputs block = makeInputs(DataType::Uint8, kBlockBytes, 99);  // any bytes: every code of every type
  check(cudaMemcpy(a.get(), block.a.data(), kBlockBytes, cudaMemcpyHostToDevice), "upload a");
  check(cudaMemcpy(b.get(), block.b.data(), kBlockBytes, cudaMemcpyHostToDevice), "upload b");
  for (std::size_t at = kBlockBytes; at < kBufferBytes; at += kBlockBytes) {
    check(cudaMemcpy(a.get() + at, a.get(), kBlockBytes, cudaMemcpyDeviceToDevice), "replicate a");
    check(cudaMemcpy(b.get() + at, b.get(), kBlockBytes, cudaMemcpyDeviceToDevice), "replicate b");
  }

  const double memcpySeconds = secondsPerCall(stream.get(), [&] {
    check(cudaMemcpyAsync(dst.get(), a.get(), kBufferBytes, cudaMemcpyDeviceToDevice, stream.get()), "cudaMemcpyAsync");
  }, "cudaMemcpyAsync");
  report("cudaMemcpy device to device", 2.0 * kBufferBytes, memcpySeconds);
  report("copyOnDevice", 2.0 * kBufferBytes, secondsPerCall(stream.get(), [&] {
    reduce::copyOnDevice(dst.get(), a.get(), kBufferBytes, stream.get());
  }, "copyOnDevice"));

  for (DataType type : {DataType::Float32, DataType::Bfloat16, DataType::Float16, DataType::Float8E4M3,
                        DataType::Int64}) {
    const std::size_t count = kBufferBytes / sizeOf(type);
    const double seconds = secondsPerCall(stream.get(), [&] {
      reduce::reduceOnDevice(dst.get(), a.get(), b.get(), count, type, ReduceOp::Sum, stream.get());
    }, "reduceOnDevice");
    report("reduceOnDevice " + std::string(toString(type)) + " sum", 3.0 * kBufferBytes, seconds);

    // The first block and the last element against the CPU (inputs repeat every block).
    std::vector<unsigned char> got(kBlockBytes), want(kBlockBytes), last(sizeOf(type));
    check(cudaMemcpy(got.data(), dst.get(), kBlockBytes, cudaMemcpyDeviceToHost), "download");
    check(cudaMemcpy(last.data(), dst.get() + kBufferBytes - last.size(), last.size(), cudaMemcpyDeviceToHost), "download");
    reduce::binary(type, ReduceOp::Sum)(want.data(), block.a.data(), block.b.data(), kBlockBytes / sizeOf(type));
    EXPECT_EQ(0u, countMismatches(type, got.data(), want.data(), kBlockBytes / sizeOf(type)))
        << toString(type) << ": first block differs";
    EXPECT_EQ(0u, countMismatches(type, last.data(), want.data() + kBlockBytes - last.size(), 1))
        << toString(type) << ": last element differs";
  }
}

}  // namespace
}  // namespace braid::gpu_test
