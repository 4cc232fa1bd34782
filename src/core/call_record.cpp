#include "core/call_record.h"

namespace braid {
namespace {

bool reduces(Collective c) {
  return c == Collective::AllReduce || c == Collective::ReduceScatter || c == Collective::Reduce;
}
bool hasRoot(Collective c) { return c == Collective::Broadcast || c == Collective::Reduce; }

}  // namespace

CallDesc describeCall(std::uint64_t seq, Collective c, DataType type, ReduceOp op, std::size_t count, int root) {
  CallDesc d;
  d.seq = seq;
  d.count = count;
  d.collective = static_cast<std::int32_t>(c);
  d.type = static_cast<std::int32_t>(type);
  // Fields a collective ignores are normalised, so two ranks that differ only there agree.
  d.op = reduces(c) ? static_cast<std::int32_t>(op) : -1;
  d.root = hasRoot(c) ? root : -1;
  return d;
}

std::string toString(const CallDesc& d) {
  if (d.seq == 0) return "no collective yet";
  // Values come from peers: name only what is in range.
  std::string name = d.collective >= 0 && d.collective <= static_cast<int>(Collective::AllToAll)
                         ? toString(static_cast<Collective>(d.collective))
                         : "collective " + std::to_string(d.collective);
  std::string text = name + " #" + std::to_string(d.seq) + " (count " + std::to_string(d.count) + ", ";
  text += d.type >= 0 && d.type < kNumDataTypes ? std::string(toString(static_cast<DataType>(d.type)))
                                                : "type " + std::to_string(d.type);
  if (d.op >= 0)
    text += ", " + (d.op < kNumReduceOps ? std::string(toString(static_cast<ReduceOp>(d.op)))
                                          : "op " + std::to_string(d.op));
  if (d.root >= 0) text += ", root " + std::to_string(d.root);
  return text + ")";
}

const char* toString(CallState s) {
  switch (s) {
    case CallState::Idle: return "idle";
    case CallState::InCollective: return "in a collective";
    case CallState::InPointToPoint: return "in send/recv";
    case CallState::Failed: return "failed";
    case CallState::Aborted: return "aborted";
  }
  return "in an unknown state";
}

}  // namespace braid
