// Run-time choice of the kernel table: the best instruction set the CPU (and OS)
// supports, or a lower one named by BRAID_CPU_ISA.
#include "reduce/dispatch.h"

#include <braid/error.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace braid::reduce {
namespace detail {
namespace {

struct Choice {
  const char* name;
  const KernelTable* table;  // nullptr: not in this build, or the CPU lacks it
};

bool cpuHasAvx2() {
#if defined(__x86_64__)
  // __builtin_cpu_supports also checks that the OS saves the wider registers.
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

bool cpuHasAvx512() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

// Best first. Built once; choices point into it, so nothing is ever freed under a
// reader that still holds an old choice.
const Choice* ladder() {
  static const Choice kLadder[] = {
      {"avx512", cpuHasAvx512() ? avx512Kernels() : nullptr},
      {"avx2", cpuHasAvx2() ? avx2Kernels() : nullptr},
      {"generic", &genericKernels()},
  };
  return kLadder;
}
constexpr int kRungs = 3;

const Choice* choose() {
  // Read here rather than through Env: reduce sits below core and must not depend on
  // it. The variable can only lower the choice, so it cannot select code the CPU
  // cannot run.
  const char* forced = std::getenv("BRAID_CPU_ISA");
  const std::string want = forced ? forced : "";
  if (!want.empty() && want != "generic" && want != "avx2" && want != "avx512")
    throw InvalidArgument("BRAID_CPU_ISA=" + want + ": expected generic, avx2 or avx512");

  bool reached = want.empty();
  for (int i = 0; i < kRungs; ++i) {
    const Choice& c = ladder()[i];
    reached = reached || want == c.name;
    if (reached && c.table) return &c;
  }
  return &ladder()[kRungs - 1];  // unreachable: generic always has a table
}

std::atomic<const Choice*> gChoice{nullptr};

const Choice& current() {
  const Choice* c = gChoice.load(std::memory_order_acquire);
  if (!c) {
    c = choose();  // racing first users compute the same answer
    gChoice.store(c, std::memory_order_release);
  }
  return *c;
}

}  // namespace

const KernelTable& activeKernels() { return *current().table; }

}  // namespace detail

const char* isaName() { return detail::current().name; }

void reselectIsaForTests() { detail::gChoice.store(detail::choose(), std::memory_order_release); }

}  // namespace braid::reduce
