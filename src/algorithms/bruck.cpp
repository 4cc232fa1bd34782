// Bruck's all-gather: ceil(log2 n) steps for any rank count, one message each. Every
// rank works in a rotated layout in scratch, where position j holds the block of rank
// (me + j) mod n. Then the blocks a rank holds are always positions [0, have), and at
// distance d it sends those to rank me - d, whose positions [d, 2d) they are, and
// receives its own [d, 2d) from rank me + d. A local rotation into the output ends it.
#include "algorithms/algorithms.h"
#include "algorithms/plan_builder.h"
#include "algorithms/slicing.h"

#include <algorithm>

namespace braid {

Plan bruckAllGather(const CollectiveShape& s) {
  PlanBuilder b;
  const int n = s.size, me = s.rank;
  if (s.inPlace) b.alias(kInput, kOutput, s.count * static_cast<std::size_t>(me));
  auto blocks = [&](BufferId buf, int first, int end) {
    return Region{buf, s.count * static_cast<std::size_t>(first), s.count * static_cast<std::size_t>(end - first)};
  };
  const Region input{kInput, 0, s.count};
  b.copy(input, blocks(kOutput, me, me + 1));
  if (n == 1) return b.finish();
  b.needScratch(s.count * static_cast<std::size_t>(n));
  if (n > 2) b.copy(input, blocks(kScratch, 0, 1));  // sent again from the second step on
  SlicedMessages io(b, s.sliceElems);
  for (int d = 1; d < n; d *= 2) {
    const int moving = std::min(d, n - d);  // the last step only fills what is missing
    // The first send reads the input directly, not waiting for the copy into scratch.
    const Region held = d == 1 ? input : blocks(kScratch, 0, moving);
    io.send(mod(me - d, n), held);
    io.recv(mod(me + d, n), blocks(kScratch, d, d + moving));
  }
  // Undo the rotation: positions [1, n - me) are ranks me + 1 .. n - 1, and positions
  // [n - me, n) wrap around to ranks 0 .. me - 1 (position 0 is the input, copied above).
  b.copy(blocks(kScratch, 1, n - me), blocks(kOutput, me + 1, n));
  b.copy(blocks(kScratch, n - me, n), blocks(kOutput, 0, me));
  return b.finish();
}

}  // namespace braid
