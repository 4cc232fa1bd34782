#pragma once
// What a plan is built for: the collective, the rank's place, the sizes. Also the key
// of the plan cache, so every field that changes the plan is here.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "algorithms/node_layout.h"

namespace braid {

enum class Algorithm : std::uint8_t;
enum class Collective : std::uint8_t { AllReduce, AllGather, ReduceScatter, Broadcast, Reduce, AllToAll };

const char* toString(Collective c);

struct CollectiveShape {
  Collective collective = Collective::AllReduce;
  int rank = 0;
  int size = 1;
  // Elements per rank's block for AllGather/ReduceScatter/AllToAll; the whole
  // buffer for AllReduce/Broadcast/Reduce.
  std::size_t count = 0;
  int root = 0;
  bool inPlace = false;
  std::size_t sliceElems = 1;  // pipeline slice, in elements
  Algorithm algorithm{};       // Ring (0) unless the tuner or BRAID_ALGO says otherwise
  // Hierarchical plans only: where the ranks live. Shared and immutable, so the plan
  // cache may compare it by address.
  std::shared_ptr<const NodeLayout> nodes;

  bool operator==(const CollectiveShape&) const = default;
};

struct CollectiveShapeHash {
  std::size_t operator()(const CollectiveShape& s) const {
    std::size_t h = std::hash<std::size_t>()(s.count);
    auto mix = [&](std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
    mix(static_cast<std::size_t>(s.collective));
    mix(static_cast<std::size_t>(s.rank));
    mix(static_cast<std::size_t>(s.size));
    mix(static_cast<std::size_t>(s.root));
    mix(s.inPlace);
    mix(s.sliceElems);
    mix(static_cast<std::size_t>(s.algorithm));
    mix(std::hash<const void*>()(s.nodes.get()));
    return h;
  }
};

}  // namespace braid
