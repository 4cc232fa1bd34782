#pragma once
// Rank arithmetic and pipeline slicing that every algorithm needs. Both ends of a
// message cut it into the same slices (they compute the same counts), so a sliced send
// always meets a sliced receive of the same sizes.
#include "algorithms/plan.h"
#include "algorithms/plan_builder.h"

#include <algorithm>
#include <cstddef>

namespace braid {

// a mod n in [0, n), for ring neighbours of rank 0 and the like.
inline int mod(int a, int n) { return ((a % n) + n) % n; }

// Calls f(start, len) for each slice of [0, count).
template <class F>
void forSlices(std::size_t count, std::size_t sliceElems, F f) {
  const std::size_t slice = std::max<std::size_t>(sliceElems, 1);
  for (std::size_t start = 0; start < count; start += slice) f(start, std::min(slice, count - start));
}

// Emits each message as slices of at most sliceElems elements.
class SlicedMessages {
 public:
  SlicedMessages(PlanBuilder& b, std::size_t sliceElems) : b_(b), slice_(sliceElems) {}

  void send(int peer, Region src) {
    forSlices(src.count, slice_, [&](std::size_t at, std::size_t len) { b_.send(peer, piece(src, at, len)); });
  }
  void recv(int peer, Region dst) {
    forSlices(dst.count, slice_, [&](std::size_t at, std::size_t len) { b_.recv(peer, piece(dst, at, len)); });
  }
  void recvReduce(int peer, Region src, Region dst) {
    forSlices(dst.count, slice_,
              [&](std::size_t at, std::size_t len) { b_.recvReduce(peer, piece(src, at, len), piece(dst, at, len)); });
  }

 private:
  static Region piece(Region r, std::size_t at, std::size_t len) { return Region{r.buffer, r.offset + at, len}; }

  PlanBuilder& b_;
  std::size_t slice_;
};

}  // namespace braid
