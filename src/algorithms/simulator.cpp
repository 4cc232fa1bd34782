#include "algorithms/simulator.h"

#include <algorithm>
#include <cstring>
#include <map>
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
        strict_(pulled_ && totalSteps(plans) <= kStrictStepLimit),
        progress_(plans),
        unpulled_(strict_ ? plans.size() : 0) {}

  // Strict, the order steps run in makes unpulled_ catch a writer that does not wait
  // for a send: sends run as soon as they can, other local work next, and receives
  // only when nothing else can run, so that each send stays unpulled for as long as the
  // plans allow. Otherwise steps run as they become ready. Newest first in each class:
  // the steps of one rank stay together, in cache (oldest first took 1.5 times as long).
  void run() {
    progress_.start(enqueue());
    for (;;) {
      StepRef next;
      if (!ready_.empty()) {
        next = ready_.back();
        ready_.pop_back();
        const StepKind kind = plans_[next.rank].steps[next.step].kind;
        if (strict_ && kind != StepKind::Send) {
          if (isReceive(kind)) pulls_.push_back(next);
          else local_.push_back(next);
          continue;
        }
      } else if (!local_.empty()) {
        next = local_.back();
        local_.pop_back();
      } else if (!pulls_.empty()) {
        next = pulls_.back();
        pulls_.pop_back();
      } else {
        break;
      }
      runStep(next.rank, next.step);
    }
    progress_.checkFinished();
  }

 private:
  CollectSteps enqueue() { return CollectSteps{&ready_}; }

  unsigned char* at(std::uint32_t rank, BufferId buffer, std::uint32_t offset) const {
    return static_cast<unsigned char*>(buffers_[rank].at(buffer)) + std::size_t{offset} * elemSize_;
  }

  static std::uint64_t key(std::uint32_t rank, std::uint32_t step) { return std::uint64_t{rank} << 32 | step; }

  // Beyond this many steps in all, a run is not strict: the strict order parks every
  // message, which cost a 4096-rank all-to-all (16M messages) 1.7 times the memory and
  // several times the time, and smaller runs of the same algorithms check the same.
  static constexpr std::size_t kStrictStepLimit = std::size_t{1} << 22;

  static std::size_t totalSteps(const std::vector<SimPlan>& plans) {
    std::size_t n = 0;
    for (const SimPlan& p : plans) n += p.steps.size();
    return n;
  }

  static bool isReceive(StepKind k) { return k == StepKind::Recv || k == StepKind::RecvReduce; }

  void runStep(std::uint32_t rank, std::uint32_t step) {
    const SimStep& s = plans_[rank].steps[step];
    if (strict_ && (s.kind == StepKind::Copy || s.kind == StepKind::Reduce)) checkNotUnpulled(rank, step, s);
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
        // Receives come here once their message is parked: strict, every one; otherwise
        // those whose message had to wait (the others ran inside send()).
        auto parked = pending_.extract(key(rank, step));
        Parked& m = parked.mapped();
        // The message it takes is no longer offered (a rank may send to itself).
        if (strict_) {
          unpulled_[m.sender.rank].remove(m.live, m.sender.step);
          checkNotUnpulled(rank, step, s);
        }
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
    if (!strict_ && progress_.onlyMessageMissing(*to)) {
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
    if (pulled_) {
      m.live = data, m.sender = {rank, step};
      if (strict_) unpulled_[rank].add({data, data + bytes, step, static_cast<std::uint32_t>(to->rank)});
    } else {
      m.copy.assign(data, data + bytes);
    }
    pending_.emplace(key(to->rank, to->step), std::move(m));
    progress_.arrive(*to, enqueue());
    return false;
  }

  // A step that writes bytes a send of its rank has posted and nobody has pulled yet:
  // on a pull transport (cudaipc) the receiver would read the new bytes, or a mix. The
  // plan lacks a dependency of the writer on the send; a buffered run hides that.
  void checkNotUnpulled(std::uint32_t rank, std::uint32_t step, const SimStep& s) const {
    if (s.count == 0) return;
    const unsigned char* begin = at(rank, s.dstBuffer, s.dstOffset);
    if (const Unpulled* u = unpulled_[rank].overlapping(begin, begin + std::size_t{s.count} * elemSize_))
      throw std::runtime_error("rank " + std::to_string(rank) + ": step " + std::to_string(step) +
                               " writes the bytes that its send step " + std::to_string(u->step) + " to rank " +
                               std::to_string(u->to) +
                               " still offers (not yet received): the plan lacks a dependency of the "
                               "writer on the send");
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

  // A posted send whose bytes its receiver has not pulled yet.
  struct Unpulled {
    const unsigned char *begin, *end;
    std::uint32_t step, to;
  };

  // One rank's unpulled sends by the address where their bytes begin: an all-to-all
  // has thousands at once, a ring one or two. Ranges may overlap (one region sent to
  // several peers) and lie in different buffers, hence plain addresses.
  class UnpulledSends {
   public:
    void add(const Unpulled& u) {
      if (u.begin == u.end) return;  // offers no bytes
      longest_ = std::max(longest_, address(u.end) - address(u.begin));
      byBegin_.emplace(address(u.begin), u);
    }
    void remove(const unsigned char* begin, std::uint32_t step) {
      auto [first, last] = byBegin_.equal_range(address(begin));
      for (auto it = first; it != last; ++it)
        if (it->second.step == step) return void(byBegin_.erase(it));
    }
    // One whose bytes overlap [begin, end), or nullptr: only a send that begins less
    // than the longest one's length before `begin` can reach into the range.
    const Unpulled* overlapping(const unsigned char* begin, const unsigned char* end) const {
      const std::uintptr_t b = address(begin), from = b > longest_ ? b - longest_ : 0;
      for (auto it = byBegin_.upper_bound(from); it != byBegin_.end() && it->first < address(end); ++it)
        if (address(it->second.end) > b) return &it->second;
      return nullptr;
    }

   private:
    static std::uintptr_t address(const unsigned char* p) { return reinterpret_cast<std::uintptr_t>(p); }
    std::multimap<std::uintptr_t, Unpulled> byBegin_;
    std::uintptr_t longest_ = 0;
  };

  const std::vector<SimPlan>& plans_;
  const std::vector<std::vector<void*>>& buffers_;
  const std::size_t elemSize_;
  const reduce::BinaryFn combine_;
  const bool pulled_;
  const bool strict_;  // pulled, and small enough to check for writers racing a pull
  SimProgress progress_;
  std::vector<StepRef> ready_;                         // as SimProgress reports them
  std::vector<StepRef> local_;                         // strict: ready copies and reductions
  std::vector<StepRef> pulls_;                         // strict: ready receives
  std::unordered_map<std::uint64_t, Parked> pending_;  // by receiving (rank, step)
  std::vector<UnpulledSends> unpulled_;                // by sending rank
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
