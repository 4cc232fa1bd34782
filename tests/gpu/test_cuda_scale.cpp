// finishAvgOnDevice and preMultiplyOnDevice against the CPU's finishAvg and preMultiply
// on the same bytes: every type, divisors and scalars at the edges, every offset.
#include <gtest/gtest.h>

#include <braid/types.h>

#include <cstdio>
#include <cstring>
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
constexpr std::size_t kLargeCount = 1000003;
constexpr std::size_t kSmallCounts[] = {0, 1, 7, 15, 16, 17, 67};

// Small divisors, the 32-bit boundary (where the device switches division width), and
// divisors that float32 and float64 cannot hold exactly.
constexpr std::uint64_t kDivisors[] = {1,           2,           3,           7,           8,
                                       1000,        65536,       0x7FFFFFFF,  0x80000000,  0xFFFFFFFF,
                                       0x100000000, 0x100000001, (1ull << 53) + 1, 1ull << 63, ~0ull};

struct TypeParam {
  DataType type;
};
// The value gtest prints, and so the one in ctest's names.
void PrintTo(const TypeParam& p, std::ostream* os) { *os << toString(p.type); }

std::vector<TypeParam> allTypes() {
  std::vector<TypeParam> all;
  for (DataType t : kTypes) all.push_back({t});
  return all;
}

std::string typeName(const testing::TestParamInfo<TypeParam>& info) { return std::string(toString(info.param.type)); }

class DeviceScale : public testing::TestWithParam<TypeParam> {
 protected:
  void SetUp() override { BRAID_SKIP_WITHOUT_GPU(); }
};

TEST_P(DeviceScale, FinishAvgMatchesCpu) {
  const DataType type = GetParam().type;
  const Inputs small = makeInputs(type, 67, 100 + static_cast<int>(type));
  const Inputs large = makeInputs(type, kLargeCount, 200 + static_cast<int>(type));
  std::vector<Case> smallCases;
  for (std::size_t count : kSmallCounts) {
    const auto more = inPlaceCases(count);
    smallCases.insert(smallCases.end(), more.begin(), more.end());
  }
  const std::vector<Case> largeCases{{kLargeCount, 0, 0, 0, Alias::DstIsA}, {kLargeCount, 3, 3, 0, Alias::DstIsA}};
  for (std::uint64_t divisor : kDivisors) {
    const DeviceCall device = [=](void* dst, const void*, const void*, std::size_t count, cudaStream_t stream) {
      reduce::finishAvgOnDevice(dst, count, type, divisor, stream);
    };
    const HostReference cpu = [=](void* out, const void* a, const void*, std::size_t count) {
      std::memcpy(out, a, count * sizeOf(type));
      reduce::finishAvg(out, count, type, divisor);
    };
    const std::string label = std::string(toString(type)) + " / " + std::to_string(divisor);
    runCases(type, small, smallCases, device, cpu, label);
    if (divisor == 3 || divisor == 0x100000001 || divisor == ~0ull) runCases(type, large, largeCases, device, cpu, label);
  }
}

TEST_P(DeviceScale, PreMultiplyMatchesCpu) {
  const DataType type = GetParam().type;
  const Inputs small = makeInputs(type, 67, 300 + static_cast<int>(type));
  const Inputs large = makeInputs(type, kLargeCount, 400 + static_cast<int>(type));
  std::vector<Case> smallCases;
  for (std::size_t count : kSmallCounts) {
    const auto more = count == 67 ? pairSweep(count) : pairSample(count);
    smallCases.insert(smallCases.end(), more.begin(), more.end());
  }
  const std::vector<Case> largeCases{{kLargeCount, 0, 0, 0}, {kLargeCount, 8, 8, 0}, {kLargeCount, 1, 6, 0},
                                     {kLargeCount, 4, 4, 0, Alias::DstIsA}};
  const auto scalars = scalarValues(type);
  for (std::size_t s = 0; s < scalars.size(); ++s) {
    const std::uint64_t scalar = scalars[s];  // little-endian: its first bytes are the value
    const DeviceCall device = [=](void* dst, const void* a, const void*, std::size_t count, cudaStream_t stream) {
      reduce::preMultiplyOnDevice(dst, a, count, type, &scalar, stream);
    };
    const HostReference cpu = [=](void* out, const void* a, const void*, std::size_t count) {
      reduce::preMultiply(out, a, count, type, &scalar);
    };
    char hex[24];
    std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(scalar));
    const std::string label = std::string(toString(type)) + " * " + hex;
    runCases(type, small, smallCases, device, cpu, label);
    if (s < 3) runCases(type, large, largeCases, device, cpu, label);
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, DeviceScale, testing::ValuesIn(allTypes()), typeName);

}  // namespace
}  // namespace braid::gpu_test
