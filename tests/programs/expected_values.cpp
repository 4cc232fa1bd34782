#include "expected_values.h"

#include "reduce/convert.h"

#include <cmath>
#include <cstring>

namespace braid::testing {
namespace {

bool isSigned(DataType t) { return t == DataType::Int8 || t == DataType::Int32 || t == DataType::Int64; }
int bits(DataType t) { return static_cast<int>(sizeOf(t)) * 8; }

// Wraps an integer to the type's width, as two's complement.
std::int64_t wrap(DataType t, std::uint64_t v) {
  int b = bits(t);
  if (b < 64) v &= (std::uint64_t{1} << b) - 1;
  if (isSigned(t) && b < 64 && (v >> (b - 1)) & 1) v |= ~std::uint64_t{0} << b;
  return static_cast<std::int64_t>(v);
}

std::uint64_t mixHash(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

double preMulScalar(DataType type) { return isFloat(type) ? 2.0 : 3.0; }

double inputValue(DataType type, ReduceOp op, int rank, std::size_t i, unsigned seed) {
  i %= kPeriod;
  std::uint64_t h = mixHash((static_cast<std::uint64_t>(rank) << 40) ^ (i * 0x9e3779b97f4a7c15ULL) ^ seed);
  if (!isFloat(type)) {
    if (op == ReduceOp::Prod) return static_cast<double>(h % 3 + 1);
    // Any bit pattern: sums wrap, max/min see the full range (as values exact in a double).
    return static_cast<double>(wrap(type, h % (std::uint64_t{1} << 40)));
  }
  // Floats: products of 1s and 2s and sums of 0s and 1s stay exact even in float8.
  double v;
  switch (op) {
    case ReduceOp::Prod: v = static_cast<double>(h % 2 + 1); break;
    case ReduceOp::Max:
    case ReduceOp::Min: v = static_cast<double>(static_cast<int>(h % 17) - 8) * ((h >> 20) % 2 ? 1 : 0.5); break;
    default: v = static_cast<double>(h % 2); break;
  }
  // What the type actually holds (4.5 is not a float8 e5m2 value, for one).
  unsigned char bytes[8];
  store(type, v, bytes);
  return load(type, bytes);
}

void store(DataType type, double v, void* at) {
  switch (type) {
    case DataType::Int8: { auto x = static_cast<std::int8_t>(v); std::memcpy(at, &x, 1); break; }
    case DataType::Uint8: { auto x = static_cast<std::uint8_t>(static_cast<std::int64_t>(v)); std::memcpy(at, &x, 1); break; }
    case DataType::Int32: { auto x = static_cast<std::int32_t>(v); std::memcpy(at, &x, 4); break; }
    case DataType::Uint32: { auto x = static_cast<std::uint32_t>(static_cast<std::int64_t>(v)); std::memcpy(at, &x, 4); break; }
    case DataType::Int64: { auto x = static_cast<std::int64_t>(v); std::memcpy(at, &x, 8); break; }
    case DataType::Uint64: { auto x = static_cast<std::uint64_t>(static_cast<std::int64_t>(v)); std::memcpy(at, &x, 8); break; }
    case DataType::Float16: { auto x = convert::floatToHalf(static_cast<float>(v)); std::memcpy(at, &x, 2); break; }
    case DataType::Bfloat16: { auto x = convert::floatToBf16(static_cast<float>(v)); std::memcpy(at, &x, 2); break; }
    case DataType::Float32: { auto x = static_cast<float>(v); std::memcpy(at, &x, 4); break; }
    case DataType::Float64: std::memcpy(at, &v, 8); break;
    case DataType::Float8E4M3: { auto x = convert::floatToE4m3(static_cast<float>(v)); std::memcpy(at, &x, 1); break; }
    case DataType::Float8E5M2: { auto x = convert::floatToE5m2(static_cast<float>(v)); std::memcpy(at, &x, 1); break; }
  }
}

double load(DataType type, const void* at) {
  switch (type) {
    case DataType::Int8: { std::int8_t x; std::memcpy(&x, at, 1); return x; }
    case DataType::Uint8: { std::uint8_t x; std::memcpy(&x, at, 1); return x; }
    case DataType::Int32: { std::int32_t x; std::memcpy(&x, at, 4); return x; }
    case DataType::Uint32: { std::uint32_t x; std::memcpy(&x, at, 4); return x; }
    case DataType::Int64: { std::int64_t x; std::memcpy(&x, at, 8); return static_cast<double>(x); }
    case DataType::Uint64: { std::uint64_t x; std::memcpy(&x, at, 8); return static_cast<double>(x); }
    case DataType::Float16: { std::uint16_t x; std::memcpy(&x, at, 2); return convert::halfToFloat(x); }
    case DataType::Bfloat16: { std::uint16_t x; std::memcpy(&x, at, 2); return convert::bf16ToFloat(x); }
    case DataType::Float32: { float x; std::memcpy(&x, at, 4); return x; }
    case DataType::Float64: { double x; std::memcpy(&x, at, 8); return x; }
    case DataType::Float8E4M3: { std::uint8_t x; std::memcpy(&x, at, 1); return convert::e4m3ToFloat(x); }
    case DataType::Float8E5M2: { std::uint8_t x; std::memcpy(&x, at, 1); return convert::e5m2ToFloat(x); }
  }
  return 0;
}

void expectedReduction(DataType type, ReduceOp op, int size, std::size_t i, unsigned seed, void* out) {
  if (!isFloat(type)) {
    // Integer arithmetic in 64 bits, wrapped to the type's width after every step.
    std::uint64_t acc = 0;
    for (int r = 0; r < size; ++r) {
      auto v = static_cast<std::uint64_t>(static_cast<std::int64_t>(inputValue(type, op, r, i, seed)));
      if (op == ReduceOp::PreMulSum) v = static_cast<std::uint64_t>(wrap(type, v * 3));
      if (r == 0) { acc = v; continue; }
      std::int64_t a = wrap(type, acc), b = wrap(type, v);
      bool uns = !isSigned(type);
      switch (op) {
        case ReduceOp::Prod: acc = static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b); break;
        case ReduceOp::Max: acc = static_cast<std::uint64_t>(uns ? (static_cast<std::uint64_t>(a) > static_cast<std::uint64_t>(b) ? a : b) : std::max(a, b)); break;
        case ReduceOp::Min: acc = static_cast<std::uint64_t>(uns ? (static_cast<std::uint64_t>(a) < static_cast<std::uint64_t>(b) ? a : b) : std::min(a, b)); break;
        default: acc = static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b); break;
      }
    }
    std::int64_t w = wrap(type, acc);
    if (op == ReduceOp::Avg) {
      if (isSigned(type)) w = w / size;
      else w = static_cast<std::int64_t>(static_cast<std::uint64_t>(w) / static_cast<std::uint64_t>(size));
      if (!isSigned(type) && bits(type) == 64) {
        std::uint64_t u = static_cast<std::uint64_t>(wrap(type, acc)) / static_cast<std::uint64_t>(size);
        std::memcpy(out, &u, 8);
        return;
      }
    }
    // Store the exact bit pattern (a double cannot hold every 64-bit integer).
    std::memcpy(out, &w, sizeOf(type));  // little-endian: the low bytes are the value
    return;
  }
  double acc = 0;
  for (int r = 0; r < size; ++r) {
    double v = inputValue(type, op, r, i, seed);
    if (op == ReduceOp::PreMulSum) v *= preMulScalar(type);
    if (r == 0) { acc = v; continue; }
    switch (op) {
      case ReduceOp::Prod: acc *= v; break;
      case ReduceOp::Max: acc = std::max(acc, v); break;
      case ReduceOp::Min: acc = std::min(acc, v); break;
      default: acc += v; break;
    }
  }
  if (op == ReduceOp::Avg) {
    // The header's rule: the exact sum, divided once in float32 (float64 for double).
    if (type == DataType::Float64) acc = acc / size;
    else acc = static_cast<float>(acc) / static_cast<float>(size);
  }
  store(type, acc, out);
}

}  // namespace braid::testing
