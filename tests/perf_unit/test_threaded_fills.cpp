// The check's fills split large buffers over threads (setFillThreads): each element must
// come out bit for bit as one thread writes it, whatever the split, at chunk edges too.
#include "common/data.h"

#include <gtest/gtest.h>

#include <braid/types.h>

#include <cstddef>
#include <vector>

namespace {

using braid::DataType;
using braid::ReduceOp;

// Three chunks of 1 Mi elements and an odd tail, so the last chunk is short.
constexpr std::size_t kCount = (std::size_t{3} << 20) + 7;

struct Fills {
  std::vector<unsigned char> input, expected, pattern, complement;
};

Fills fillAll(const perf::DataSpec& spec, int threads) {
  perf::setFillThreads(threads);
  const std::size_t bytes = kCount * braid::sizeOf(spec.type);
  Fills f{std::vector<unsigned char>(bytes), std::vector<unsigned char>(bytes), std::vector<unsigned char>(bytes),
          std::vector<unsigned char>(bytes)};
  perf::fillReduceInput(spec, 2, 5, kCount, f.input.data());  // a rank and a first index other than 0
  perf::fillReduceExpected(spec, 5, kCount, f.expected.data());
  perf::fillPattern(spec, 1, 5, kCount, f.pattern.data());
  perf::fillComplement(f.expected.data(), bytes, f.complement.data());
  perf::setFillThreads(1);
  return f;
}

TEST(ThreadedFills, GiveTheBitsOneThreadGives) {
  for (DataType type : {DataType::Int8, DataType::Float16, DataType::Float32, DataType::Uint64}) {
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Max}) {
      const perf::DataSpec spec{type, op, 4, 0x5eedULL};
      const Fills one = fillAll(spec, 1);
      const Fills many = fillAll(spec, 3);
      const std::string what = std::string(braid::toString(type)) + " op " + std::to_string(static_cast<int>(op));
      EXPECT_TRUE(one.input == many.input) << what;
      EXPECT_TRUE(one.expected == many.expected) << what;
      EXPECT_TRUE(one.pattern == many.pattern) << what;
      EXPECT_TRUE(one.complement == many.complement) << what;
      // And the result is a check: every complemented byte differs from its source.
      for (std::size_t i = 0; i < one.expected.size(); i += 4099)
        ASSERT_NE(one.expected[i], many.complement[i]) << what << " byte " << i;
    }
  }
}

}  // namespace
