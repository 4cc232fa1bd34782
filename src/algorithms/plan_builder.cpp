#include "algorithms/plan_builder.h"

#include <algorithm>

namespace braid {

void PlanBuilder::alias(BufferId from, BufferId to, std::size_t offset) { aliases_[from] = {to, offset}; }

void PlanBuilder::needScratch(std::size_t count) { plan_.scratchCount = std::max(plan_.scratchCount, count); }

void PlanBuilder::needBuffers(std::size_t count) { plan_.bufferCount = std::max(plan_.bufferCount, count); }

Region PlanBuilder::canonical(Region r) const {
  if (auto it = aliases_.find(r.buffer); it != aliases_.end()) {
    r.buffer = it->second.first;
    r.offset += it->second.second;
  }
  return r;
}

PlanBuilder::SegmentMap& PlanBuilder::segments(BufferId b) {
  auto& map = segments_[b];
  if (map.empty()) map.emplace(0, Segment{SIZE_MAX, -1, {}});  // one segment covers the whole buffer
  return map;
}

PlanBuilder::SegmentMap::iterator PlanBuilder::split(SegmentMap& map, std::size_t begin, std::size_t end) {
  auto cut = [&](std::size_t at) {
    auto it = std::prev(map.upper_bound(at));
    if (it->first == at || it->second.end <= at) return;
    Segment tail = it->second;
    it->second.end = at;
    map.emplace(at, std::move(tail));
  };
  cut(begin);
  cut(end);
  return map.find(begin);
}

void PlanBuilder::add(Step step, bool readsSrc, bool readsDst, bool writesDst) {
  const auto index = static_cast<std::uint32_t>(plan_.steps.size());
  pendingDeps_.clear();
  auto visit = [&](const Region& r, bool write) {
    auto& map = segments(r.buffer);
    std::size_t end = r.offset + r.count;
    for (auto it = split(map, r.offset, end); it != map.end() && it->first < end; ++it) {
      Segment& s = it->second;
      if (s.writer >= 0) pendingDeps_.push_back(static_cast<std::uint32_t>(s.writer));
      if (write) {
        pendingDeps_.insert(pendingDeps_.end(), s.readers.begin(), s.readers.end());
        s.writer = index;
        s.readers.clear();
      } else {
        s.readers.push_back(index);
      }
    }
  };
  // Reads first: a step that reads and writes the same region records itself as the writer.
  if (readsSrc) visit(step.src, false);
  if (readsDst && !writesDst) visit(step.dst, false);
  if (writesDst) visit(step.dst, true);
  std::sort(pendingDeps_.begin(), pendingDeps_.end());
  pendingDeps_.erase(std::unique(pendingDeps_.begin(), pendingDeps_.end()), pendingDeps_.end());
  pendingDeps_.erase(std::remove(pendingDeps_.begin(), pendingDeps_.end(), index), pendingDeps_.end());
  step.firstDep = static_cast<std::uint32_t>(plan_.deps.size());
  step.numDeps = static_cast<std::uint32_t>(pendingDeps_.size());
  plan_.deps.insert(plan_.deps.end(), pendingDeps_.begin(), pendingDeps_.end());
  plan_.steps.push_back(step);
}

void PlanBuilder::send(int peer, Region src) {
  if (src.count == 0) return;
  add(Step{StepKind::Send, peer, canonical(src), {}}, true, false, false);
}

void PlanBuilder::recv(int peer, Region dst) {
  if (dst.count == 0) return;
  add(Step{StepKind::Recv, peer, {}, canonical(dst)}, false, false, true);
}

void PlanBuilder::recvReduce(int peer, Region src, Region dst) {
  if (dst.count == 0) return;
  add(Step{StepKind::RecvReduce, peer, canonical(src), canonical(dst)}, true, false, true);
}

void PlanBuilder::copy(Region src, Region dst) {
  src = canonical(src);
  dst = canonical(dst);
  if (dst.count == 0 || (src.buffer == dst.buffer && src.offset == dst.offset)) return;
  add(Step{StepKind::Copy, -1, src, dst}, true, false, true);
}

void PlanBuilder::reduce(Region src, Region dst) {
  if (dst.count == 0) return;
  add(Step{StepKind::Reduce, -1, canonical(src), canonical(dst)}, true, true, true);
}

Plan PlanBuilder::finish() {
  plan_.finalize();
  return std::move(plan_);
}

void Plan::finalize() {
  const std::size_t n = steps.size();
  std::vector<std::uint32_t> counts(n + 1, 0);
  for (const auto& s : steps)
    for (std::uint32_t d = 0; d < s.numDeps; ++d) ++counts[deps[s.firstDep + d] + 1];
  firstDependent.assign(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) firstDependent[i + 1] = firstDependent[i] + counts[i + 1];
  dependents.assign(firstDependent[n], 0);
  std::vector<std::uint32_t> fill(firstDependent.begin(), firstDependent.end() - 1);
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::uint32_t d = 0; d < steps[i].numDeps; ++d) dependents[fill[deps[steps[i].firstDep + d]]++] = i;

  peers.clear();
  for (const auto& s : steps)
    if (s.peer >= 0) peers.push_back(s.peer);
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  sendsTo.assign(peers.size(), {});
  recvsFrom.assign(peers.size(), {});
  for (std::uint32_t i = 0; i < n; ++i) {
    if (steps[i].peer < 0) continue;
    auto p = static_cast<std::size_t>(std::lower_bound(peers.begin(), peers.end(), steps[i].peer) - peers.begin());
    (steps[i].kind == StepKind::Send ? sendsTo : recvsFrom)[p].push_back(i);
  }
}

}  // namespace braid
