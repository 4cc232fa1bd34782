#include "algorithms/algorithm.h"

namespace braid {

const char* toString(Algorithm a) {
  switch (a) {
    case Algorithm::Ring: return "ring";
    case Algorithm::Tree: return "tree";
    case Algorithm::HalvingDoubling: return "hd";
    case Algorithm::RecursiveDoubling: return "rd";
    case Algorithm::Bruck: return "bruck";
    case Algorithm::Hierarchical: return "hier";
    case Algorithm::Direct: return "direct";
  }
  return "?";
}

std::optional<Algorithm> parseAlgorithm(std::string_view name) {
  for (Algorithm a : kAllAlgorithms)
    if (name == toString(a)) return a;
  return std::nullopt;
}

bool supports(Algorithm a, Collective c) {
  switch (c) {
    case Collective::AllReduce:
      return a == Algorithm::Ring || a == Algorithm::Tree || a == Algorithm::HalvingDoubling || a == Algorithm::Hierarchical;
    case Collective::AllGather:
      return a == Algorithm::Ring || a == Algorithm::RecursiveDoubling || a == Algorithm::Bruck ||
             a == Algorithm::Hierarchical;
    case Collective::ReduceScatter:
      return a == Algorithm::Ring || a == Algorithm::HalvingDoubling || a == Algorithm::Hierarchical;
    case Collective::Broadcast:
    case Collective::Reduce: return a == Algorithm::Ring || a == Algorithm::Tree;
    case Collective::AllToAll: return a == Algorithm::Direct;
  }
  return false;
}

std::vector<Algorithm> algorithmsFor(Collective c) {
  std::vector<Algorithm> out;
  for (Algorithm a : kAllAlgorithms)
    if (supports(a, c)) out.push_back(a);
  return out;
}

Algorithm defaultAlgorithm(Collective c) { return c == Collective::AllToAll ? Algorithm::Direct : Algorithm::Ring; }

}  // namespace braid
