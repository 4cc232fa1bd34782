#include "common/memory_bound.h"

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
    double rate = 0;
    const RankInfo* first = nullptr;
  };
  std::map<std::pair<std::string, int>, Memory> memories;
  for (const RankInfo& r : ranks) {
    Memory& m = memories[memoryOf(r)];
    ++m.ranks;
    m.rate += r.copyRate;
    if (!m.first) m.first = &r;
  }
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
