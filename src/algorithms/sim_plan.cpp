#include "algorithms/sim_plan.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace braid {
namespace {

std::uint32_t narrow(std::size_t elements) {
  if (elements > UINT32_MAX)
    throw std::length_error("the simulator handles regions of at most 2^32 elements, got " + std::to_string(elements));
  return static_cast<std::uint32_t>(elements);
}

}  // namespace

SimPlan::SimPlan(const Plan& plan)
    : firstDependent(plan.firstDependent),
      dependents(plan.dependents),
      peers(plan.peers),
      scratchCount(plan.scratchCount),
      bufferCount(plan.bufferCount) {
  steps.reserve(plan.steps.size());
  for (const Step& s : plan.steps) {
    SimStep c;
    c.kind = s.kind;
    c.srcBuffer = s.src.buffer;
    c.dstBuffer = s.dst.buffer;
    c.srcOffset = narrow(s.src.offset);
    c.dstOffset = narrow(s.dst.offset);
    // Both ends of every region fit, so no pointer arithmetic below can overflow.
    narrow(s.src.offset + s.src.count);
    narrow(s.dst.offset + s.dst.count);
    c.count = narrow(s.kind == StepKind::Send ? s.src.count : s.dst.count);
    if (s.peer >= 0)
      c.slot = static_cast<std::uint32_t>(std::lower_bound(peers.begin(), peers.end(), s.peer) - peers.begin());
    steps.push_back(c);
  }
  queueBegin.reserve(2 * peers.size() + 1);
  queueBegin.push_back(0);
  for (std::size_t p = 0; p < peers.size(); ++p)
    for (const auto* q : {&plan.sendsTo[p], &plan.recvsFrom[p]}) {
      queued.insert(queued.end(), q->begin(), q->end());
      queueBegin.push_back(static_cast<std::uint32_t>(queued.size()));
    }
}

SimProgress::SimProgress(const std::vector<SimPlan>& plans) : ranks_(plans.size()) {
  const auto n = static_cast<std::uint32_t>(plans.size());
  for (std::uint32_t r = 0; r < n; ++r) {
    RankState& st = ranks_[r];
    const SimPlan& plan = plans[r];
    st.plan = &plan;
    // Every step waits for its dependencies; queued steps but the first of their queue
    // for the one before; receives also for their message.
    st.waiting.assign(plan.steps.size(), 0);
    for (std::uint32_t d : plan.dependents) ++st.waiting[d];
    for (std::size_t q = 0; q + 1 < plan.queueBegin.size(); ++q)
      for (std::uint32_t k = plan.queueBegin[q]; k < plan.queueBegin[q + 1]; ++k)
        st.waiting[plan.queued[k]] += (k > plan.queueBegin[q]) + (q % 2 == 1);
    st.queuePosted.assign(2 * plan.peers.size(), 0);
    st.delivered.assign(plan.peers.size(), 0);
    st.mateSlot.assign(plan.peers.size(), kNoSlot);
    for (std::uint32_t slot = 0; slot < plan.peers.size(); ++slot) {
      const int peer = plan.peers[slot];
      if (peer < 0 || static_cast<std::uint32_t>(peer) >= n) continue;
      const auto& theirs = plans[static_cast<std::size_t>(peer)].peers;
      auto it = std::lower_bound(theirs.begin(), theirs.end(), static_cast<int>(r));
      if (it != theirs.end() && *it == static_cast<int>(r)) st.mateSlot[slot] = static_cast<std::uint32_t>(it - theirs.begin());
    }
  }
}

std::optional<SimProgress::Receive> SimProgress::match(std::uint32_t rank, std::uint32_t slot) {
  const int peer = ranks_[rank].plan->peers[slot];
  const std::uint32_t mate = ranks_[rank].mateSlot[slot];
  if (mate != kNoSlot) {
    RankState& them = ranks_[static_cast<std::size_t>(peer)];
    auto queue = them.plan->recvQueue(mate);
    const std::uint32_t k = them.delivered[mate];
    if (k < queue.size()) {
      ++them.delivered[mate];
      return Receive{static_cast<std::uint32_t>(peer), queue[k]};
    }
  }
  ++unreceived_[{static_cast<int>(rank), peer}];
  return std::nullopt;
}

void SimProgress::checkFinished() const {
  // A message nobody receives is the cause when its sender waits for a receiver too.
  if (!unreceived_.empty()) {
    const auto& [pair, messages] = *unreceived_.begin();
    throw std::runtime_error("rank " + std::to_string(pair.first) + " sent " + std::to_string(messages) +
                             " messages to rank " + std::to_string(pair.second) + " that nobody received");
  }
  for (std::size_t r = 0; r < ranks_.size(); ++r) {
    const std::size_t total = ranks_[r].plan->steps.size();
    if (ranks_[r].done != total)
      throw std::runtime_error("rank " + std::to_string(r) + " is stuck after " + std::to_string(ranks_[r].done) +
                               " of " + std::to_string(total) + " steps");
  }
}

}  // namespace braid
