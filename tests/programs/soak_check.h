#pragma once
// Runs one drawn call and checks every element it promises against values each rank
// computes on its own (expected_values.h): the result, 16 guard bytes after it, the
// send buffer of an out-of-place call, and a non-root's untouched reduce buffer.
#include <braid/braid.h>

#include "soak_draw.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace braid::soak {

// The first wrong element, already described in full (rank, call, element, got, expected).
struct Mismatch : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class CallChecker {
 public:
  // Throws Mismatch; lets the library's own errors through.
  void run(Communicator& comm, const Call& call, const std::string& description);
  // Flips one bit of the first result element of the next call that has one, as the
  // library would if it were wrong: shows that the checks catch it (--corrupt-call).
  void corruptNextResult() { corrupt_ = true; }

 private:
  void issue(Communicator& comm, const Call& call, const void* send, void* recv);
  // Compares n elements of `got` with want(i, out); throws on the first difference.
  template <class Want>
  void expect(const char* region, const unsigned char* got, std::size_t n, std::size_t elemSize, Want want);

  // Reused across calls so that the soak's time goes to the library, not to malloc.
  std::vector<unsigned char> send_, sendCopy_, recv_;
  const Call* call_ = nullptr;
  const std::string* description_ = nullptr;
  int rank_ = 0;
  bool corrupt_ = false;
};

}  // namespace braid::soak
