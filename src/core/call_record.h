#pragma once
// What a rank knows about its own collective calls: the description that ranks compare
// under BRAID_CHECK=full, and the record its status board hands to any peer that asks
// (which call it last entered, which it last completed, what it is doing now).
#include <braid/types.h>

#include "algorithms/collective.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace braid {

// One collective call as every rank must agree on it. Fixed layout: it travels
// between ranks as bytes (same build on every rank, checked at init by the bootstrap).
struct CallDesc {
  std::uint64_t seq = 0;  // per communicator, from 1; 0 = no collective yet
  std::uint64_t count = 0;
  std::int32_t collective = 0;
  std::int32_t type = 0;
  std::int32_t op = -1;    // -1 when the collective does not reduce
  std::int32_t root = -1;  // -1 when the collective has no root
  bool operator==(const CallDesc&) const = default;
};
static_assert(sizeof(CallDesc) == 32);

CallDesc describeCall(std::uint64_t seq, Collective c, DataType type, ReduceOp op, std::size_t count, int root);
// "all-gather #11 (count 1024, float32)", "reduce #4 (count 8, int32, max, root 2)";
// "no collective yet" for seq 0.
std::string toString(const CallDesc& d);

enum class CallState : std::int32_t { Idle, InCollective, InPointToPoint, Failed, Aborted };
const char* toString(CallState s);

// A rank's answer to a status query. Fixed layout, like CallDesc.
struct RankRecord {
  CallDesc entered;    // the last collective entered
  CallDesc completed;  // the last collective completed
  std::int32_t state = 0;  // CallState
  std::int32_t pid = 0;
  std::int64_t msInState = 0;  // how long it has been in `state`, when it answered
};
static_assert(sizeof(RankRecord) == 80);

}  // namespace braid
