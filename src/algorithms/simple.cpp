// Broadcast and reduce along a pipelined chain from (or toward) the root, direct
// all-to-all, and grouped send/recv.
#include "algorithms/algorithms.h"
#include "algorithms/plan_builder.h"
#include "algorithms/slicing.h"

#include <algorithm>

namespace braid {

const char* toString(Collective c) {
  switch (c) {
    case Collective::AllReduce: return "all-reduce";
    case Collective::AllGather: return "all-gather";
    case Collective::ReduceScatter: return "reduce-scatter";
    case Collective::Broadcast: return "broadcast";
    case Collective::Reduce: return "reduce";
    case Collective::AllToAll: return "all-to-all";
  }
  return "?";
}

Plan chainBroadcast(const CollectiveShape& s) {
  PlanBuilder b;
  const int n = s.size, r = s.rank, next = mod(r + 1, n), prev = mod(r - 1, n);
  const int pos = mod(r - s.root, n);
  if (s.inPlace) b.alias(kInput, kOutput, 0);
  forSlices(s.count, s.sliceElems, [&](std::size_t at, std::size_t len) {
    if (pos == 0) {
      if (n > 1) b.send(next, {kInput, at, len});
      b.copy({kInput, at, len}, {kOutput, at, len});
    } else {
      b.recv(prev, {kOutput, at, len});
      if (pos < n - 1) b.send(next, {kOutput, at, len});
    }
  });
  return b.finish();
}

Plan chainReduce(const CollectiveShape& s) {
  PlanBuilder b;
  const int n = s.size, r = s.rank, next = mod(r + 1, n), prev = mod(r - 1, n);
  const int pos = mod(r - s.root - 1, n);  // the root is last in the chain
  if (s.inPlace) b.alias(kInput, kOutput, 0);
  if (n == 1) {
    b.copy({kInput, 0, s.count}, {kOutput, 0, s.count});
    return b.finish();
  }
  if (pos > 0 && pos < n - 1) b.needScratch(s.count);  // non-roots have no output buffer
  forSlices(s.count, s.sliceElems, [&](std::size_t at, std::size_t len) {
    if (pos == 0) {
      b.send(next, {kInput, at, len});
    } else if (pos < n - 1) {
      b.recvReduce(prev, {kInput, at, len}, {kScratch, at, len});
      b.send(next, {kScratch, at, len});
    } else {
      b.recvReduce(prev, {kInput, at, len}, {kOutput, at, len});
    }
  });
  return b.finish();
}

Plan directAllToAll(const CollectiveShape& s) {
  PlanBuilder b;
  const int n = s.size, r = s.rank;
  const std::size_t total = s.count * static_cast<std::size_t>(n);
  auto block = [&](int i) { return s.count * static_cast<std::size_t>(i); };
  BufferId source = kInput;
  if (s.inPlace) {
    // Receiving into a block must not wait for the send of that block (a large send
    // completes only as the peer receives): send from a copy instead.
    b.alias(kInput, kOutput, 0);
    b.needScratch(total);
    b.copy({kInput, 0, total}, {kScratch, 0, total});
    source = kScratch;
  }
  b.copy({source, block(r), s.count}, {kOutput, block(r), s.count});
  // Start with the nearest peers, so that not every rank sends to rank 0 first.
  for (int d = 1; d < n; ++d) {
    int to = mod(r + d, n), from = mod(r - d, n);
    b.send(to, {source, block(to), s.count});
    b.recv(from, {kOutput, block(from), s.count});
  }
  return b.finish();
}

Plan groupedPointToPoint(int rank, const std::vector<P2POp>& ops) {
  PlanBuilder b;
  b.needBuffers(3 + ops.size());
  std::vector<std::size_t> selfSends, selfRecvs;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const P2POp& op = ops[i];
    Region whole{static_cast<BufferId>(3 + i), 0, op.bytes};
    if (op.peer == rank) {
      (op.isSend ? selfSends : selfRecvs).push_back(i);
      continue;
    }
    if (op.isSend) b.send(op.peer, whole);
    else b.recv(op.peer, whole);
  }
  for (std::size_t k = 0; k < std::min(selfSends.size(), selfRecvs.size()); ++k) {
    std::size_t s = selfSends[k], d = selfRecvs[k];
    b.copy({static_cast<BufferId>(3 + s), 0, ops[s].bytes}, {static_cast<BufferId>(3 + d), 0, ops[d].bytes});
  }
  return b.finish();
}

}  // namespace braid
