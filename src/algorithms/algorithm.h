#pragma once
// The algorithms a collective can run with, their names (as BRAID_ALGO spells them),
// and which collectives each supports. The tuner picks one per call; the plan builder
// dispatches on it.
#include "algorithms/collective.h"

#include <optional>
#include <string_view>
#include <vector>

namespace braid {

enum class Algorithm : std::uint8_t {
  Ring,               // all-reduce, all-gather, reduce-scatter; broadcast/reduce as a pipelined chain
  Tree,               // double binary tree all-reduce; binary tree broadcast and reduce
  HalvingDoubling,    // Rabenseifner all-reduce, recursive halving reduce-scatter
  RecursiveDoubling,  // all-gather
  Bruck,              // all-gather
  Hierarchical,       // intra-node, then across nodes, then intra-node again
  Direct,             // all-to-all: every pair directly
};

inline constexpr Algorithm kAllAlgorithms[] = {Algorithm::Ring,   Algorithm::Tree,         Algorithm::HalvingDoubling,
                                               Algorithm::RecursiveDoubling, Algorithm::Bruck, Algorithm::Hierarchical,
                                               Algorithm::Direct};

// "ring", "tree", "hd", "rd", "bruck", "hier", "direct".
const char* toString(Algorithm a);
std::optional<Algorithm> parseAlgorithm(std::string_view name);

bool supports(Algorithm a, Collective c);
std::vector<Algorithm> algorithmsFor(Collective c);
Algorithm defaultAlgorithm(Collective c);

}  // namespace braid
