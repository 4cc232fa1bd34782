#pragma once
// A 32-bit summary of one collective call, carried in every message header so that a
// receiver notices at once when its peer is in a different call (another collective,
// data type, op or count at the same sequence number) instead of misreading its data.
// 0 means "unchecked" (point-to-point traffic, which has no common sequence).
#include <braid/types.h>

#include "algorithms/collective.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace braid {

struct OpCall {
  std::uint64_t seq = 0;  // per communicator, counting every collective call from 1
  Collective collective = Collective::AllReduce;
  DataType type = DataType::Float32;
  ReduceOp op = ReduceOp::Sum;  // ignored for collectives that do not reduce
  std::size_t count = 0;
  int root = 0;                 // ignored for collectives without a root
};

// Bits 0-11 seq mod 4096, 12-14 collective + 1, 15-18 type, 19-21 op, 22-31 a hash of
// count and root. Never 0.
std::uint32_t opSignature(const OpCall& call);
// "all-reduce (call #37 mod 4096, float32, sum, count/root hash 0x1a3)", or
// "unchecked" for 0.
std::string describeOpSignature(std::uint32_t signature);

}  // namespace braid
