#include "common/report.h"

#include <unistd.h>

#include <cstring>
#include <set>
#include <string>

namespace perf {

std::vector<RankInfo> gatherRankInfo(braid::Communicator& comm, int device, const std::string& memory,
                                     const CopyWindow& copies) {
  RankInfo me{};
  me.copyBytes = copies.bytes;
  me.copyStartNs = copies.startNs;
  me.copyEndNs = copies.endNs;
  me.rank = comm.rank();
  me.pid = static_cast<std::int32_t>(::getpid());
  me.localRank = comm.localRank();
  me.device = device;
  std::strncpy(me.memory, memory.c_str(), sizeof me.memory - 1);
  if (::gethostname(me.host, sizeof me.host) != 0) std::strncpy(me.host, "unknown", sizeof me.host);
  me.host[sizeof me.host - 1] = '\0';
  // A rank may reach its peers by several transports (shm on its host, tcp beyond).
  std::set<std::string> kinds;
  for (int p = 0; p < comm.size(); ++p)
    if (p != comm.rank() || comm.size() == 1) kinds.insert(comm.transportTo(p));
  std::string joined;
  for (const auto& k : kinds) joined += (joined.empty() ? "" : ",") + k;
  std::strncpy(me.transports, joined.c_str(), sizeof me.transports - 1);
  std::vector<RankInfo> all(static_cast<std::size_t>(comm.size()));
  comm.allGather(&me, all.data(), sizeof(RankInfo), braid::DataType::Uint8);
  return all;
}

void printHeader(std::FILE* out, const Options& o, const std::vector<RankInfo>& ranks) {
  const bool factor = o.stepFactor > 1;
  std::fprintf(out,
               "# nThread 1 nGpus 1 minBytes %zu maxBytes %zu step: %zu(%s) warmup iters: %d iters: %d "
               "agg iters: %d validation: %d graph: 0\n",
               o.minBytes, o.maxBytes, factor ? o.stepFactor : o.stepBytes, factor ? "factor" : "bytes",
               o.warmupIters, o.iters, o.aggIters, o.check);
  for (const auto& note : o.notes) std::fprintf(out, "%s\n", note.c_str());
  if (o.blocking) std::fprintf(out, "# Blocking Enabled: wait for completion and barrier after each collective \n");
  std::fprintf(out, "#\n# Using devices\n");
  for (const auto& r : ranks)
    std::fprintf(out, "#  Rank %2d Group %2d Pid %6d on %10s device %2d [%s] transport %s\n", r.rank, 0, r.pid,
                 r.host, r.device, r.memory, r.transports);
  std::fprintf(out, "#\n");
  // The same widths as the rows below, with the labels in place of the values.
  std::fprintf(out, "# %10s  %12s  %8s  %6s  %6s           out-of-place                       in-place          \n", "",
               "", "", "", "");
  std::fprintf(out, "# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s %6s  %7s  %6s  %6s %6s\n", "size", "count", "type",
               "redop", "root", "time", "algbw", "busbw", "#wrong", "time", "algbw", "busbw", "#wrong");
  std::fprintf(out, "# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %5s  %7s  %6s  %6s  %5s\n", "(B)", "(elements)", "",
               "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)", "(GB/s)", "");
  std::fflush(out);
}

void printRowStart(std::FILE* out, const Row& row) {
  std::fprintf(out, "%12zu  %12zu  %8s  %6s  %6d", row.bytes, row.count, row.type.c_str(), row.redop.c_str(), row.root);
  std::fflush(out);
}

void printResult(std::FILE* out, const Result& r) {
  // Fewer decimals as the time grows, so that the column keeps its width of 7.
  char time[32];
  if (r.timeUs >= 10000.0) std::snprintf(time, sizeof time, "%7.0f", r.timeUs);
  else if (r.timeUs >= 100.0) std::snprintf(time, sizeof time, "%7.1f", r.timeUs);
  else std::snprintf(time, sizeof time, "%7.2f", r.timeUs);
  if (r.checked) std::fprintf(out, "  %7s  %6.2f  %6.2f  %5lld", time, r.algBw, r.busBw, r.wrong);
  else std::fprintf(out, "  %7s  %6.2f  %6.2f  %5s", time, r.algBw, r.busBw, "N/A");
  std::fflush(out);
}

void printFooter(std::FILE* out, int failedChecks, double avgBusBw, const std::string& boundText) {
  std::fprintf(out, "# Out of bounds values : %d %s\n", failedChecks, failedChecks ? "FAILED" : "OK");
  std::fprintf(out, "# Avg bus bandwidth    : %g \n", avgBusBw);
  if (!boundText.empty()) std::fprintf(out, "# Memory bound         : %s\n", boundText.c_str());
  std::fprintf(out, "#\n");
  std::fflush(out);
}

}  // namespace perf
