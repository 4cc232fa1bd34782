#pragma once
// Element values as raw bits: conversions between double and every Braid data type,
// so that the checker can write inputs and expected results without a half-precision
// type of its own. Floats round to nearest, ties to even, as Braid documents.
#include <braid/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace perf {

// The bits of `v` stored as `type`. Integers: v is truncated toward zero and wrapped to
// the type's width. float16/bfloat16/float8: rounded to nearest even; e4m3 saturates to
// +-448 (it has no infinity), the others overflow to infinity.
std::uint64_t encode(braid::DataType type, double v);

// The value of `bits` as `type` (integers as signed or unsigned per the type).
double decode(braid::DataType type, std::uint64_t bits);

// One element at `at` (sizeOf(type) bytes, little-endian host).
std::uint64_t loadBits(const void* at, std::size_t elemSize);
void storeBits(void* at, std::size_t elemSize, std::uint64_t bits);

// "3 (0x4200)": an element for error messages.
std::string describe(braid::DataType type, std::uint64_t bits);

}  // namespace perf
