#include "topology/algo_override.h"

#include "core/byte_size.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>

namespace braid {
namespace {

// BRAID_ALGO spells collectives without dashes, as NCCL_ALGO's per-collective form does.
constexpr std::pair<const char*, Collective> kCollectiveNames[] = {{"allreduce", Collective::AllReduce},
                                                                   {"allgather", Collective::AllGather},
                                                                   {"reducescatter", Collective::ReduceScatter},
                                                                   {"broadcast", Collective::Broadcast},
                                                                   {"reduce", Collective::Reduce},
                                                                   {"alltoall", Collective::AllToAll}};

constexpr const char* kCollectiveList = "allreduce, allgather, reducescatter, broadcast, reduce, alltoall";
constexpr const char* kAlgorithmList = "ring, tree, hd, rd, bruck, hier, direct";

[[noreturn]] void reject(const std::string& what) { throw std::invalid_argument("BRAID_ALGO: " + what); }

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits on `sep`, keeping empty pieces so that "a;;b" and "a;" can be rejected.
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> pieces;
  for (std::size_t at = s.find(sep); at != std::string_view::npos; at = s.find(sep)) {
    pieces.push_back(trim(s.substr(0, at)));
    s.remove_prefix(at + 1);
  }
  pieces.push_back(trim(s));
  return pieces;
}

Collective collectiveNamed(std::string_view name, std::string_view rule) {
  if (auto c = collectiveSpelled(name)) return *c;
  reject("unknown collective " + quoted(name) + " in rule " + quoted(rule) + " (expected one of " + kCollectiveList +
         ")");
}

Algorithm algorithmNamed(std::string_view name, std::string_view context) {
  if (name.empty()) reject("missing algorithm in " + quoted(context) + " (expected one of " + kAlgorithmList + ")");
  if (auto a = parseAlgorithm(lowered(name))) return *a;
  reject("unknown algorithm " + quoted(name) + " in " + quoted(context) + " (expected one of " + kAlgorithmList + ")");
}

std::uint64_t sizeNamed(std::string_view text, std::string_view range) {
  if (const auto bytes = parseByteSize(text)) return *bytes;
  reject("bad size " + quoted(text) + " in range " + quoted(range) + " (expected a size such as 64K, 1.5M or 2G)");
}

AlgoRange rangeNamed(std::string_view piece, Collective c, std::string_view rule) {
  if (piece.empty()) reject("empty range in rule " + quoted(rule) + " (expected [LO-HI:]algo)");
  const auto parts = split(piece, ':');
  if (parts.size() > 2)
    reject("unexpected " + quoted(piece.substr(piece.find(':', piece.find(':') + 1))) + " after the algorithm in " +
           quoted(rule) + " (expected [LO-HI:]algo)");
  AlgoRange r;
  r.algorithm = algorithmNamed(parts.back(), piece);
  if (!supports(r.algorithm, c))
    reject(std::string("algorithm ") + quoted(parts.back()) + " does not support " + spelling(c) + " in " +
           quoted(rule));
  if (parts.size() == 2) {
    const std::string_view bounds = parts.front();
    const std::size_t dash = bounds.find('-');
    if (dash == std::string_view::npos)
      reject("range " + quoted(bounds) + " in " + quoted(rule) + " has no '-' (expected LO-HI or LO-)");
    r.lo = sizeNamed(trim(bounds.substr(0, dash)), bounds);
    const std::string_view hi = trim(bounds.substr(dash + 1));
    r.hi = hi.empty() ? kNoUpperBound : sizeNamed(hi, bounds);
    if (r.lo >= r.hi) reject("range " + quoted(bounds) + " in " + quoted(rule) + " is empty (expected LO < HI)");
  }
  return r;
}

}  // namespace

const char* spelling(Collective c) {
  for (const auto& [name, named] : kCollectiveNames)
    if (named == c) return name;
  return "?";
}

std::optional<Collective> collectiveSpelled(std::string_view name) {
  const std::string key = lowered(name);
  for (const auto& [known, c] : kCollectiveNames)
    if (key == known) return c;
  return std::nullopt;
}

AlgoOverride AlgoOverride::parse(std::string_view text) {
  AlgoOverride out;
  text = trim(text);
  if (text.empty()) return out;

  if (text.find(':') == std::string_view::npos) {
    for (std::string_view name : split(text, ',')) {
      if (name.empty()) reject("empty entry in list " + quoted(text) + " (expected e.g. ring,tree)");
      out.plainList_.push_back(algorithmNamed(name, text));
    }
    return out;
  }

  for (std::string_view rule : split(text, ';')) {
    if (rule.empty()) reject("empty rule in " + quoted(text) + " (expected collective:ranges between ';')");
    const std::size_t colon = rule.find(':');
    if (colon == std::string_view::npos)
      reject("rule " + quoted(rule) + " has no ':' (expected collective:ranges, e.g. allgather:bruck)");
    const Collective c = collectiveNamed(trim(rule.substr(0, colon)), rule);
    auto& ranges = out.ranges_[static_cast<std::size_t>(c)];
    for (std::string_view piece : split(rule.substr(colon + 1), ',')) {
      const AlgoRange r = rangeNamed(piece, c, rule);
      for (const AlgoRange& other : ranges)
        if (r.lo < other.hi && other.lo < r.hi)
          reject("range " + quoted(piece) + " in " + quoted(rule) + " overlaps an earlier range for " + spelling(c) +
                 " (expected disjoint ranges)");
      ranges.push_back(r);
    }
  }
  return out;
}

std::optional<Algorithm> AlgoOverride::forced(Collective c, std::uint64_t bytes) const {
  for (const AlgoRange& r : ranges(c))
    if (bytes >= r.lo && bytes < r.hi) return r.algorithm;
  return std::nullopt;
}

bool AlgoOverride::allowed(Collective c, Algorithm a) const {
  if (!supports(a, c)) return false;
  const bool listCoversCollective =
      std::any_of(plainList_.begin(), plainList_.end(), [&](Algorithm listed) { return supports(listed, c); });
  if (!listCoversCollective) return true;
  return std::find(plainList_.begin(), plainList_.end(), a) != plainList_.end();
}

std::string AlgoOverride::canonical() const {
  std::string out;
  for (std::size_t c = 0; c < ranges_.size(); ++c) {
    if (ranges_[c].empty()) continue;
    std::vector<AlgoRange> sorted = ranges_[c];
    std::sort(sorted.begin(), sorted.end(), [](const AlgoRange& a, const AlgoRange& b) { return a.lo < b.lo; });
    // Ranges never overlap (parse refuses it), so touching ones of one algorithm are one.
    std::vector<AlgoRange> merged;
    for (const AlgoRange& r : sorted) {
      if (!merged.empty() && merged.back().hi == r.lo && merged.back().algorithm == r.algorithm) merged.back().hi = r.hi;
      else merged.push_back(r);
    }
    out += std::string(spelling(static_cast<Collective>(c))) + ":";
    for (const AlgoRange& r : merged)
      out += std::to_string(r.lo) + "-" + (r.hi == kNoUpperBound ? "" : std::to_string(r.hi)) + ":" +
             toString(r.algorithm) + ",";
    out.back() = ';';
  }
  std::vector<Algorithm> list = plainList_;
  std::sort(list.begin(), list.end());
  list.erase(std::unique(list.begin(), list.end()), list.end());
  for (Algorithm a : list) out += std::string(toString(a)) + ",";
  return out;
}

bool AlgoOverride::empty() const {
  return plainList_.empty() && std::all_of(ranges_.begin(), ranges_.end(), [](const auto& r) { return r.empty(); });
}

}  // namespace braid
