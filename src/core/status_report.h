#pragma once
// The text a TimeoutError carries after the executor's own account (which peers still
// owe this rank bytes): what every other rank said it was doing when asked, measured
// against the call that timed out here. Ranks in the same state share a line, so a
// large job reads as a few lines: who never arrived, who is elsewhere, who is waiting.
#include "core/call_record.h"
#include "core/status_board.h"

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace braid {

// `current` is the collective that timed out here, or null for send/recv (no sequence
// to compare against). `hosts` is indexed by rank.
std::string statusReport(int self, const CallDesc* current, const std::vector<StatusBoard::Answer>& answers,
                         const std::vector<std::string>& hosts, int askedMs);

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
