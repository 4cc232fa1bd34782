#pragma once
// Checkable data. Every element is a function of (seed, rank, index), so each rank can
// compute any other rank's input, and the exact result of every collective, without
// communicating. Reduction inputs are chosen so that the result is exact whatever the
// order of combination (Braid's float results otherwise depend on the algorithm):
//   - integers: any bits; sums and products wrap in the type's width, which is
//     associative, so the wrapped result is exact in every order;
//   - floats, sum/avg/mulsum: -1, 0 or 1, with at most K ranks non-zero per element,
//     K small enough that every partial sum (times 2 for mulsum) is an integer the
//     type represents exactly (8 for e5m2, 16 for e4m3, 256 for bfloat16, ...);
//   - floats, prod: +-1 or +-2 on at most 14 ranks (8 for e4m3, max 448), 1 elsewhere,
//     so every partial product is a power of two within range;
//   - floats, max/min: integers -4..3 (exact in every type, e5m2 included).
// Avg is the exact sum divided once by the rank count, in float32 (float64 for
// double), rounded to the type; integer avg divides the wrapped sum, truncating.
// Which K ranks are non-zero rotates with the index, so every rank's input matters.
#include <braid/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace perf {

// What one checked run computes. All ranks build the same spec for the same run.
struct DataSpec {
  braid::DataType type = braid::DataType::Float32;
  braid::ReduceOp op = braid::ReduceOp::Sum;
  int nranks = 1;
  std::uint64_t seed = 0;
};

// Threads each fill below (and fillComplement) may use on a large buffer; 1 at first.
// With 1 GiB buffers a check computes every rank's input for each element, which takes
// one core many seconds; ranks sharing a host divide its cores among themselves.
void setFillThreads(int threads);

// Collectives that only move data: `count` elements of `rank`'s data from element
// `firstIndex` on, arbitrary bits of the type's width (NaN patterns included: nothing
// may interpret them).
void fillPattern(const DataSpec& spec, int rank, std::size_t firstIndex, std::size_t count, void* dst);

// Reductions: `rank`'s input elements [firstIndex, firstIndex + count).
void fillReduceInput(const DataSpec& spec, int rank, std::size_t firstIndex, std::size_t count, void* dst);

// Reductions: the exact result over spec.nranks ranks of elements [firstIndex, +count).
void fillReduceExpected(const DataSpec& spec, std::size_t firstIndex, std::size_t count, void* dst);

// The Reduction argument for `op`; PreMulSum carries the scalar 2 in `type`.
braid::Reduction makeReduction(braid::DataType type, braid::ReduceOp op);

// dst = ~src, byte by byte: a poison that differs from the expected value in every
// element, so an element the collective fails to write cannot pass.
void fillComplement(const void* src, std::size_t bytes, void* dst);

// Elements of `got` that differ bit-wise from `want`. The first few are described on
// stderr, prefixed with `what` (which names the rank, tool, type and size).
std::size_t countWrong(const void* got, const void* want, std::size_t count, braid::DataType type,
                       const std::string& what);

}  // namespace perf
