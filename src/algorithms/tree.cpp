// PLACEHOLDER: a helper replaces this file with the real algorithm.
#include "algorithms/algorithms.h"
#include <stdexcept>
namespace braid {
Plan treeAllReduce(const CollectiveShape&) { throw std::logic_error("treeAllReduce: not implemented yet"); }
Plan treeBroadcast(const CollectiveShape&) { throw std::logic_error("treeBroadcast: not implemented yet"); }
Plan treeReduce(const CollectiveShape&) { throw std::logic_error("treeReduce: not implemented yet"); }
}  // namespace braid
