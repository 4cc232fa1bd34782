#pragma once
// Builds a Plan and infers its dependencies: a step waits for the last earlier step
// that wrote any element it reads or writes, and for every earlier step that read an
// element it writes (so a send's source is not overwritten before the send is done).
// Steps on zero elements are dropped: both ends of a message compute the same counts,
// so both drop it.
#include "algorithms/plan.h"

#include <map>

namespace braid {

class PlanBuilder {
 public:
  // For in-place calls: regions on `from` are rewritten as regions on `to` starting at
  // `offset` (e.g. all-gather's input is output + rank*count), so that aliasing is
  // visible to dependency inference and self-copies vanish.
  void alias(BufferId from, BufferId to, std::size_t offset);
  void needScratch(std::size_t count);
  void needBuffers(std::size_t count);

  void send(int peer, Region src);
  void recv(int peer, Region dst);
  void recvReduce(int peer, Region src, Region dst);
  void copy(Region src, Region dst);
  void reduce(Region src, Region dst);

  Plan finish();

 private:
  struct Segment {
    std::size_t end;
    std::int64_t writer = -1;
    std::vector<std::uint32_t> readers;
  };
  using SegmentMap = std::map<std::size_t, Segment>;  // by start offset, disjoint

  Region canonical(Region r) const;
  void add(Step step, bool readsSrc, bool readsDst, bool writesDst);
  SegmentMap& segments(BufferId b);
  // Splits segments so that [begin, end) is covered by whole segments; returns the first.
  SegmentMap::iterator split(SegmentMap& map, std::size_t begin, std::size_t end);

  Plan plan_;
  std::vector<std::uint32_t> pendingDeps_;
  std::map<BufferId, std::pair<BufferId, std::size_t>> aliases_;
  std::map<BufferId, SegmentMap> segments_;
};

}  // namespace braid
