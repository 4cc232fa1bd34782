#pragma once
/// Data types and reduction operations. Enum values match NCCL's so that the C ABI
/// layer converts by cast.
///
/// Accumulation semantics (what every reduction promises):
/// - Integers reduce in their own width. Sum and prod wrap modulo 2^bits (signed types
///   too: no undefined behaviour). Avg is the wrapped sum divided by the rank count,
///   truncating toward zero (as C's integer division).
/// - float32 and float64 reduce in their own precision. float16, bfloat16 and both
///   float8 formats are widened to float32 for each pairwise combination and rounded
///   back to the storage type (round to nearest, ties to even) after it; so the
///   result of a float reduction depends on the order of combination, which depends
///   on the algorithm. Inputs whose partial sums are exact give exact results.
/// - Avg on floats: the sum is computed first, then divided by the rank count once.
/// - PreMulSum: each rank multiplies its own input by its scalar (in the data type's
///   precision, as above), then the products are summed.
/// - Max and min propagate NaN: if either operand is NaN the result is NaN.
/// - float8 e4m3 has no infinity: a finite result beyond +-448 saturates to +-448, and
///   an infinite input becomes NaN. float8 e5m2 follows IEEE (overflow gives infinity).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace braid {

enum class DataType : int {
  Int8 = 0,
  Uint8 = 1,
  Int32 = 2,
  Uint32 = 3,
  Int64 = 4,
  Uint64 = 5,
  Float16 = 6,
  Float32 = 7,
  Float64 = 8,
  Bfloat16 = 9,
  Float8E4M3 = 10,
  Float8E5M2 = 11,
};
inline constexpr int kNumDataTypes = 12;

enum class ReduceOp : int {
  Sum = 0,
  Prod = 1,
  Max = 2,
  Min = 3,
  Avg = 4,
  PreMulSum = 5,  ///< Sum of each rank's input times its scalar (see Reduction).
};
inline constexpr int kNumReduceOps = 6;

/// A reduction: an op plus, for PreMulSum, the scalar in the collective's data type.
struct Reduction {
  ReduceOp op = ReduceOp::Sum;
  /// Raw bytes of the scalar, stored in the data type of the collective it is used with.
  alignas(8) unsigned char scalar[8] = {};

  Reduction() = default;
  Reduction(ReduceOp o) : op(o) {}  // NOLINT: implicit, so plain ops read naturally
  /// A PreMulSum whose scalar is given as a value of `type` at `value`.
  static Reduction preMulSum(const void* value, DataType type);
};

/// Size in bytes of one element; 0 for a value outside the enum.
constexpr std::size_t sizeOf(DataType t) {
  switch (t) {
    case DataType::Int8: case DataType::Uint8:
    case DataType::Float8E4M3: case DataType::Float8E5M2: return 1;
    case DataType::Float16: case DataType::Bfloat16: return 2;
    case DataType::Int32: case DataType::Uint32: case DataType::Float32: return 4;
    case DataType::Int64: case DataType::Uint64: case DataType::Float64: return 8;
  }
  return 0;
}

constexpr bool isValid(DataType t) { return sizeOf(t) != 0; }
constexpr bool isValid(ReduceOp op) {
  return static_cast<int>(op) >= 0 && static_cast<int>(op) < kNumReduceOps;
}
constexpr bool isFloat(DataType t) {
  switch (t) {
    case DataType::Float16: case DataType::Float32: case DataType::Float64:
    case DataType::Bfloat16: case DataType::Float8E4M3: case DataType::Float8E5M2: return true;
    default: return false;
  }
}

/// Short lower-case names as nccl-tests prints them ("float", "half", "bfloat16", ...).
std::string_view toString(DataType t);
std::string_view toString(ReduceOp op);
/// Parses the names above (and NCCL aliases such as "int", "double"); false if unknown.
bool parse(std::string_view name, DataType& out);
bool parse(std::string_view name, ReduceOp& out);

}  // namespace braid
