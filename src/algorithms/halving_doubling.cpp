// PLACEHOLDER: a helper replaces this file with the real algorithm.
#include "algorithms/algorithms.h"
#include <stdexcept>
namespace braid {
Plan halvingDoublingAllReduce(const CollectiveShape&) { throw std::logic_error("halvingDoublingAllReduce: not implemented yet"); }
Plan halvingDoublingReduceScatter(const CollectiveShape&) { throw std::logic_error("halvingDoublingReduceScatter: not implemented yet"); }
Plan recursiveDoublingAllGather(const CollectiveShape&) { throw std::logic_error("recursiveDoublingAllGather: not implemented yet"); }
}  // namespace braid
