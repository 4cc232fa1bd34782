#include "algorithms/simulator.h"

#include <cstring>
#include <deque>
#include <map>
#include <stdexcept>

namespace braid {

void simulate(std::vector<SimRank>& ranks, std::size_t elemSize, reduce::BinaryFn combine) {
  const std::size_t n = ranks.size();
  std::map<std::pair<std::size_t, int>, std::deque<std::vector<unsigned char>>> wire;  // (from, to)
  struct State {
    std::vector<std::uint32_t> waiting;
    std::vector<bool> done;
    std::vector<std::size_t> nextSend, nextRecv;  // per plan peer
    std::size_t finished = 0;
  };
  std::vector<State> st(n);
  for (std::size_t r = 0; r < n; ++r) {
    const Plan& p = *ranks[r].plan;
    st[r].done.assign(p.steps.size(), false);
    for (const auto& s : p.steps) st[r].waiting.push_back(s.numDeps);
    st[r].nextSend.assign(p.peers.size(), 0);
    st[r].nextRecv.assign(p.peers.size(), 0);
  }
  auto ptr = [&](std::size_t r, const Region& reg) {
    return static_cast<unsigned char*>(ranks[r].buffers.at(reg.buffer)) + reg.offset * elemSize;
  };
  auto finish = [&](std::size_t r, std::uint32_t i) {
    const Plan& p = *ranks[r].plan;
    st[r].done[i] = true;
    ++st[r].finished;
    for (std::uint32_t k = p.firstDependent[i]; k < p.firstDependent[i + 1]; ++k) --st[r].waiting[p.dependents[k]];
  };
  for (bool moved = true; moved;) {
    moved = false;
    for (std::size_t r = 0; r < n; ++r) {
      const Plan& p = *ranks[r].plan;
      for (std::uint32_t i = 0; i < p.steps.size(); ++i) {
        if (st[r].done[i] || st[r].waiting[i]) continue;
        const Step& s = p.steps[i];
        if (s.peer < 0) {
          if (s.kind == StepKind::Copy) std::memmove(ptr(r, s.dst), ptr(r, s.src), s.dst.count * elemSize);
          else combine(ptr(r, s.dst), ptr(r, s.dst), ptr(r, s.src), s.dst.count);
          finish(r, i);
          moved = true;
          continue;
        }
        std::size_t pi = 0;
        while (p.peers[pi] != s.peer) ++pi;
        if (s.kind == StepKind::Send) {
          if (p.sendsTo[pi][st[r].nextSend[pi]] != i) continue;  // earlier sends to this peer first
          auto* src = ptr(r, s.src);
          wire[{r, s.peer}].emplace_back(src, src + s.src.count * elemSize);
          ++st[r].nextSend[pi];
        } else {
          if (p.recvsFrom[pi][st[r].nextRecv[pi]] != i) continue;
          auto& q = wire[{static_cast<std::size_t>(s.peer), static_cast<int>(r)}];
          if (q.empty()) continue;
          auto& msg = q.front();
          if (msg.size() != s.dst.count * elemSize)
            throw std::runtime_error("rank " + std::to_string(r) + " expected " + std::to_string(s.dst.count * elemSize) +
                                     " bytes from rank " + std::to_string(s.peer) + ", got " + std::to_string(msg.size()));
          if (s.kind == StepKind::Recv) std::memcpy(ptr(r, s.dst), msg.data(), msg.size());
          else combine(ptr(r, s.dst), ptr(r, s.src), msg.data(), s.dst.count);
          q.pop_front();
          ++st[r].nextRecv[pi];
        }
        finish(r, i);
        moved = true;
      }
    }
  }
  for (std::size_t r = 0; r < n; ++r)
    if (st[r].finished != ranks[r].plan->steps.size())
      throw std::runtime_error("rank " + std::to_string(r) + " is stuck after " + std::to_string(st[r].finished) + " of " +
                               std::to_string(ranks[r].plan->steps.size()) + " steps");
  for (const auto& [key, q] : wire)
    if (!q.empty())
      throw std::runtime_error("rank " + std::to_string(key.first) + " sent " + std::to_string(q.size()) +
                               " messages to rank " + std::to_string(key.second) + " that nobody received");
}

}  // namespace braid
