#pragma once
// CPU reduction kernels: one binary kernel per (datatype, op), vectorised, with the
// instruction set chosen at run time from what the CPU reports (AVX-512, AVX2, or
// portable C++). Semantics are those stated in include/braid/types.h.
#include <braid/types.h>

#include <cstddef>
#include <cstdint>

namespace braid::reduce {

// dst[i] = a[i] (op) b[i] for i < count elements. dst may alias a or b exactly
// (not partially). Pointers need no alignment beyond the element's natural one...
// and not even that: unaligned pointers are handled.
using BinaryFn = void (*)(void* dst, const void* a, const void* b, std::size_t count);

// The kernel for `op` on `type`. Avg and PreMulSum combine as Sum (their extra step is
// finishAvg / preMultiply). Never null for valid arguments; throws InvalidArgument otherwise.
BinaryFn binary(DataType type, ReduceOp op);

// data[i] /= divisor, as Avg's final step (integers truncate toward zero; floats
// divide once in float32/float64 and round back to the storage type).
void finishAvg(void* data, std::size_t count, DataType type, std::uint64_t divisor);

// dst[i] = src[i] * scalar, scalar given as one value of `type` (PreMulSum's first step).
void preMultiply(void* dst, const void* src, std::size_t count, DataType type, const void* scalar);

// Name of the instruction set the dispatcher picked: "avx512", "avx2" or "generic".
// BRAID_CPU_ISA can force a lower one (for tests of every path).
const char* isaName();

}  // namespace braid::reduce
