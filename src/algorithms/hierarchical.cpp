// PLACEHOLDER: a helper replaces this file with the real algorithm.
#include "algorithms/algorithms.h"
#include <stdexcept>
namespace braid {
Plan hierarchicalAllReduce(const CollectiveShape&) { throw std::logic_error("hierarchicalAllReduce: not implemented yet"); }
Plan hierarchicalAllGather(const CollectiveShape&) { throw std::logic_error("hierarchicalAllGather: not implemented yet"); }
Plan hierarchicalReduceScatter(const CollectiveShape&) { throw std::logic_error("hierarchicalReduceScatter: not implemented yet"); }
}  // namespace braid
