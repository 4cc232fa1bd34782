#pragma once
// Inputs for which the exact result of every reduction is known in advance, whatever
// the order of combination: small integers whose partial sums and products every
// type (float8 included) represents exactly. Integers wrap as the header promises.
#include <braid/types.h>

#include <cstddef>
#include <cstdint>

namespace braid::testing {

// Inputs repeat with this prime period, so that a checker can compute each expected
// reduction once per period; misplaced blocks still show (their offsets are not
// multiples of a large prime).
inline constexpr std::size_t kPeriod = 65521;

// The input element i of `rank`, as a value of the type (integers exact, floats small).
double inputValue(DataType type, ReduceOp op, int rank, std::size_t i, unsigned seed);
// Stores / loads one element of `type`.
void store(DataType type, double v, void* at);
double load(DataType type, const void* at);
// The exact reduction over `size` ranks of element i, stored into `out` (one element).
void expectedReduction(DataType type, ReduceOp op, int size, std::size_t i, unsigned seed, void* out);
// The PreMulSum scalar each rank uses, and its bytes in `type`.
double preMulScalar(DataType type);

}  // namespace braid::testing
