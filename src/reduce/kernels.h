#pragma once
// Internal to src/reduce: the per-ISA kernel tables behind reduce::binary().
#include "reduce/reduce.h"

namespace braid::reduce::detail {

// The four combining operations; Avg and PreMulSum combine as Sum.
enum class Op : int { Sum = 0, Prod = 1, Max = 2, Min = 3 };
inline constexpr int kNumOps = 4;

struct KernelTable {
  BinaryFn fn[kNumDataTypes][kNumOps] = {};

  void set(DataType t, Op op, BinaryFn f) { fn[static_cast<int>(t)][static_cast<int>(op)] = f; }
};

// Portable C++ kernels for every (type, op); always available.
const KernelTable& genericKernels();
// Vector tables: the generic table with the hot entries replaced. nullptr when the
// build cannot produce them (not x86-64). Only call the kernels on a CPU that has the
// instruction set; building the table is safe anywhere.
const KernelTable* avx2Kernels();
const KernelTable* avx512Kernels();

}  // namespace braid::reduce::detail
