#pragma once
// CPU reduction kernels: one binary kernel per (datatype, op), vectorised, with the
// instruction set chosen at run time from what the CPU reports (AVX-512, AVX2, or
// portable C++). Semantics are those stated in include/braid/types.h.
#include <braid/types.h>

#include <cstddef>
#include <cstdint>

namespace braid::reduce {

// dst[i] = a[i] (op) b[i] for i < count elements. dst may alias a or b exactly
// (not partially). Pointers need no alignment at all, not even the element's own.
// Every instruction-set path gives bit-identical results (NaN payloads aside). Float
// max/min return NaN if either operand is NaN and order -0 below +0, so the result
// does not depend on operand order.
using BinaryFn = void (*)(void* dst, const void* a, const void* b, std::size_t count);

// The kernel for `op` on `type`. Avg and PreMulSum combine as Sum (their extra step is
// finishAvg / preMultiply). Never null for valid arguments; throws InvalidArgument otherwise
// (also when BRAID_CPU_ISA names no known instruction set). The pointer stays valid
// for the life of the process.
BinaryFn binary(DataType type, ReduceOp op);

// data[i] /= divisor, as Avg's final step (integers truncate toward zero, signed ones
// dividing the wrapped sum as signed; floats divide once in float32/float64 and round
// back to the storage type). Throws InvalidArgument for divisor 0 or an invalid type.
void finishAvg(void* data, std::size_t count, DataType type, std::uint64_t divisor);

// dst[i] = src[i] * scalar, scalar given as one value of `type` (PreMulSum's first step),
// with the same arithmetic as the Prod kernel. dst may alias src exactly.
void preMultiply(void* dst, const void* src, std::size_t count, DataType type, const void* scalar);

// Name of the instruction set the dispatcher picked: "avx512", "avx2" or "generic".
// BRAID_CPU_ISA=generic|avx2|avx512 can force a lower one (a higher one than the CPU
// has falls back to the best it has). Read once, on first use.
const char* isaName();

}  // namespace braid::reduce
