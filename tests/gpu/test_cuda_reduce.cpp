// reduceOnDevice against the CPU kernels (reduce::binary) on the same bytes: every type
// and op, counts 0 to 1000003, every pointer offset 0..15 for dst, a and b, aliasing.
#include <gtest/gtest.h>

#include <braid/types.h>

#include <ostream>
#include <string>
#include <vector>

#include "gpu_support.h"
#include "kernel_cases.h"
#include "reduce/cuda/device_reduce.h"
#include "reduce/reduce.h"

namespace braid::gpu_test {
namespace {

constexpr DataType kTypes[] = {
    DataType::Int8,    DataType::Uint8,    DataType::Int32,      DataType::Uint32,
    DataType::Int64,   DataType::Uint64,   DataType::Float16,    DataType::Float32,
    DataType::Float64, DataType::Bfloat16, DataType::Float8E4M3, DataType::Float8E5M2};
constexpr ReduceOp kOps[] = {ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Max,
                             ReduceOp::Min, ReduceOp::Avg,  ReduceOp::PreMulSum};
constexpr std::size_t kLargeCount = 1000003;

struct TypeOp {
  DataType type;
  ReduceOp op;
};
// The value gtest prints, and so the one in ctest's names.
void PrintTo(const TypeOp& p, std::ostream* os) { *os << toString(p.type) << " " << toString(p.op); }

std::vector<TypeOp> allTypeOps() {
  std::vector<TypeOp> all;
  for (DataType t : kTypes)
    for (ReduceOp op : kOps) all.push_back({t, op});
  return all;
}

std::string paramName(const testing::TestParamInfo<TypeOp>& info) {
  return std::string(toString(info.param.type)) + "_" + std::string(toString(info.param.op));
}

DeviceCall reduceCall(DataType type, ReduceOp op) {
  return [=](void* dst, const void* a, const void* b, std::size_t count, cudaStream_t stream) {
    reduce::reduceOnDevice(dst, a, b, count, type, op, stream);
  };
}

HostReference cpuReduce(DataType type, ReduceOp op) {
  const reduce::BinaryFn fn = reduce::binary(type, op);
  return [fn](void* out, const void* a, const void* b, std::size_t count) { fn(out, a, b, count); };
}

std::uint64_t seedFor(DataType type, ReduceOp op) {
  return 0x9E3779B97F4A7C15ull * (static_cast<std::uint64_t>(type) * 8 + static_cast<std::uint64_t>(op) + 1);
}

class DeviceReduce : public testing::TestWithParam<TypeOp> {
 protected:
  void SetUp() override { BRAID_SKIP_WITHOUT_GPU(); }
};

// Avg and PreMulSum combine as Sum, so a sample of offsets is enough for them; the four
// combining ops get every offset at two counts that have a head, packs and a tail.
TEST_P(DeviceReduce, MatchesCpuForEveryCountAndOffset) {
  const auto [type, op] = GetParam();
  const std::string label = std::string(toString(type)) + " " + std::string(toString(op));
  const bool combining = op != ReduceOp::Avg && op != ReduceOp::PreMulSum;

  std::vector<Case> cases;
  for (std::size_t count : {0, 1, 7, 15, 16, 17, 67}) {
    const auto more = combining && (count == 17 || count == 67) ? offsetSweep(count) : offsetSample(count);
    cases.insert(cases.end(), more.begin(), more.end());
  }
  runCases(type, makeInputs(type, 67, seedFor(type, op)), cases, reduceCall(type, op), cpuReduce(type, op), label);
  runCases(type, makeInputs(type, kLargeCount, seedFor(type, op) + 1), largeCases(kLargeCount), reduceCall(type, op),
           cpuReduce(type, op), label);
}

INSTANTIATE_TEST_SUITE_P(AllTypesAndOps, DeviceReduce, testing::ValuesIn(allTypeOps()), paramName);

class DeviceReduceFp8 : public DeviceReduce {};

// Every pair of fp8 codes, packed (offset 0 and 5 alike) and one element at a time.
TEST_P(DeviceReduceFp8, MatchesCpuForEveryPairOfCodes) {
  const auto [type, op] = GetParam();
  const std::vector<Case> cases{{65536, 0, 0, 0}, {65536, 5, 5, 5}, {65536, 0, 3, 9}};
  runCases(type, allFp8Pairs(), cases, reduceCall(type, op), cpuReduce(type, op),
           std::string(toString(type)) + " " + std::string(toString(op)) + " all pairs");
}

std::vector<TypeOp> fp8TypeOps() {
  std::vector<TypeOp> all;
  for (DataType t : {DataType::Float8E4M3, DataType::Float8E5M2})
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Max, ReduceOp::Min}) all.push_back({t, op});
  return all;
}

INSTANTIATE_TEST_SUITE_P(Fp8, DeviceReduceFp8, testing::ValuesIn(fp8TypeOps()), paramName);

// A null stream is the legacy default stream: work on it is ordered with cudaMemcpy.
TEST(DeviceReduceStream, NullStreamIsTheLegacyDefaultStream) {
  BRAID_SKIP_WITHOUT_GPU();
  const DataType type = DataType::Float32;
  const Inputs in = makeInputs(type, kLargeCount, 7);
  const std::size_t bytes = kLargeCount * sizeOf(type);
  DeviceBuffer a(bytes), b(bytes), dst(bytes);
  check(cudaMemcpy(a.get(), in.a.data(), bytes, cudaMemcpyHostToDevice), "upload a");
  check(cudaMemcpy(b.get(), in.b.data(), bytes, cudaMemcpyHostToDevice), "upload b");
  reduce::reduceOnDevice(dst.get(), a.get(), b.get(), kLargeCount, type, ReduceOp::Sum, nullptr);
  waitFor(nullptr, "reduce on the default stream");
  std::vector<unsigned char> got(bytes), want(bytes);
  check(cudaMemcpy(got.data(), dst.get(), bytes, cudaMemcpyDeviceToHost), "download");
  reduce::binary(type, ReduceOp::Sum)(want.data(), in.a.data(), in.b.data(), kLargeCount);
  EXPECT_EQ(0u, countMismatches(type, got.data(), want.data(), kLargeCount));
}

}  // namespace
}  // namespace braid::gpu_test
