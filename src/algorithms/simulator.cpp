#include "algorithms/simulator.h"

#include <cstring>
#include <stdexcept>
#include <unordered_map>

namespace braid {
namespace {

class DataRun {
 public:
  DataRun(const std::vector<SimPlan>& plans, const std::vector<std::vector<void*>>& buffers, std::size_t elemSize,
          reduce::BinaryFn combine, SendCompletion sends)
      : plans_(plans),
        buffers_(buffers),
        elemSize_(elemSize),
        combine_(combine),
        pulled_(sends == SendCompletion::WhenPulled),
        progress_(plans) {}

  void run() {
    progress_.start(enqueue());
    while (!ready_.empty()) {
      auto [rank, step] = ready_.back();
      ready_.pop_back();
      runStep(rank, step);
    }
    progress_.checkFinished();
  }

 private:
  CollectSteps enqueue() { return CollectSteps{&ready_}; }

  unsigned char* at(std::uint32_t rank, BufferId buffer, std::uint32_t offset) const {
    return static_cast<unsigned char*>(buffers_[rank].at(buffer)) + std::size_t{offset} * elemSize_;
  }

  static std::uint64_t key(std::uint32_t rank, std::uint32_t step) { return std::uint64_t{rank} << 32 | step; }

  void runStep(std::uint32_t rank, std::uint32_t step) {
    const SimStep& s = plans_[rank].steps[step];
    switch (s.kind) {
      case StepKind::Copy:
        std::memmove(at(rank, s.dstBuffer, s.dstOffset), at(rank, s.srcBuffer, s.srcOffset), s.count * elemSize_);
        break;
      case StepKind::Reduce: {
        unsigned char* dst = at(rank, s.dstBuffer, s.dstOffset);
        combine_(dst, dst, at(rank, s.srcBuffer, s.srcOffset), s.count);
        break;
      }
      case StepKind::Send: {
        const bool received = send(rank, step, s);
        progress_.posted(rank, step, enqueue());
        if (!received && pulled_) return;  // done when its receiver pulls it
        break;
      }
      case StepKind::Recv:
      case StepKind::RecvReduce: {
        // Only receives whose message had to wait are queued here; the message is parked.
        auto parked = pending_.extract(key(rank, step));
        Parked& m = parked.mapped();
        receive(rank, s, m.live ? m.live : m.copy.data());
        progress_.posted(rank, step, enqueue());
        progress_.complete(rank, step, enqueue());
        if (m.live) progress_.complete(m.sender.rank, m.sender.step, enqueue());
        return;
      }
    }
    progress_.complete(rank, step, enqueue());
  }

  // Whether the message was received at once.
  bool send(std::uint32_t rank, std::uint32_t step, const SimStep& s) {
    auto to = progress_.match(rank, s.slot);
    if (!to) return false;
    const SimStep& r = plans_[to->rank].steps[to->step];
    const std::size_t bytes = s.count * elemSize_;
    if (r.count != s.count)
      throw std::runtime_error("rank " + std::to_string(to->rank) + " expected " + std::to_string(r.count * elemSize_) +
                               " bytes from rank " + std::to_string(rank) + ", got " +
                               std::to_string(bytes));
    const unsigned char* data = at(rank, s.srcBuffer, s.srcOffset);
    if (progress_.onlyMessageMissing(*to)) {
      // The receive can run now, straight from the sender's buffer: no copy to park.
      progress_.arrive(*to, [](std::uint32_t, std::uint32_t) {});
      receive(to->rank, r, data);
      progress_.posted(to->rank, to->step, enqueue());
      progress_.complete(to->rank, to->step, enqueue());
      return true;
    }
    // Buffered, the sender may overwrite its buffer once the send is done: park a copy.
    // Pulled, the receiver reads the sender's buffer when it gets to it.
    Parked m;
    if (pulled_) m.live = data, m.sender = {rank, step};
    else m.copy.assign(data, data + bytes);
    pending_.emplace(key(to->rank, to->step), std::move(m));
    progress_.arrive(*to, enqueue());
    return false;
  }

  void receive(std::uint32_t rank, const SimStep& s, const unsigned char* message) {
    unsigned char* dst = at(rank, s.dstBuffer, s.dstOffset);
    if (s.kind == StepKind::Recv) std::memcpy(dst, message, s.count * elemSize_);
    else combine_(dst, at(rank, s.srcBuffer, s.srcOffset), message, s.count);
  }

  // A message sent before its receive could take it.
  struct Parked {
    std::vector<unsigned char> copy;      // buffered: the bytes as they were sent
    const unsigned char* live = nullptr;  // pulled: the sender's buffer, read at the receive
    StepRef sender{};                     // pulled: the send, done once read
  };

  const std::vector<SimPlan>& plans_;
  const std::vector<std::vector<void*>>& buffers_;
  const std::size_t elemSize_;
  const reduce::BinaryFn combine_;
  const bool pulled_;
  SimProgress progress_;
  std::vector<StepRef> ready_;
  std::unordered_map<std::uint64_t, Parked> pending_;  // by receiving (rank, step)
};

}  // namespace

void simulate(const std::vector<SimPlan>& plans, const std::vector<std::vector<void*>>& buffers, std::size_t elemSize,
              reduce::BinaryFn combine, SendCompletion sends) {
  DataRun(plans, buffers, elemSize, combine, sends).run();
}

void simulate(std::vector<SimRank>& ranks, std::size_t elemSize, reduce::BinaryFn combine, SendCompletion sends) {
  std::vector<SimPlan> plans;
  std::vector<std::vector<void*>> buffers;
  plans.reserve(ranks.size());
  buffers.reserve(ranks.size());
  for (const SimRank& r : ranks) {
    plans.emplace_back(*r.plan);
    buffers.push_back(r.buffers);
  }
  simulate(plans, buffers, elemSize, combine, sends);
}

}  // namespace braid
