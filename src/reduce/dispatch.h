#pragma once
// Internal to src/reduce (and its tests): which kernel table serves binary(). Chosen
// once, on first use, from the CPU's features and BRAID_CPU_ISA.
#include "reduce/kernels.h"

namespace braid::reduce {

// Re-reads BRAID_CPU_ISA and chooses again, so that tests can run every path with
// setenv. Function pointers handed out earlier stay valid (tables are never freed).
void reselectIsaForTests();

namespace detail {
// The chosen table. Throws InvalidArgument if BRAID_CPU_ISA holds an unknown name.
const KernelTable& activeKernels();
}  // namespace detail

}  // namespace braid::reduce
