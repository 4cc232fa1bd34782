#pragma once
// BRAID_ALGO: the user's say over the tuner. Two forms:
//
//   allreduce:0-64K:tree,64K-:ring;allgather:bruck
//     rules separated by ';', each `collective:ranges`; ranges separated by ',', each
//     `[LO-HI:]algo`. LO-HI is half-open [LO, HI) in bytes, written as every size in
//     Braid is (core/byte_size.h: 0, 64, 64K, 1.5M, 2GiB; K/M/G are powers of 1024, any
//     case); an empty HI means no upper bound; a bare algo
//     covers every size. Sizes are the nccl-tests "size" of a call: the whole buffer
//     for all-reduce, broadcast and reduce; count * ranks * element size for
//     all-gather, reduce-scatter and all-to-all.
//
//   ring,tree
//     NCCL_ALGO's plain list (no ':'): every collective is restricted to the listed
//     algorithms that support it; a collective none of them supports keeps the tuner's
//     full choice.
//
// Names are case-insensitive. Anything else is rejected when parsed, so a typo fails
// the job at start-up instead of silently running the default.
#include "algorithms/algorithm.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace braid {

inline constexpr int kCollectives = 6;  // the members of Collective
inline constexpr std::uint64_t kNoUpperBound = UINT64_MAX;

struct AlgoRange {
  std::uint64_t lo = 0;
  std::uint64_t hi = kNoUpperBound;  // exclusive
  Algorithm algorithm{};
  bool operator==(const AlgoRange&) const = default;
};

// How BRAID_ALGO (and the tuning file) spell a collective: "allreduce", "allgather", ...
const char* spelling(Collective c);
std::optional<Collective> collectiveSpelled(std::string_view name);  // case-insensitive

class AlgoOverride {
 public:
  AlgoOverride() = default;  // overrides nothing

  // Throws std::invalid_argument quoting the offending piece and what was expected.
  // An empty (or all-blank) text overrides nothing.
  static AlgoOverride parse(std::string_view text);

  // The algorithm a rule forces for a call of `bytes`, if one covers it.
  std::optional<Algorithm> forced(Collective c, std::uint64_t bytes) const;
  // Whether the tuner may pick `a` for `c` when no rule forces a choice.
  bool allowed(Collective c, Algorithm a) const;
  bool empty() const;
  // One text for overrides written differently (case, blanks, units, the order of
  // ranges or of a list, touching ranges of one algorithm or one range): what ranks
  // compare to know they choose alike. A rule for one collective and a plain list
  // ("allreduce:ring" and "ring") act differently on the other collectives: they differ.
  std::string canonical() const;

  const std::vector<AlgoRange>& ranges(Collective c) const { return ranges_[static_cast<std::size_t>(c)]; }

 private:
  std::array<std::vector<AlgoRange>, kCollectives> ranges_;
  std::vector<Algorithm> plainList_;  // NCCL_ALGO form; empty when not used
};

}  // namespace braid
