#include "common/memory_bound.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <utility>

namespace perf {
namespace {

bool onHost(const RankInfo& r) { return std::strcmp(r.memory, "host") == 0; }

// Host memory is one per host; device memory one per GPU of a host.
std::pair<std::string, int> memoryOf(const RankInfo& r) { return {r.host, onHost(r) ? -1 : r.device}; }

}  // namespace

MemoryBound memoryBound(const std::vector<RankInfo>& ranks, double trafficPerByte, double busFactor) {
  struct Memory {
    int ranks = 0;
    double bytes = 0;
    std::int64_t start = 0, end = 0;
    bool timed = true;  // every rank of it timed its copies
    double rate = 0;
    const RankInfo* first = nullptr;
  };
  std::map<std::pair<std::string, int>, Memory> memories;
  for (const RankInfo& r : ranks) {
    Memory& m = memories[memoryOf(r)];
    if (r.copyBytes <= 0 || r.copyEndNs <= r.copyStartNs) m.timed = false;
    m.start = m.ranks == 0 ? r.copyStartNs : std::min(m.start, r.copyStartNs);
    m.end = m.ranks == 0 ? r.copyEndNs : std::max(m.end, r.copyEndNs);
    m.bytes += r.copyBytes;
    ++m.ranks;
    if (!m.first) m.first = &r;
  }
  // What the ranks of a memory moved together over the span from the first start to the
  // last end: ranks that did not copy at quite the same moment do not add up to more
  // than the memory can move (they did on an H100 with a sum of per-rank rates).
  for (auto& [key, m] : memories)
    if (m.timed) m.rate = m.bytes / (static_cast<double>(m.end - m.start) / 1e9);
  // The busiest memory; among equally busy ones the slowest.
  const Memory* worst = nullptr;
  for (const auto& [key, m] : memories)
    if (!worst || m.ranks > worst->ranks || (m.ranks == worst->ranks && m.rate < worst->rate)) worst = &m;
  MemoryBound b;
  if (!worst || worst->rate <= 0 || trafficPerByte <= 0) return b;
  const double n = static_cast<double>(ranks.size());
  b.sharing = worst->ranks;
  b.rate = worst->rate;
  b.busBw = busFactor * worst->rate * n / (trafficPerByte * worst->ranks) / 1e9;
  const RankInfo& r = *worst->first;
  b.where = onHost(r) ? "the host memory of " + std::string(r.host)
                      : "cuda:" + std::to_string(r.device) + " (" + r.memory + ") of " + r.host;
  return b;
}

std::string describeBound(const MemoryBound& b, double avgBusBw) {
  char text[512];
  std::snprintf(text, sizeof text,
                "busbw <= %.2f GB/s: %s holds the buffers of %d rank%s, and copies there moved %.1f GB/s (read + "
                "write) in this run; the average busbw is %.1f %% of the bound",
                b.busBw, b.where.c_str(), b.sharing, b.sharing == 1 ? "" : "s", b.rate / 1e9,
                b.busBw > 0 ? 100.0 * avgBusBw / b.busBw : 0.0);
  return text;
}

}  // namespace perf
