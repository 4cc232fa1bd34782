// Inputs and exact expected results for the drop-in test, computed here from NCCL's
// definitions. The inputs are chosen so that every result is exact whatever order or
// tree the library reduces in:
// - integers: sum and prod wrap modulo 2^bits (the sum inputs sit near the type's
//   maximum so that they do wrap), avg is that wrapped sum divided by the rank count
//   with C's truncation toward zero, exactly as NCCL's integer ncclAvg;
// - floating types: small integers times a power of two, so every partial sum or
//   product is exact even in float8 e5m2 (3 significant bits); avg inputs are multiples
//   of the rank count, so sum-then-divide and NCCL's multiply-by-1/n agree exactly;
// - pre-multiplied sum: each rank multiplies its own input by its own scalar
//   (1 on even ranks, 2 on odd), then the products are summed.
#pragma once

#include "scalar.h"

namespace dropin {

enum class Op { Sum, Prod, Max, Min, Avg, PreMulSum };

const std::vector<Op>& allOps();
const char* opName(Op op);
ncclRedOp_t builtinOp(Op op);  // not for PreMulSum, which is created per call

// Element `index` of rank `rank`'s input to a reduction.
Scalar reductionInput(const TypeInfo& type, Op op, int rank, size_t index, int nranks);
// The scalar rank `rank` passes to ncclRedOpCreatePreMulSum.
Scalar preMulScalar(const TypeInfo& type, int rank);
// Element `index` of the reduction of every rank's input.
Scalar reductionExpected(const TypeInfo& type, Op op, size_t index, int nranks);

// Data-movement collectives compare bytes: byte `byteIndex` of what rank `rank` holds,
// distinct between ranks and positions (and never the fill byte of unwritten memory).
unsigned char patternByte(int rank, size_t byteIndex);

}  // namespace dropin
