// Reduction kernels on every instruction-set path the CPU has, against a scalar
// reference written here from the semantics in include/braid/types.h.
#include <gtest/gtest.h>

#include <braid/error.h>
#include <braid/types.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "reduce/convert.h"
#include "reduce/dispatch.h"
#include "reduce/reduce.h"

namespace {

using braid::DataType;
using braid::ReduceOp;
namespace cv = braid::convert;
namespace reduce = braid::reduce;

constexpr DataType kTypes[] = {
    DataType::Int8,    DataType::Uint8,   DataType::Int32,    DataType::Uint32,
    DataType::Int64,   DataType::Uint64,  DataType::Float16,  DataType::Float32,
    DataType::Float64, DataType::Bfloat16, DataType::Float8E4M3, DataType::Float8E5M2};
constexpr ReduceOp kOps[] = {ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Max,
                             ReduceOp::Min, ReduceOp::Avg,  ReduceOp::PreMulSum};

// ---- Reference arithmetic on element bit patterns (held in uint64) ----

bool isSigned(DataType t) { return t == DataType::Int8 || t == DataType::Int32 || t == DataType::Int64; }
std::uint64_t mask(DataType t) { return braid::sizeOf(t) == 8 ? ~0ull : (1ull << (8 * braid::sizeOf(t))) - 1; }

// Narrow floats as float32, and back (the conversions have their own tests).
float toFloat(DataType t, std::uint64_t v) {
  switch (t) {
    case DataType::Float16: return cv::halfToFloat(static_cast<std::uint16_t>(v));
    case DataType::Bfloat16: return cv::bf16ToFloat(static_cast<std::uint16_t>(v));
    case DataType::Float8E4M3: return cv::e4m3ToFloat(static_cast<std::uint8_t>(v));
    case DataType::Float8E5M2: return cv::e5m2ToFloat(static_cast<std::uint8_t>(v));
    default: return std::bit_cast<float>(static_cast<std::uint32_t>(v));
  }
}
std::uint64_t fromFloat(DataType t, float f) {
  switch (t) {
    case DataType::Float16: return cv::floatToHalf(f);
    case DataType::Bfloat16: return cv::floatToBf16(f);
    case DataType::Float8E4M3: return cv::floatToE4m3(f);
    case DataType::Float8E5M2: return cv::floatToE5m2(f);
    default: return std::bit_cast<std::uint32_t>(f);
  }
}

bool isNaN(DataType t, std::uint64_t v) {
  if (!braid::isFloat(t)) return false;
  if (t == DataType::Float64) return std::isnan(std::bit_cast<double>(v));
  return std::isnan(toFloat(t, v));
}

// IEEE-style maximum/minimum: NaN if either is NaN, and -0 below +0.
template <class F>
F refMaxMin(F a, F b, bool max) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<F>::quiet_NaN();
  if (a == 0 && b == 0) {
    const bool negative = max ? std::signbit(a) && std::signbit(b) : std::signbit(a) || std::signbit(b);
    return negative ? F(-0.0) : F(0.0);
  }
  return (a < b) == max ? b : a;
}

template <class F>
F refFloat(ReduceOp op, F a, F b) {
  switch (op) {
    case ReduceOp::Prod: return a * b;
    case ReduceOp::Max: return refMaxMin(a, b, true);
    case ReduceOp::Min: return refMaxMin(a, b, false);
    default: return a + b;  // Sum, Avg, PreMulSum
  }
}

std::int64_t signExtend(DataType t, std::uint64_t v) {
  const int shift = 64 - 8 * static_cast<int>(braid::sizeOf(t));
  return static_cast<std::int64_t>(v << shift) >> shift;
}

std::uint64_t refCombine(DataType t, ReduceOp op, std::uint64_t a, std::uint64_t b) {
  if (t == DataType::Float64)
    return std::bit_cast<std::uint64_t>(refFloat(op, std::bit_cast<double>(a), std::bit_cast<double>(b)));
  if (braid::isFloat(t)) return fromFloat(t, refFloat(op, toFloat(t, a), toFloat(t, b)));
  switch (op) {
    case ReduceOp::Prod: return (a * b) & mask(t);
    case ReduceOp::Max:
    case ReduceOp::Min: {
      const bool aBigger = isSigned(t) ? signExtend(t, a) > signExtend(t, b) : a > b;
      return aBigger == (op == ReduceOp::Max) ? a : b;
    }
    default: return (a + b) & mask(t);
  }
}

// ---- Test data ----

std::vector<std::uint64_t> edgeValues(DataType t) {
  switch (t) {
    case DataType::Int8: case DataType::Uint8: return {0, 1, 2, 0x7F, 0x80, 0x81, 0xFF, 0xFE};
    case DataType::Int32: case DataType::Uint32:
      return {0, 1, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF, 0x10000, 0xFFFF};
    case DataType::Int64: case DataType::Uint64:
      return {0, 1, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF, 0x100000000, 0xFFFFFFFF};
    case DataType::Float32:
      return {0x7FC00000, 0x7F800001, 0xFFC00000, 0x7F800000, 0xFF800000, 0, 0x80000000, 1, 0x807FFFFF,
              0x00800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x3F800000, 0xBF800000, 0x3F800001};
    case DataType::Float64:
      return {0x7FF8000000000000, 0x7FF0000000000001, 0x7FF0000000000000, 0xFFF0000000000000, 0,
              0x8000000000000000, 1, 0x000FFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,
              0x3FF0000000000000, 0xBFF0000000000000};
    case DataType::Float16:
      return {0x7E00, 0x7C01, 0xFE00, 0x7C00, 0xFC00, 0, 0x8000, 1, 0x83FF, 0x0400, 0x7BFF, 0xFBFF, 0x3C00, 0xBC00};
    case DataType::Bfloat16:
      return {0x7FC0, 0x7F81, 0x7F80, 0xFF80, 0, 0x8000, 1, 0x807F, 0x0080, 0x7F7F, 0xFF7F, 0x3F80};
    case DataType::Float8E4M3: return {0x7F, 0xFF, 0x7E, 0xFE, 0x7D, 0, 0x80, 1, 0x87, 0x08, 0x38, 0xB8};
    case DataType::Float8E5M2: return {0x7E, 0x7D, 0x7C, 0xFC, 0x7B, 0xFB, 0, 0x80, 1, 0x83, 0x04, 0x3C};
  }
  return {};
}

// Mostly random bit patterns (every narrow code, wrap-around for integers), one in
// four an edge value; floats also get moderate values so that sums are not all
// dominated by huge exponents.
std::vector<std::uint64_t> makeValues(DataType t, std::size_t n, std::mt19937_64& rng) {
  const auto edges = edgeValues(t);
  std::vector<std::uint64_t> v(n);
  for (auto& x : v) {
    const auto r = rng();
    if (r % 4 == 0) {
      x = edges[(r >> 8) % edges.size()];
    } else if (r % 4 == 1 && t == DataType::Float32) {
      x = std::bit_cast<std::uint32_t>(static_cast<float>(static_cast<std::int64_t>(rng() % 2001) - 1000) / 64);
    } else if (r % 4 == 1 && t == DataType::Float64) {
      x = std::bit_cast<std::uint64_t>(std::ldexp(static_cast<double>(rng() % 100000) - 50000, -10));
    } else {
      x = rng() & mask(t);
    }
  }
  return v;
}

void store(unsigned char* p, DataType t, std::size_t i, std::uint64_t v) {
  std::memcpy(p + i * braid::sizeOf(t), &v, braid::sizeOf(t));  // little-endian
}
std::uint64_t load(const unsigned char* p, DataType t, std::size_t i) {
  std::uint64_t v = 0;
  std::memcpy(&v, p + i * braid::sizeOf(t), braid::sizeOf(t));
  return v;
}

// Returns an empty string if got matches want (NaN matches any NaN), else a description.
std::string mismatch(DataType t, std::uint64_t got, std::uint64_t want) {
  if (got == want || (isNaN(t, want) && isNaN(t, got))) return {};
  char buf[96];
  std::snprintf(buf, sizeof buf, "got 0x%llx, want 0x%llx", static_cast<unsigned long long>(got),
                static_cast<unsigned long long>(want));
  return buf;
}

// ---- Instruction-set selection ----

std::vector<std::string> supportedIsas() {
  std::vector<std::string> isas{"generic"};
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
    isas.push_back("avx2");
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl"))
    isas.push_back("avx512");
#endif
  return isas;
}

// Forces BRAID_CPU_ISA for one scope and puts the previous setting back.
class ForceIsa {
 public:
  explicit ForceIsa(const std::string& isa) {
    if (const char* old = std::getenv("BRAID_CPU_ISA")) old_ = old;
    setenv("BRAID_CPU_ISA", isa.c_str(), 1);
  }
  ~ForceIsa() {
    if (old_) setenv("BRAID_CPU_ISA", old_->c_str(), 1); else unsetenv("BRAID_CPU_ISA");
    reduce::reselectIsaForTests();
  }

 private:
  std::optional<std::string> old_;
};

class Kernels : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    force_.emplace(GetParam());
    reduce::reselectIsaForTests();
    ASSERT_STREQ(reduce::isaName(), GetParam().c_str());
  }
  void TearDown() override { force_.reset(); }
  std::optional<ForceIsa> force_;
};

enum class Alias { None, DstIsA, DstIsB };

// Runs one kernel call at the given byte offsets and compares every element and the
// guard bytes around the destination. Returns false after reporting a failure.
bool checkOne(DataType t, ReduceOp op, std::size_t count, std::size_t offset, Alias alias, std::mt19937_64& rng) {
  const std::size_t size = braid::sizeOf(t), bytes = count * size, guard = 64;
  const auto a = makeValues(t, count, rng), b = makeValues(t, count, rng);
  std::vector<unsigned char> bufA(bytes + 2 * guard, 0xA5), bufB(bytes + 2 * guard, 0x5A), bufD(bytes + 2 * guard, 0xC3);
  unsigned char* pa = bufA.data() + guard + offset;
  unsigned char* pb = bufB.data() + guard + (offset * 3) % 8;  // a different misalignment
  unsigned char* pd = bufD.data() + guard + (offset * 5) % 8;
  for (std::size_t i = 0; i < count; ++i) {
    store(pa, t, i, a[i]);
    store(pb, t, i, b[i]);
  }
  unsigned char* guarded = alias == Alias::DstIsA ? pa : alias == Alias::DstIsB ? pb : pd;
  std::vector<unsigned char>& owner = alias == Alias::DstIsA ? bufA : alias == Alias::DstIsB ? bufB : bufD;
  const std::vector<unsigned char> before = owner;

  reduce::binary(t, op)(guarded, pa, pb, count);

  for (std::size_t i = 0; i < count; ++i) {
    const std::string bad = mismatch(t, load(guarded, t, i), refCombine(t, op, a[i], b[i]));
    if (!bad.empty()) {
      ADD_FAILURE() << braid::toString(t) << " " << braid::toString(op) << " count " << count << " offset "
                    << offset << " alias " << static_cast<int>(alias) << " element " << i << ": a=0x" << std::hex
                    << a[i] << " b=0x" << b[i] << ": " << bad;
      return false;
    }
  }
  const std::size_t start = static_cast<std::size_t>(guarded - owner.data());
  for (std::size_t i = 0; i < owner.size(); ++i) {
    if ((i < start || i >= start + bytes) && owner[i] != before[i]) {
      ADD_FAILURE() << braid::toString(t) << " " << braid::toString(op) << " count " << count
                    << ": wrote outside the destination at byte " << static_cast<long>(i - start);
      return false;
    }
  }
  return true;
}

TEST_P(Kernels, EveryTypeOpCountOffsetAndAlias) {
  std::mt19937_64 rng(42);
  const std::size_t counts[] = {0, 1, 3, 7, 15, 16, 17, 31, 33, 63, 65, 1000, 4099};
  // Stops at the first failure of a (type, op) so that one bug gives one report.
  auto sweep = [&](DataType t, ReduceOp op) {
    for (std::size_t count : counts)
      for (std::size_t offset : {0, 1, 3})
        for (Alias alias : {Alias::None, Alias::DstIsA, Alias::DstIsB})
          if (!checkOne(t, op, count, offset, alias, rng)) return;
  };
  for (DataType t : kTypes)
    for (ReduceOp op : kOps) sweep(t, op);
}

// Pairs chosen so that each interesting rule is certainly exercised (random data
// hits them only by chance).
TEST_P(Kernels, HandPickedPairs) {
  struct Case {
    DataType t;
    ReduceOp op;
    std::uint64_t a, b, want;
  };
  const Case cases[] = {
      {DataType::Int8, ReduceOp::Sum, 0x7F, 0x01, 0x80},               // 127 + 1 wraps to -128
      {DataType::Int8, ReduceOp::Prod, 0x80, 0xFF, 0x80},              // -128 * -1 wraps to -128
      {DataType::Int8, ReduceOp::Max, 0x80, 0x7F, 0x7F},
      {DataType::Uint8, ReduceOp::Max, 0x80, 0x7F, 0x80},
      {DataType::Int32, ReduceOp::Sum, 0x7FFFFFFF, 1, 0x80000000},
      {DataType::Uint32, ReduceOp::Min, 0xFFFFFFFF, 1, 1},
      {DataType::Int64, ReduceOp::Prod, 0x100000001, 0x100000001, 0x200000001},
      {DataType::Int64, ReduceOp::Min, 0x8000000000000000, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000},
      {DataType::Uint64, ReduceOp::Max, 0x8000000000000000, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000},
      {DataType::Float32, ReduceOp::Max, 0x80000000, 0x00000000, 0x00000000},  // max(-0, +0) = +0
      {DataType::Float32, ReduceOp::Max, 0x00000000, 0x80000000, 0x00000000},
      {DataType::Float32, ReduceOp::Min, 0x00000000, 0x80000000, 0x80000000},  // min(+0, -0) = -0
      {DataType::Float32, ReduceOp::Sum, 0x7F800000, 0xFF800000, 0x7FC00000},  // inf + -inf = NaN
      {DataType::Float32, ReduceOp::Sum, 1, 1, 2},                             // subnormals add exactly
      {DataType::Float64, ReduceOp::Min, 0x3FF0000000000000, 0x7FF8000000000000, 0x7FF8000000000000},
      {DataType::Float16, ReduceOp::Sum, 0x7BFF, 0x7BFF, 0x7C00},   // 65504 + 65504 overflows to inf
      {DataType::Float16, ReduceOp::Sum, 0x0001, 0x0001, 0x0002},   // subnormals
      {DataType::Float16, ReduceOp::Sum, 0x3C00, 0x1000, 0x3C00},   // 1 + 2^-11: tie to even
      {DataType::Bfloat16, ReduceOp::Sum, 0x3F80, 0x3B80, 0x3F80},  // 1 + 2^-8: tie to even
      {DataType::Bfloat16, ReduceOp::Max, 0x7FC0, 0x3F80, 0x7FC0},  // NaN wins
      {DataType::Float8E4M3, ReduceOp::Sum, 0x7E, 0x7E, 0x7E},      // 448 + 448 saturates
      {DataType::Float8E4M3, ReduceOp::Prod, 0xFE, 0x7E, 0xFE},     // -448 * 448 saturates to -448
      {DataType::Float8E4M3, ReduceOp::Max, 0x7F, 0x38, 0x7F},
      {DataType::Float8E5M2, ReduceOp::Sum, 0x7B, 0x7B, 0x7C},      // 57344 * 2 overflows to inf
      {DataType::Float8E5M2, ReduceOp::Min, 0x80, 0x00, 0x80},
  };
  for (const Case& c : cases) {
    for (std::size_t count : {1, 40}) {  // the tail path and the vector body
      const std::size_t size = braid::sizeOf(c.t);
      std::vector<unsigned char> a(count * size), b(count * size), d(count * size);
      for (std::size_t i = 0; i < count; ++i) {
        store(a.data(), c.t, i, c.a);
        store(b.data(), c.t, i, c.b);
      }
      reduce::binary(c.t, c.op)(d.data(), a.data(), b.data(), count);
      for (std::size_t i = 0; i < count; ++i)
        EXPECT_EQ(mismatch(c.t, load(d.data(), c.t, i), c.want), "")
            << braid::toString(c.t) << " " << braid::toString(c.op) << " 0x" << std::hex << c.a << ", 0x" << c.b;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, Kernels, testing::ValuesIn(supportedIsas()),
                         [](const testing::TestParamInfo<std::string>& p) { return p.param; });

// ---- Dispatcher ----

TEST(Dispatch, DefaultPicksTheBestIsa) {
  ForceIsa force("");  // empty counts as unset
  reduce::reselectIsaForTests();
  EXPECT_EQ(std::string(reduce::isaName()), supportedIsas().back());
}

TEST(Dispatch, UnknownIsaNameIsRejected) {
  ForceIsa force("sse9");
  EXPECT_THROW(reduce::reselectIsaForTests(), braid::InvalidArgument);
}

TEST(Dispatch, InvalidTypeOrOpThrows) {
  EXPECT_THROW(reduce::binary(static_cast<DataType>(12), ReduceOp::Sum), braid::InvalidArgument);
  EXPECT_THROW(reduce::binary(static_cast<DataType>(-1), ReduceOp::Sum), braid::InvalidArgument);
  EXPECT_THROW(reduce::binary(DataType::Float32, static_cast<ReduceOp>(6)), braid::InvalidArgument);
  for (DataType t : kTypes)
    for (ReduceOp op : kOps) EXPECT_NE(reduce::binary(t, op), nullptr);
}

// ---- Avg and PreMulSum steps ----

std::uint64_t refAvg(DataType t, std::uint64_t v, std::uint64_t d) {
  if (t == DataType::Float64) return std::bit_cast<std::uint64_t>(std::bit_cast<double>(v) / static_cast<double>(d));
  if (braid::isFloat(t)) return fromFloat(t, toFloat(t, v) / static_cast<float>(d));
  if (isSigned(t)) return static_cast<std::uint64_t>(signExtend(t, v) / static_cast<std::int64_t>(d)) & mask(t);
  return v / d;
}

TEST(FinishAvg, EveryTypeAgainstReference) {
  std::mt19937_64 rng(7);
  for (DataType t : kTypes) {
    for (std::uint64_t d : {1, 2, 3, 7, 8, 1000}) {
      const std::size_t count = 37;
      const auto v = makeValues(t, count, rng);
      std::vector<unsigned char> buf(count * braid::sizeOf(t) + 1);
      for (std::size_t i = 0; i < count; ++i) store(buf.data() + 1, t, i, v[i]);  // misaligned
      reduce::finishAvg(buf.data() + 1, count, t, d);
      for (std::size_t i = 0; i < count; ++i)
        ASSERT_EQ(mismatch(t, load(buf.data() + 1, t, i), refAvg(t, v[i], d)), "")
            << braid::toString(t) << " 0x" << std::hex << v[i] << " / " << std::dec << d;
    }
  }
}

// Large buffers take other paths: every value of the 1- and 2-byte types (a table of
// quotients), and 32-bit integers' edges (a multiply by the reciprocal), around the
// divisors where those paths stop.
TEST(FinishAvg, LargeBuffersOfEveryValueAgainstReference) {
  std::mt19937_64 rng(13);
  for (DataType t : kTypes) {
    const std::size_t elem = braid::sizeOf(t);
    if (elem == 8 || (elem == 4 && braid::isFloat(t))) continue;
    std::vector<std::uint64_t> v;
    if (elem <= 2) {
      for (std::uint64_t b = 0; b < (std::uint64_t{1} << (8 * elem)); ++b) v.push_back(b);
    } else {
      for (std::uint64_t b : {0ull, 1ull, 2ull, 0x7fffffffull, 0x80000000ull, 0x80000001ull, 0xfffffffeull, 0xffffffffull})
        v.push_back(b);
      while (v.size() < 4096) v.push_back(rng() & 0xffffffffull);
    }
    for (std::uint64_t d : {1ull, 2ull, 3ull, 7ull, 1000ull, 0x7fffffffull, 0x80000000ull, 0xffffffffull, 0x100000000ull,
                            1ull << 63}) {
      std::vector<unsigned char> buf(v.size() * elem + 1);
      for (std::size_t i = 0; i < v.size(); ++i) store(buf.data() + 1, t, i, v[i]);  // misaligned
      reduce::finishAvg(buf.data() + 1, v.size(), t, d);
      for (std::size_t i = 0; i < v.size(); ++i)
        ASSERT_EQ(mismatch(t, load(buf.data() + 1, t, i), refAvg(t, v[i], d)), "")
            << braid::toString(t) << " 0x" << std::hex << v[i] << " / 0x" << d;
    }
  }
}

TEST(FinishAvg, TruncatesTowardZeroAndDividesSignedAsSigned) {
  std::int8_t i8[] = {-7, 7, -128, 127};
  reduce::finishAvg(i8, 4, DataType::Int8, 2);
  EXPECT_EQ(i8[0], -3);
  EXPECT_EQ(i8[1], 3);
  EXPECT_EQ(i8[2], -64);
  EXPECT_EQ(i8[3], 63);
  std::uint8_t u8[] = {0xF9};  // 249, not -7
  reduce::finishAvg(u8, 1, DataType::Uint8, 2);
  EXPECT_EQ(u8[0], 124);
  std::int64_t i64[] = {INT64_MIN, INT64_MAX, -5};
  reduce::finishAvg(i64, 3, DataType::Int64, 1ull << 63);  // divisor beyond int64's range
  EXPECT_EQ(i64[0], -1);
  EXPECT_EQ(i64[1], 0);
  EXPECT_EQ(i64[2], 0);
  float f[] = {1.0f, -0.0f};
  reduce::finishAvg(f, 2, DataType::Float32, 3);
  EXPECT_EQ(f[0], 1.0f / 3.0f);
  EXPECT_TRUE(std::signbit(f[1]));
  std::uint16_t h[] = {0x3C00};  // 1.0 / 3 rounds once to half
  reduce::finishAvg(h, 1, DataType::Float16, 3);
  EXPECT_EQ(h[0], 0x3555);
  EXPECT_THROW(reduce::finishAvg(f, 2, DataType::Float32, 0), braid::InvalidArgument);
  EXPECT_THROW(reduce::finishAvg(f, 2, static_cast<DataType>(40), 2), braid::InvalidArgument);
}

TEST(PreMultiply, EveryTypeAgainstReference) {
  std::mt19937_64 rng(11);
  for (DataType t : kTypes) {
    for (std::uint64_t scalar : edgeValues(t)) {
      for (bool inPlace : {false, true}) {
        // Past preMultiply's 4 KiB block of the scalar too, ending in a partial block.
        const std::size_t size = braid::sizeOf(t), count = 2 * 4096 / size + 3;
        const auto v = makeValues(t, count, rng);
        std::vector<unsigned char> src(count * size + 3), dst(count * size + 5);
        for (std::size_t i = 0; i < count; ++i) store(src.data() + 3, t, i, v[i]);
        unsigned char* out = inPlace ? src.data() + 3 : dst.data() + 5;
        reduce::preMultiply(out, src.data() + 3, count, t, &scalar);  // scalar: little-endian low bytes
        for (std::size_t i = 0; i < count; ++i)
          ASSERT_EQ(mismatch(t, load(out, t, i), refCombine(t, ReduceOp::Prod, v[i], scalar)), "")
              << braid::toString(t) << " 0x" << std::hex << v[i] << " * 0x" << scalar;
      }
    }
  }
  float f = 1.0f;
  EXPECT_THROW(reduce::preMultiply(&f, &f, 1, static_cast<DataType>(12), &f), braid::InvalidArgument);
}

// ---- Names and Reduction ----

TEST(Types, NamesRoundTrip) {
  const char* names[] = {"int8", "uint8", "int32", "uint32", "int64", "uint64",
                         "half", "float", "double", "bfloat16", "f8e4m3", "f8e5m2"};
  for (int i = 0; i < braid::kNumDataTypes; ++i) {
    const auto t = static_cast<DataType>(i);
    EXPECT_EQ(braid::toString(t), names[i]);
    DataType back{};
    ASSERT_TRUE(braid::parse(names[i], back)) << names[i];
    EXPECT_EQ(back, t);
  }
  const char* ops[] = {"sum", "prod", "max", "min", "avg", "premulsum"};
  for (int i = 0; i < braid::kNumReduceOps; ++i) {
    const auto op = static_cast<ReduceOp>(i);
    EXPECT_EQ(braid::toString(op), ops[i]);
    ReduceOp back{};
    ASSERT_TRUE(braid::parse(ops[i], back)) << ops[i];
    EXPECT_EQ(back, op);
  }
  EXPECT_EQ(braid::toString(static_cast<DataType>(12)), "invalid");
  EXPECT_EQ(braid::toString(static_cast<ReduceOp>(-1)), "invalid");
}

TEST(Types, AliasesAndRejects) {
  const std::pair<const char*, DataType> aliases[] = {
      {"char", DataType::Int8},         {"int", DataType::Int32},         {"float16", DataType::Float16},
      {"float32", DataType::Float32},   {"float64", DataType::Float64},   {"bf16", DataType::Bfloat16},
      {"e4m3", DataType::Float8E4M3},   {"e5m2", DataType::Float8E5M2},   {"fp8_e4m3", DataType::Float8E4M3},
      {"fp8_e5m2", DataType::Float8E5M2}};
  for (const auto& [name, type] : aliases) {
    DataType t{};
    ASSERT_TRUE(braid::parse(name, t)) << name;
    EXPECT_EQ(t, type) << name;
  }
  DataType t = DataType::Uint64;
  for (const char* bad : {"Float", "FLOAT", "", "float ", "int16", "fp8"}) {
    EXPECT_FALSE(braid::parse(bad, t)) << bad;
  }
  EXPECT_EQ(t, DataType::Uint64);  // untouched on failure
  ReduceOp op = ReduceOp::Max;
  EXPECT_FALSE(braid::parse("Sum", op));
  EXPECT_FALSE(braid::parse("mean", op));
  EXPECT_EQ(op, ReduceOp::Max);
}

TEST(Types, PreMulSumScalar) {
  const double d = -2.5;
  const auto r = braid::Reduction::preMulSum(&d, DataType::Float64);
  EXPECT_EQ(r.op, ReduceOp::PreMulSum);
  EXPECT_EQ(std::memcmp(r.scalar, &d, 8), 0);
  const unsigned char bytes[8] = {0x7E, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
  const auto r8 = braid::Reduction::preMulSum(bytes, DataType::Float8E4M3);  // copies one byte only
  EXPECT_EQ(r8.scalar[0], 0x7E);
  for (int i = 1; i < 8; ++i) EXPECT_EQ(r8.scalar[i], 0) << i;
  EXPECT_THROW(braid::Reduction::preMulSum(&d, static_cast<DataType>(99)), braid::InvalidArgument);
  EXPECT_THROW(braid::Reduction::preMulSum(nullptr, DataType::Float32), braid::InvalidArgument);
}

}  // namespace
