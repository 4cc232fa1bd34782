#pragma once
// Messages about many ranks name each group of ranks that share a value once, however
// many ranks it holds, so that a large job's error reads as a few lines.
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace braid {

// "0-2,5,7-8"
std::string rankList(const std::vector<int>& ranks);
// "rank 3", "ranks 0-2,5": the subject of a sentence about them.
std::string namedRanks(const std::vector<int>& ranks);

// Ranks that share a value, for messages that name each group once however many ranks
// it holds. Groups come in the order of their first rank.
template <class T>
struct RankGroup {
  T value;
  std::vector<int> ranks;
};

// Groups ranks 0..count-1 (but `skip`) by valueOf(rank), compared with ==.
template <class ValueOf>
auto groupRanks(int count, ValueOf valueOf, int skip = -1) {
  using T = std::decay_t<decltype(valueOf(0))>;
  std::vector<RankGroup<T>> groups;
  for (int r = 0; r < count; ++r) {
    if (r == skip) continue;
    T value = valueOf(r);
    auto it = groups.begin();
    while (it != groups.end() && !(it->value == value)) ++it;
    if (it == groups.end()) groups.push_back({std::move(value), {r}});
    else it->ranks.push_back(r);
  }
  return groups;
}

}  // namespace braid
