#include "reference.h"

#include <cstdio>
#include <cstdlib>

namespace dropin {
namespace {

// Wide types get large magnitudes so that their upper bytes are exercised too.
uint64_t magnitudeScale(const TypeInfo& type) {
  if (type.size == 8) return uint64_t{1} << 40;
  if (type.size == 4) return uint64_t{1} << 20;
  return 1;
}

// Two small patterns over (rank, index): 0..2, and 0..6. For a fixed index, ranks
// 0, 1 and 2 get three different values of the first.
int smallOf3(int rank, size_t index) { return static_cast<int>((rank + 2 * index) % 3); }
int smallOf7(int rank, size_t index) { return static_cast<int>((5 * rank + 3 * index) % 7); }

uint64_t largestOf(const TypeInfo& type) {
  const int bits = static_cast<int>(8 * type.size);
  return type.kind == Kind::SignedInt ? (uint64_t{1} << (bits - 1)) - 1
                                      : (bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1);
}

Scalar integerInput(const TypeInfo& type, Op op, int rank, size_t index) {
  const bool isSigned = type.kind == Kind::SignedInt;
  const uint64_t scale = magnitudeScale(type);
  switch (op) {
    case Op::Sum:
    case Op::Avg:  // near the maximum, so the sum wraps
      return fromInteger(type, largestOf(type) - static_cast<uint64_t>(smallOf3(rank, index)) * scale);
    case Op::Prod: {
      static const int64_t signedFactors[] = {1, -2, 3};
      static const int64_t unsignedFactors[] = {1, 2, 3};
      const int64_t factor = (isSigned ? signedFactors : unsignedFactors)[smallOf3(rank, index)];
      return fromInteger(type, static_cast<uint64_t>(factor));
    }
    case Op::Max:
    case Op::Min: {
      const int64_t v = isSigned ? smallOf7(rank, index) - 3 : smallOf7(rank, index);
      return fromInteger(type, static_cast<uint64_t>(v) * scale);
    }
    case Op::PreMulSum: {
      const int64_t v = isSigned ? smallOf3(rank, index) - 1 : smallOf3(rank, index);
      return fromInteger(type, static_cast<uint64_t>(v) * scale);
    }
  }
  std::abort();
}

double floatingInput(const TypeInfo& type, Op op, int rank, size_t index, int nranks) {
  const double scale = static_cast<double>(magnitudeScale(type));
  switch (op) {
    case Op::Sum:
    case Op::PreMulSum:
      return (smallOf3(rank, index) - 1) * scale;
    case Op::Avg:
      return nranks * (smallOf3(rank, index) - 1) * scale;
    case Op::Prod: {
      static const double factors[] = {1, 2, -1};
      return factors[smallOf3(rank, index)];
    }
    case Op::Max:
    case Op::Min:
      return (smallOf7(rank, index) - 3) * scale;
  }
  std::abort();
}

bool lessThan(const TypeInfo& type, Scalar a, Scalar b) {
  if (type.kind == Kind::SignedInt) return asSigned(type, a) < asSigned(type, b);
  if (type.kind == Kind::UnsignedInt) return asUnsigned(type, a) < asUnsigned(type, b);
  return a.real < b.real;
}

}  // namespace

const std::vector<Op>& allOps() {
  static const std::vector<Op> ops = {Op::Sum, Op::Prod, Op::Max, Op::Min, Op::Avg, Op::PreMulSum};
  return ops;
}

const char* opName(Op op) {
  static const char* const names[] = {"sum", "prod", "max", "min", "avg", "premulsum"};
  return names[static_cast<int>(op)];
}

ncclRedOp_t builtinOp(Op op) {
  switch (op) {
    case Op::Sum: return ncclSum;
    case Op::Prod: return ncclProd;
    case Op::Max: return ncclMax;
    case Op::Min: return ncclMin;
    case Op::Avg: return ncclAvg;
    case Op::PreMulSum: break;
  }
  std::fprintf(stderr, "drop-in test bug: premulsum has no built-in op\n");
  std::abort();
}

Scalar reductionInput(const TypeInfo& type, Op op, int rank, size_t index, int nranks) {
  if (type.kind == Kind::Floating) return fromReal(type, floatingInput(type, op, rank, index, nranks));
  return integerInput(type, op, rank, index);
}

Scalar preMulScalar(const TypeInfo& type, int rank) {
  const int factor = 1 + rank % 2;
  return type.kind == Kind::Floating ? fromReal(type, factor) : fromInteger(type, static_cast<uint64_t>(factor));
}

Scalar reductionExpected(const TypeInfo& type, Op op, size_t index, int nranks) {
  if (type.kind == Kind::Floating) {
    double result = floatingInput(type, op, 0, index, nranks) * (op == Op::PreMulSum ? preMulScalar(type, 0).real : 1);
    for (int rank = 1; rank < nranks; ++rank) {
      const double x = floatingInput(type, op, rank, index, nranks);
      switch (op) {
        case Op::Sum: case Op::Avg: result += x; break;
        case Op::Prod: result *= x; break;
        case Op::Max: result = x > result ? x : result; break;
        case Op::Min: result = x < result ? x : result; break;
        case Op::PreMulSum: result += x * preMulScalar(type, rank).real; break;
      }
    }
    if (op == Op::Avg) result /= nranks;  // exact: the inputs are multiples of nranks
    return fromReal(type, result);
  }
  // Integers: two's-complement arithmetic modulo 2^64 keeps the low bits right for
  // every narrower width; fromInteger truncates at the end.
  Scalar result = integerInput(type, op, 0, index);
  uint64_t acc = type.kind == Kind::SignedInt ? static_cast<uint64_t>(asSigned(type, result)) : result.bits;
  if (op == Op::PreMulSum) acc *= preMulScalar(type, 0).bits;
  for (int rank = 1; rank < nranks; ++rank) {
    const Scalar x = integerInput(type, op, rank, index);
    const uint64_t wide = type.kind == Kind::SignedInt ? static_cast<uint64_t>(asSigned(type, x)) : x.bits;
    switch (op) {
      case Op::Sum: case Op::Avg: acc += wide; break;
      case Op::Prod: acc *= wide; break;
      case Op::Max: if (lessThan(type, fromInteger(type, acc), x)) acc = wide; break;
      case Op::Min: if (lessThan(type, x, fromInteger(type, acc))) acc = wide; break;
      case Op::PreMulSum: acc += wide * preMulScalar(type, rank).bits; break;
    }
  }
  result = fromInteger(type, acc);
  if (op == Op::Avg) {
    // NCCL: the sum wraps in the type first, then T(sum / nranks) truncating toward zero.
    if (type.kind == Kind::SignedInt)
      result = fromInteger(type, static_cast<uint64_t>(asSigned(type, result) / nranks));
    else
      result = fromInteger(type, asUnsigned(type, result) / static_cast<uint64_t>(nranks));
  }
  return result;
}

unsigned char patternByte(int rank, size_t byteIndex) {
  // Values 0..250: never 0xFF, the fill byte of receive buffers.
  return static_cast<unsigned char>((static_cast<size_t>(rank) * 67 + byteIndex * 13 + 1) % 251);
}

}  // namespace dropin
