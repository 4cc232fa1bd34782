#pragma once
// Shared by the fuzz targets: the secret the seed corpus uses (so the fuzzer reaches
// past the secret check), and a check that aborts loudly when an invariant breaks.
#include "bootstrap/wire.h"

#include <cstdio>
#include <cstdlib>

namespace braid::fuzz {

inline const wire::Secret kSecret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// A parser accepted something its own contract forbids: that is a finding.
#define FUZZ_CHECK(cond)                                                        \
  do {                                                                          \
    if (!(cond)) {                                                              \
      std::fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                             \
    }                                                                           \
  } while (0)

}  // namespace braid::fuzz
