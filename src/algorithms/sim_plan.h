#pragma once
// The simulator's compact copy of one rank's Plan, and the bookkeeping that both the
// exact simulator and the pricing model use to run many ranks' plans together.
//
// Why a copy: a 4096-rank ring all-reduce is 67M steps. As Plans, with their derived
// tables, that is about 80 bytes a step, more than a test machine holds; a SimPlan
// keeps only what the simulator reads, in about 36 bytes a step, so callers build each
// rank's Plan, compact it and drop it. The price is a limit: regions and offsets must
// fit in 32 bits of elements (a simulated buffer of 2^32 elements would not fit in
// memory anyway).
#include "algorithms/plan.h"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace braid {

inline constexpr std::uint32_t kNoSlot = UINT32_MAX;

struct SimStep {
  std::uint32_t srcOffset = 0, dstOffset = 0;  // elements
  std::uint32_t count = 0;                     // elements sent, received, copied or reduced
  std::uint32_t slot = kNoSlot;                // index into SimPlan::peers; kNoSlot for local steps
  BufferId srcBuffer = kInput, dstBuffer = kInput;
  StepKind kind = StepKind::Copy;
};
static_assert(sizeof(SimStep) == 24, "the memory budget of a 4096-rank simulation counts on 24-byte steps");

struct SimPlan {
  SimPlan() = default;
  // Throws std::length_error when a region does not fit in 32 bits of elements.
  explicit SimPlan(const Plan& plan);

  std::vector<SimStep> steps;
  std::vector<std::uint32_t> firstDependent, dependents;  // as in Plan
  std::vector<int> peers;                                 // as in Plan
  // The peer queues of Plan::sendsTo / recvsFrom, flattened: slot s sends
  // queued[queueBegin[2s] .. queueBegin[2s+1]) and receives up to queueBegin[2s+2].
  std::vector<std::uint32_t> queueBegin, queued;
  std::size_t scratchCount = 0;
  std::size_t bufferCount = 3;

  std::span<const std::uint32_t> dependentsOf(std::uint32_t step) const {
    return {dependents.data() + firstDependent[step], dependents.data() + firstDependent[step + 1]};
  }
  std::span<const std::uint32_t> recvQueue(std::uint32_t slot) const {
    return {queued.data() + queueBegin[2 * slot + 1], queued.data() + queueBegin[2 * slot + 2]};
  }
};

// One step of one rank, as SimProgress's callbacks name it.
struct StepRef {
  std::uint32_t rank, step;
};

// A `ready(rank, step)` callback for SimProgress that collects the steps it reports,
// for a caller that runs them later in its own order.
struct CollectSteps {
  std::vector<StepRef>* into;
  void operator()(std::uint32_t rank, std::uint32_t step) const { into->push_back({rank, step}); }
};

// Which steps of which ranks can run, as the plans of all ranks progress together.
// A step runs once the steps it depends on are done, the previous step in its peer
// queue is posted and, for a receive, its message has arrived. Messages on each
// ordered pair of ranks match receives first in, first out. The simulator drives this
// in any order, the pricing model in time order; `ready(rank, step)` callbacks say
// what may run next.
class SimProgress {
 public:
  explicit SimProgress(const std::vector<SimPlan>& plans);

  // Reports every step that waits for nothing.
  template <class Ready>
  void start(Ready&& ready) {
    for (std::uint32_t r = 0; r < ranks_.size(); ++r)
      for (std::uint32_t i = 0; i < ranks_[r].waiting.size(); ++i)
        if (ranks_[r].waiting[i] == 0) ready(r, i);
  }

  // A send or receive has been handed to its peer queue (the executor posts each
  // peer's sends, and receives, in plan order): reports the next one in that queue
  // if it was the last thing holding it back. Local steps are never posted.
  template <class Ready>
  void posted(std::uint32_t rank, std::uint32_t step, Ready&& ready) {
    RankState& st = ranks_[rank];
    const SimPlan& plan = *st.plan;
    const SimStep& s = plan.steps[step];
    // Steps of a queue are posted in queue order, so this one is at position posted[q].
    const std::uint32_t q = 2 * s.slot + (s.kind == StepKind::Send ? 0 : 1);
    const std::uint32_t next = plan.queueBegin[q] + ++st.queuePosted[q];
    if (next < plan.queueBegin[q + 1]) release(rank, plan.queued[next], ready);
  }

  // Marks a step done and reports the steps that it was the last to hold back.
  template <class Ready>
  void complete(std::uint32_t rank, std::uint32_t step, Ready&& ready) {
    RankState& st = ranks_[rank];
    ++st.done;
    for (std::uint32_t d : st.plan->dependentsOf(step)) release(rank, d, ready);
  }

  struct Receive {
    std::uint32_t rank, step;
  };
  // The receive that the next message sent by `rank` on its peer `slot` goes to, or
  // nullopt when the peer posts no more receives from it (recorded as unreceived).
  std::optional<Receive> match(std::uint32_t rank, std::uint32_t slot);

  // True when a receive waits for nothing but its message.
  bool onlyMessageMissing(const Receive& r) const { return ranks_[r.rank].waiting[r.step] == 1; }

  // The message for a matched receive has arrived.
  template <class Ready>
  void arrive(const Receive& r, Ready&& ready) {
    release(r.rank, r.step, ready);
  }

  // Throws std::runtime_error naming the first pair of ranks with messages nobody
  // received, else the first rank with unfinished steps.
  void checkFinished() const;

 private:
  struct RankState {
    const SimPlan* plan = nullptr;
    std::vector<std::uint32_t> waiting;     // per step: what it still waits for
    std::vector<std::uint32_t> queuePosted; // per queue (2 per slot): steps posted
    std::vector<std::uint32_t> delivered;   // per slot: messages matched to receives
    std::vector<std::uint32_t> mateSlot;    // per slot: this rank's slot in the peer's plan
    std::size_t done = 0;
  };

  template <class Ready>
  void release(std::uint32_t rank, std::uint32_t step, Ready& ready) {
    if (--ranks_[rank].waiting[step] == 0) ready(rank, step);
  }

  std::vector<RankState> ranks_;
  std::map<std::pair<int, int>, std::size_t> unreceived_;  // (from, to) -> messages; rare, so a map
};

}  // namespace braid
