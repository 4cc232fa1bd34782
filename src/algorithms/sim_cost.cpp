// The pricing model, a discrete-event simulation in time order. Its assumptions:
//  - Each rank has one executor thread (its CPU), one outgoing port and one incoming
//    port; each does one thing at a time, and all of a rank's links share its ports.
//  - A step is ready when SimProgress says so: its dependencies are done, the previous
//    step of its peer queue is posted, and for a receive its whole message is in.
//    Ready steps take the CPU first come, first served. Every step costs
//    stepOverheadUs of CPU; a Reduce or RecvReduce adds reduceUs(bytes), a Copy adds
//    bytes at the same-NUMA link's bandwidth (a local memcpy, no latency).
//  - A send, after its CPU time, waits for the outgoing port and holds it for
//    bytes / bandwidth of the link to its peer (linkBetween of their placements); it
//    is done, its buffer free again, when the port is. The message arrives latency +
//    bytes / bandwidth after it left, but no earlier than bytes / bandwidth after the
//    receiver's incoming port took in the message before it. Delivery is eager: the
//    data moves whether or not the receive is ready (no rendezvous handshake).
//  - A receive pays its step overhead (and reduction) once its message is in.
//  - Nothing else contends: no switch or memory-bus congestion, no slowdown of a
//    reduction by transfers running beside it.
#include "algorithms/sim_cost.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <stdexcept>

namespace braid {
namespace {

// 16 bytes, so that the heap of pending events stays small in cache.
struct Event {
  double time;
  std::uint64_t what;  // rank << 32 | step << 1 | arrival (a receive's message is in; else the step is done)
  bool operator>(const Event& o) const { return time != o.time ? time > o.time : what > o.what; }
  std::uint32_t rank() const { return static_cast<std::uint32_t>(what >> 32); }
  std::uint32_t step() const { return static_cast<std::uint32_t>(what & 0xffffffff) >> 1; }
  bool arrival() const { return what & 1; }
  static Event at(double time, std::uint32_t rank, std::uint32_t step, bool arrival) {
    return {time, std::uint64_t{rank} << 32 | std::uint64_t{step} << 1 | arrival};
  }
};

class TimedRun {
 public:
  TimedRun(const std::vector<SimPlan>& plans, std::size_t elemSize, const CostModel& model,
           const std::vector<RankPlacement>& placement)
      : plans_(plans), elemSize_(elemSize), model_(model), placement_(placement), progress_(plans),
        clocks_(plans.size()) {}

  double run() {
    progress_.start(markRunnable());
    startRunnable();
    while (!events_.empty()) {
      const Event e = events_.top();
      events_.pop();
      now_ = e.time;
      if (e.arrival()) {
        progress_.arrive({e.rank(), e.step()}, markRunnable());
      } else {
        end_ = std::max(end_, now_);
        progress_.complete(e.rank(), e.step(), markRunnable());
      }
      startRunnable();
    }
    progress_.checkFinished();
    return end_;
  }

 private:
  struct Clocks {
    double cpuFree = 0, outFree = 0, inFree = 0;
  };
  CollectSteps markRunnable() { return CollectSteps{&runnable_}; }

  // Starting a step can make the next of its queue ready at the same instant, so this
  // drains in order of readiness rather than recursing.
  void startRunnable() {
    for (std::size_t i = 0; i < runnable_.size(); ++i) start(runnable_[i].rank, runnable_[i].step);
    runnable_.clear();
  }

  void start(std::uint32_t rank, std::uint32_t step) {
    const SimStep& s = plans_[rank].steps[step];
    const std::size_t bytes = s.count * elemSize_;
    double cpu = model_.stepOverheadUs;
    if (s.kind == StepKind::Copy) cpu += static_cast<double>(bytes) / (model_.link(LinkClass::SameNuma).gbPerSec * 1e3);
    if (s.kind == StepKind::Reduce || s.kind == StepKind::RecvReduce) cpu += model_.reduceUs(bytes);
    Clocks& mine = clocks_[rank];
    mine.cpuFree = std::max(now_, mine.cpuFree) + cpu;
    double done = mine.cpuFree;
    if (s.kind == StepKind::Send) done = send(rank, s, bytes);
    if (s.slot != kNoSlot) progress_.posted(rank, step, markRunnable());
    events_.push(Event::at(done, rank, step, false));
  }

  // Books the ports for a send whose CPU time ends at the sender's cpuFree; returns
  // when the send is done.
  double send(std::uint32_t rank, const SimStep& s, std::size_t bytes) {
    Clocks& mine = clocks_[rank];
    auto to = progress_.match(rank, s.slot);
    if (!to) return mine.cpuFree;  // checkFinished() will report the message nobody received
    const LinkClass link = linkBetween(placement_[rank], placement_[to->rank]);
    const double wire = static_cast<double>(bytes) / (model_.link(link).gbPerSec * 1e3);
    const double leaves = std::max(mine.cpuFree, mine.outFree);
    mine.outFree = leaves + wire;
    Clocks& theirs = clocks_[to->rank];
    theirs.inFree = std::max(leaves + model_.messageUs(link, bytes), theirs.inFree + wire);
    events_.push(Event::at(theirs.inFree, to->rank, to->step, true));
    return mine.outFree;
  }

  const std::vector<SimPlan>& plans_;
  const std::size_t elemSize_;
  const CostModel& model_;
  const std::vector<RankPlacement>& placement_;
  SimProgress progress_;
  std::vector<Clocks> clocks_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::vector<StepRef> runnable_;
  double now_ = 0, end_ = 0;
};

}  // namespace

double modeledTimeUs(const std::vector<SimPlan>& plans, std::size_t elemSize, const CostModel& model,
                     const std::vector<RankPlacement>& placement) {
  for (const SimPlan& p : plans)
    if (p.steps.size() >= (std::size_t{1} << 31)) throw std::length_error("the pricing model handles plans of under 2^31 steps");
  if (placement.size() != plans.size())
    throw std::invalid_argument(std::to_string(placement.size()) + " placements for " + std::to_string(plans.size()) +
                                " ranks");
  return TimedRun(plans, elemSize, model, placement).run();
}

}  // namespace braid
