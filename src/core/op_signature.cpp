#include "core/op_signature.h"

#include <cstdio>

namespace braid {
namespace {

bool reduces(Collective c) {
  return c == Collective::AllReduce || c == Collective::ReduceScatter || c == Collective::Reduce;
}
bool hasRoot(Collective c) { return c == Collective::Broadcast || c == Collective::Reduce; }

std::uint32_t countRootHash(std::size_t count, int root) {
  std::uint64_t h = count * 0x9e3779b97f4a7c15ULL ^ (static_cast<std::uint64_t>(root) + 1) * 0xc2b2ae3d27d4eb4fULL;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 32;
  return static_cast<std::uint32_t>(h & 0x3ff);
}

}  // namespace

std::uint32_t opSignature(const OpCall& call) {
  const auto op = reduces(call.collective) ? static_cast<std::uint32_t>(call.op) : 0u;
  return static_cast<std::uint32_t>(call.seq & 0xfff) | (static_cast<std::uint32_t>(call.collective) + 1) << 12 |
         static_cast<std::uint32_t>(call.type) << 15 | op << 19 |
         countRootHash(call.count, hasRoot(call.collective) ? call.root : 0) << 22;
}

std::string describeOpSignature(std::uint32_t s) {
  if (s == 0) return "unchecked";
  const std::uint32_t coll = (s >> 12) & 7, type = (s >> 15) & 15, op = (s >> 19) & 7;
  std::string name = coll >= 1 && coll <= 6 ? toString(static_cast<Collective>(coll - 1)) : "unknown collective";
  std::string typeName = type < kNumDataTypes ? std::string(toString(static_cast<DataType>(type))) : "unknown type";
  std::string text = name + " (call #" + std::to_string(s & 0xfff) + " mod 4096, " + typeName;
  if (reduces(static_cast<Collective>(coll - 1)))
    text += ", " + (op < kNumReduceOps ? std::string(toString(static_cast<ReduceOp>(op))) : "unknown op");
  char hash[16];
  std::snprintf(hash, sizeof hash, "0x%03x", s >> 22);
  return text + ", count/root hash " + hash + ")";
}

}  // namespace braid
