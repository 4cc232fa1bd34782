#include "core/status_report.h"

#include "core/rank_groups.h"

#include <cstdio>

namespace braid {
namespace {

std::string seconds(std::int64_t ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms) / 1000.0);
  return text;
}

// How a call the peer entered ended, or that it has not.
std::string outcome(const RankRecord& r) {
  if (r.completed.seq == r.entered.seq) return "completed";
  auto state = static_cast<CallState>(r.state);
  return state == CallState::InCollective ? "still running" : toString(state);
}

std::string lastCall(const RankRecord& r) {
  if (r.entered.seq == 0) return "it has made no collective call yet";
  return "its last call was " + toString(r.entered) + ", " + outcome(r);
}

std::string nowDoing(const RankRecord& r) {
  return "; " + std::string(toString(static_cast<CallState>(r.state))) + " for " + seconds(r.msInState);
}

// What rank `r` is doing relative to `current`. Lines meant to be shared by many ranks
// carry no per-rank detail (no times), so identical states group.
std::string describe(const RankRecord& r, const CallDesc* current) {
  if (!current) return "last collective " + toString(r.entered) + nowDoing(r);
  const std::string call = toString(*current);
  if (r.entered.seq < current->seq) return "never arrived at " + call + ": " + lastCall(r) + nowDoing(r);
  if (r.entered.seq > current->seq) return "is past it: " + lastCall(r);
  if (!(r.entered == *current))
    return "called " + toString(r.entered) + " instead: a different call at the same position";
  if (r.completed.seq == current->seq) return "completed " + call;
  if (static_cast<CallState>(r.state) == CallState::InCollective) return "in " + call + " too";
  return std::string(toString(static_cast<CallState>(r.state))) + " in " + call;
}

}  // namespace

std::string statusReport(int self, const CallDesc* current, const std::vector<StatusBoard::Answer>& answers,
                         const std::vector<std::string>& hosts, int askedMs) {
  std::vector<int> pids(answers.size(), 0);
  auto describeRank = [&](int r) {
    const auto& a = answers[r];
    if (a.link == StatusBoard::Link::Gone)
      return std::string("gone: its status link closed without a goodbye (process exited or was killed)");
    if (a.link == StatusBoard::Link::Left && !a.answered) return std::string("has destroyed its communicator");
    if (!a.answered) return "did not answer within " + std::to_string(askedMs) + " ms (gone or hung)";
    pids[r] = a.record.pid;
    if (a.link == StatusBoard::Link::Left)
      return describe(a.record, current) + "; it has since destroyed its communicator";
    return describe(a.record, current);
  };
  const auto groups = groupRanks(static_cast<int>(answers.size()), describeRank, self);
  if (groups.empty()) return "";
  std::string out = "\n  what the other ranks were doing";
  out += current ? " (asked when " + toString(*current) + " failed here):" : " (asked when send/recv failed here):";
  for (const auto& [text, ranks] : groups) {
    if (ranks.size() == 1) {
      const int r = ranks[0];
      out += "\n    rank " + std::to_string(r) + " (" + hosts[r];
      if (pids[r] > 0) out += ", pid " + std::to_string(pids[r]);
      out += "): " + text;
    } else {
      out += "\n    " + namedRanks(ranks) + ": " + text;
    }
  }
  return out;
}

}  // namespace braid
