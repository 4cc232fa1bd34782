#include "soak_draw.h"

#include <algorithm>

namespace braid::soak {

bool reduces(Collective c) {
  return c == Collective::AllReduce || c == Collective::ReduceScatter || c == Collective::Reduce;
}

std::size_t drawCount(Random& random, std::size_t maxCount) {
  const auto roll = random.below(100);
  std::size_t count;
  if (roll < 6) count = 0;
  else if (roll < 36) count = random.between(1, 9);        // fewer elements than ranks x slices
  else if (roll < 72) count = random.between(10, 400);
  else if (roll < 94) count = random.between(401, 6000);
  else count = random.between(6001, std::max<std::size_t>(6001, maxCount));  // the tail: many slices
  return std::min(count, maxCount);
}

Call drawCall(Random& random, long index, int ranks, std::size_t maxCount,
              const std::vector<AlgorithmSetting>& settings) {
  static constexpr Collective kCollectives[] = {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
                                                Collective::Broadcast, Collective::Reduce,    Collective::AllToAll};
  Call call;
  call.index = index;
  call.collective = kCollectives[random.below(6)];
  call.type = static_cast<DataType>(random.below(kNumDataTypes));
  // Every op is defined for every type (types.h); non-reducing calls ignore it.
  call.op = reduces(call.collective) ? static_cast<ReduceOp>(random.below(kNumReduceOps)) : ReduceOp::Sum;
  // Block collectives move ranks x count elements; keep their total in the same range.
  const bool blocks = call.collective == Collective::AllGather || call.collective == Collective::ReduceScatter ||
                      call.collective == Collective::AllToAll;
  call.count = drawCount(random, blocks ? std::max<std::size_t>(1, maxCount / static_cast<std::size_t>(ranks)) : maxCount);
  call.inPlace = random.chance(50);
  call.async = (call.collective == Collective::AllReduce || call.collective == Collective::AllGather ||
                call.collective == Collective::ReduceScatter) &&
               random.chance(15);
  call.root = static_cast<int>(random.below(static_cast<std::uint64_t>(ranks)));
  std::vector<int> able;
  for (std::size_t i = 0; i < settings.size(); ++i)
    if (settings[i].canRun(call.collective)) able.push_back(static_cast<int>(i));
  call.setting = able[random.below(able.size())];  // the tuner setting can run everything
  call.seed = static_cast<unsigned>(random.next());
  return call;
}

std::string describe(const Call& call, const std::vector<AlgorithmSetting>& settings) {
  std::string s = "call " + std::to_string(call.index) + ": " + toString(call.collective) + " " +
                  std::string(toString(call.type));
  if (reduces(call.collective)) s += " " + std::string(toString(call.op));
  s += " count " + std::to_string(call.count) + (call.inPlace ? " in-place" : " out-of-place");
  if (call.async) s += " async";
  if (call.collective == Collective::Broadcast || call.collective == Collective::Reduce)
    s += " root " + std::to_string(call.root);
  s += " algorithm " + settings[static_cast<std::size_t>(call.setting)].name;
  return s;
}

}  // namespace braid::soak
