#include "common/values.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace perf {
namespace {

using braid::DataType;

// A binary float format narrower than float32: 1 sign bit, expBits, manBits.
// `ieee`: the all-ones exponent means infinity/NaN (float16, bfloat16, e5m2); otherwise
// only all-ones exponent and mantissa is NaN and there is no infinity (e4m3).
struct Narrow {
  int expBits;
  int manBits;
  bool ieee;
};

const Narrow* narrowFormat(DataType t) {
  static constexpr Narrow kHalf{5, 10, true}, kBf16{8, 7, true}, kE4M3{4, 3, false}, kE5M2{5, 2, true};
  switch (t) {
    case DataType::Float16: return &kHalf;
    case DataType::Bfloat16: return &kBf16;
    case DataType::Float8E4M3: return &kE4M3;
    case DataType::Float8E5M2: return &kE5M2;
    default: return nullptr;
  }
}

std::uint64_t encodeNarrow(double v, const Narrow& f) {
  const int M = f.manBits;
  const int bias = (1 << (f.expBits - 1)) - 1;
  const std::uint64_t expAllOnes = (std::uint64_t{1} << f.expBits) - 1;
  const std::uint64_t manMask = (std::uint64_t{1} << M) - 1;
  const std::uint64_t sign = std::signbit(v) ? std::uint64_t{1} << (f.expBits + M) : 0;
  const std::uint64_t nan = f.ieee ? (expAllOnes << M) | (std::uint64_t{1} << (M - 1)) : (expAllOnes << M) | manMask;
  if (std::isnan(v)) return sign | nan;
  if (std::isinf(v)) return f.ieee ? sign | (expAllOnes << M) : sign | nan;  // e4m3: inf input is NaN
  const double a = std::fabs(v);
  if (a == 0) return sign;
  int e2 = 0;
  std::frexp(a, &e2);
  int exponent = e2 - 1;  // a lies in [2^exponent, 2^(exponent+1))
  const int minExponent = 1 - bias;
  std::uint64_t bits;
  if (exponent < minExponent) {
    // Subnormal: count units of the smallest subnormal. Scaling by a power of two is
    // exact in double, and nearbyint rounds to nearest even. A carry to 2^M lands on
    // the smallest normal, whose encoding is that same integer.
    bits = static_cast<std::uint64_t>(std::nearbyint(std::ldexp(a, M - minExponent)));
  } else {
    auto mant = static_cast<std::uint64_t>(std::nearbyint(std::ldexp(a, M - exponent)));  // [2^M, 2^(M+1)]
    if (mant == (std::uint64_t{1} << (M + 1))) {
      mant >>= 1;
      ++exponent;
    }
    bits = (static_cast<std::uint64_t>(exponent + bias) << M) | (mant & manMask);
  }
  if (f.ieee) {
    if ((bits >> M) >= expAllOnes) bits = expAllOnes << M;  // overflow: infinity
  } else {
    const std::uint64_t maxFinite = (expAllOnes << M) | (manMask - 1);  // 448 for e4m3
    if (bits > maxFinite) bits = maxFinite;                              // saturates
  }
  return sign | bits;
}

double decodeNarrow(std::uint64_t bits, const Narrow& f) {
  const int M = f.manBits;
  const int bias = (1 << (f.expBits - 1)) - 1;
  const std::uint64_t expAllOnes = (std::uint64_t{1} << f.expBits) - 1;
  const std::uint64_t manMask = (std::uint64_t{1} << M) - 1;
  const bool negative = (bits >> (f.expBits + M)) & 1;
  const std::uint64_t e = (bits >> M) & expAllOnes, m = bits & manMask;
  double v;
  if (!f.ieee && e == expAllOnes && m == manMask) v = std::numeric_limits<double>::quiet_NaN();
  else if (f.ieee && e == expAllOnes) v = m ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else if (e == 0) v = std::ldexp(static_cast<double>(m), 1 - bias - M);
  else v = std::ldexp(static_cast<double>(m | (manMask + 1)), static_cast<int>(e) - bias - M);
  return negative ? -v : v;
}

std::uint64_t widthMask(std::size_t bytes) { return bytes >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * bytes)) - 1; }

}  // namespace

std::uint64_t encode(DataType type, double v) {
  if (const Narrow* f = narrowFormat(type)) return encodeNarrow(v, *f);
  if (type == DataType::Float32) {
    float x = static_cast<float>(v);
    std::uint32_t b;
    std::memcpy(&b, &x, 4);
    return b;
  }
  if (type == DataType::Float64) {
    std::uint64_t b;
    std::memcpy(&b, &v, 8);
    return b;
  }
  // Integers: through int64 for negatives, uint64 for large positives; both wrap.
  std::uint64_t b = v < 0 ? static_cast<std::uint64_t>(static_cast<std::int64_t>(v)) : static_cast<std::uint64_t>(v);
  return b & widthMask(braid::sizeOf(type));
}

double decode(DataType type, std::uint64_t bits) {
  if (const Narrow* f = narrowFormat(type)) return decodeNarrow(bits, *f);
  switch (type) {
    case DataType::Float32: {
      auto b = static_cast<std::uint32_t>(bits);
      float x;
      std::memcpy(&x, &b, 4);
      return x;
    }
    case DataType::Float64: {
      double x;
      std::memcpy(&x, &bits, 8);
      return x;
    }
    case DataType::Int8: return static_cast<std::int8_t>(bits);
    case DataType::Int32: return static_cast<std::int32_t>(bits);
    case DataType::Int64: return static_cast<double>(static_cast<std::int64_t>(bits));
    default: return static_cast<double>(bits & widthMask(braid::sizeOf(type)));
  }
}

std::uint64_t loadBits(const void* at, std::size_t elemSize) {
  std::uint64_t b = 0;
  std::memcpy(&b, at, elemSize);  // little-endian: the low bytes are the element
  return b;
}

void storeBits(void* at, std::size_t elemSize, std::uint64_t bits) { std::memcpy(at, &bits, elemSize); }

std::string describe(DataType type, std::uint64_t bits) {
  char buf[64];
  const int digits = static_cast<int>(2 * braid::sizeOf(type));
  const unsigned long long raw = bits & widthMask(braid::sizeOf(type));
  if (braid::isFloat(type)) {
    std::snprintf(buf, sizeof buf, "%.9g (0x%0*llx)", decode(type, bits), digits, raw);
  } else if (type == DataType::Int8 || type == DataType::Int32 || type == DataType::Int64) {
    // Exact, unlike a trip through double for 64-bit values.
    const unsigned shift = static_cast<unsigned>(64 - 8 * braid::sizeOf(type));
    const long long v = static_cast<long long>(raw << shift) >> shift;
    std::snprintf(buf, sizeof buf, "%lld (0x%0*llx)", v, digits, raw);
  } else {
    std::snprintf(buf, sizeof buf, "%llu (0x%0*llx)", raw, digits, raw);
  }
  return buf;
}

}  // namespace perf
