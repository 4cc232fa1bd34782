// copyOnDevice against memcpy at every pair of offsets, and the argument checks every
// device entry point makes before it touches CUDA (these run without a GPU).
#include <gtest/gtest.h>

#include <braid/error.h>
#include <braid/types.h>

#include <cstring>
#include <vector>

#include "gpu_support.h"
#include "kernel_cases.h"
#include "reduce/cuda/device_reduce.h"

namespace braid::gpu_test {
namespace {

constexpr std::size_t kLargeBytes = 1000003;

TEST(DeviceCopy, MatchesMemcpyForEverySizeAndOffset) {
  BRAID_SKIP_WITHOUT_GPU();
  std::vector<Case> cases;
  for (std::size_t bytes : {0, 1, 7, 15, 16, 17, 67}) {
    const auto more = pairSweep(bytes);
    cases.insert(cases.end(), more.begin(), more.end());
  }
  const DeviceCall device = [](void* dst, const void* src, const void*, std::size_t bytes, cudaStream_t stream) {
    reduce::copyOnDevice(dst, src, bytes, stream);
  };
  const HostReference cpu = [](void* out, const void* src, const void*, std::size_t bytes) {
    std::memcpy(out, src, bytes);
  };
  runCases(kBytes, makeInputs(kBytes, 67, 11), cases, device, cpu, "copy");
  // Shared alignment 16, 8, 4, 2 and 1, and dst == src.
  const std::vector<Case> large{{kLargeBytes, 0, 0, 0}, {kLargeBytes, 5, 5, 0},  {kLargeBytes, 0, 8, 0},
                                {kLargeBytes, 4, 0, 0}, {kLargeBytes, 2, 12, 0}, {kLargeBytes, 3, 4, 0},
                                {kLargeBytes, 15, 1, 0}, {kLargeBytes, 7, 7, 0, Alias::DstIsA}};
  runCases(kBytes, makeInputs(kBytes, kLargeBytes, 12), large, device, cpu, "copy");
}

// Invalid arguments are refused before any CUDA call, so these need no GPU; count 0
// enqueues nothing, so it succeeds without one too.
TEST(DeviceKernelArguments, RefusedBeforeTouchingCuda) {
  unsigned char buf[16] = {};
  const auto badType = static_cast<DataType>(kNumDataTypes);
  const auto badOp = static_cast<ReduceOp>(kNumReduceOps);
  EXPECT_THROW(reduce::reduceOnDevice(buf, buf, buf, 1, badType, ReduceOp::Sum, nullptr), InvalidArgument);
  EXPECT_THROW(reduce::reduceOnDevice(buf, buf, buf, 1, DataType::Float32, badOp, nullptr), InvalidArgument);
  EXPECT_THROW(reduce::reduceOnDevice(buf, buf, buf, 0, badType, ReduceOp::Sum, nullptr), InvalidArgument);
  EXPECT_THROW(reduce::reduceOnDevice(nullptr, buf, buf, 1, DataType::Float32, ReduceOp::Sum, nullptr), InvalidArgument);
  EXPECT_THROW(reduce::reduceOnDevice(buf, buf, nullptr, 1, DataType::Float32, ReduceOp::Sum, nullptr), InvalidArgument);
  EXPECT_THROW(reduce::finishAvgOnDevice(buf, 1, DataType::Int32, 0, nullptr), InvalidArgument);
  EXPECT_THROW(reduce::finishAvgOnDevice(buf, 0, DataType::Int32, 0, nullptr), InvalidArgument);
  EXPECT_THROW(reduce::finishAvgOnDevice(buf, 1, badType, 2, nullptr), InvalidArgument);
  EXPECT_THROW(reduce::preMultiplyOnDevice(buf, buf, 1, DataType::Float16, nullptr, nullptr), InvalidArgument);
  EXPECT_THROW(reduce::preMultiplyOnDevice(buf, buf, 1, badType, buf, nullptr), InvalidArgument);
  EXPECT_THROW(reduce::copyOnDevice(nullptr, buf, 1, nullptr), InvalidArgument);

  EXPECT_NO_THROW(reduce::reduceOnDevice(nullptr, nullptr, nullptr, 0, DataType::Bfloat16, ReduceOp::Max, nullptr));
  EXPECT_NO_THROW(reduce::finishAvgOnDevice(nullptr, 0, DataType::Float64, 3, nullptr));
  EXPECT_NO_THROW(reduce::preMultiplyOnDevice(nullptr, nullptr, 0, DataType::Int8, nullptr, nullptr));
  EXPECT_NO_THROW(reduce::copyOnDevice(nullptr, nullptr, 0, nullptr));
}

}  // namespace
}  // namespace braid::gpu_test
