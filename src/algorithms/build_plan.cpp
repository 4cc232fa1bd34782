#include "algorithms/algorithms.h"

#include <stdexcept>
#include <string>

namespace braid {

Plan buildPlan(const CollectiveShape& s) {
  using A = Algorithm;
  using C = Collective;
  switch (s.algorithm) {
    case A::Ring:
      switch (s.collective) {
        case C::AllReduce: return ringAllReduce(s);
        case C::AllGather: return ringAllGather(s);
        case C::ReduceScatter: return ringReduceScatter(s);
        case C::Broadcast: return chainBroadcast(s);
        case C::Reduce: return chainReduce(s);
        case C::AllToAll: break;
      }
      break;
    case A::Tree:
      if (s.collective == C::AllReduce) return treeAllReduce(s);
      if (s.collective == C::Broadcast) return treeBroadcast(s);
      if (s.collective == C::Reduce) return treeReduce(s);
      break;
    case A::HalvingDoubling:
      if (s.collective == C::AllReduce) return halvingDoublingAllReduce(s);
      if (s.collective == C::ReduceScatter) return halvingDoublingReduceScatter(s);
      break;
    case A::RecursiveDoubling:
      if (s.collective == C::AllGather) return recursiveDoublingAllGather(s);
      break;
    case A::Bruck:
      if (s.collective == C::AllGather) return bruckAllGather(s);
      break;
    case A::Hierarchical:
      if (!s.nodes) throw std::invalid_argument("hierarchical plan needs the node layout");
      if (s.collective == C::AllReduce) return hierarchicalAllReduce(s);
      if (s.collective == C::AllGather) return hierarchicalAllGather(s);
      if (s.collective == C::ReduceScatter) return hierarchicalReduceScatter(s);
      break;
    case A::Direct:
      if (s.collective == C::AllToAll) return directAllToAll(s);
      break;
  }
  throw std::invalid_argument(std::string("algorithm ") + toString(s.algorithm) + " does not support " +
                              toString(s.collective));
}

}  // namespace braid
