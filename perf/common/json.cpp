// JSON output of -J: the header's parameters, the ranks, and one object per row, with
// the same numbers the text table shows (unrounded).
#include "common/report.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <string>

namespace perf {
namespace {

std::string quote(const std::string& s) {
  std::string q = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      q += '\\';
      q += static_cast<char>(c);
    } else if (c < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", c);
      q += esc;
    } else {
      q += static_cast<char>(c);
    }
  }
  return q + "\"";
}

// JSON has no NaN or infinity; a time of zero can produce them.
std::string number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string result(const Result& r) {
  return "{\"time_us\": " + number(r.timeUs) + ", \"algbw_GBps\": " + number(r.algBw) +
         ", \"busbw_GBps\": " + number(r.busBw) + ", \"wrong\": " + (r.checked ? std::to_string(r.wrong) : "null") + "}";
}

}  // namespace

bool writeJson(const std::string& path, const std::string& tool, const Options& o, int nranks,
               const std::vector<RankInfo>& ranks, const std::vector<Row>& rows, int failedChecks,
               double avgBusBw, double boundBusBw) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::string types, ops;
  for (auto t : o.types) types += (types.empty() ? "" : ", ") + quote(std::string(braid::toString(t)));
  for (auto op : o.ops) ops += (ops.empty() ? "" : ", ") + quote(opName(op));
  std::fprintf(f, "{\n  \"tool\": %s,\n  \"nranks\": %d,\n", quote(tool).c_str(), nranks);
  std::fprintf(f,
               "  \"parameters\": {\"nThread\": 1, \"nGpus\": 1, \"minBytes\": %zu, \"maxBytes\": %zu, "
               "\"stepBytes\": %zu, \"stepFactor\": %zu, \"warmupIters\": %d, \"iters\": %d, \"aggIters\": %d, "
               "\"validation\": %d, \"graph\": 0, \"root\": %d, \"average\": %d, \"blocking\": %d, "
               "\"datatypes\": [%s], \"ops\": [%s]},\n",
               o.minBytes, o.maxBytes, o.stepBytes, o.stepFactor, o.warmupIters, o.iters, o.aggIters, o.check, o.root,
               o.average, o.blocking, types.c_str(), ops.c_str());
  std::fprintf(f, "  \"devices\": [");
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    const RankInfo& r = ranks[i];
    std::fprintf(f, "%s\n    {\"rank\": %d, \"group\": 0, \"pid\": %d, \"host\": %s, \"device\": %d, \"memory\": %s, \"transport\": %s}",
                 i ? "," : "", r.rank, r.pid, quote(r.host).c_str(), r.device, quote(r.memory).c_str(),
                 quote(r.transports).c_str());
  }
  std::fprintf(f, "\n  ],\n  \"results\": [");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::fprintf(f,
                 "%s\n    {\"size\": %zu, \"count\": %zu, \"type\": %s, \"redop\": %s, \"root\": %d, "
                 "\"out_of_place\": %s, \"in_place\": %s}",
                 i ? "," : "", r.bytes, r.count, quote(r.type).c_str(), quote(r.redop).c_str(), r.root,
                 result(r.outOfPlace).c_str(), result(r.inPlace).c_str());
  }
  std::fprintf(f,
               "\n  ],\n  \"out_of_bounds\": %d,\n  \"ok\": %s,\n  \"avg_busbw_GBps\": %s,\n"
               "  \"memory_bound_busbw_GBps\": %s\n}\n",
               failedChecks, failedChecks ? "false" : "true", number(avgBusBw).c_str(),
               boundBusBw > 0 ? number(boundBusBw).c_str() : "null");
  const bool ok = std::ferror(f) == 0;
  if (std::fclose(f) != 0 || !ok) {
    if (errno == 0) errno = EIO;
    return false;
  }
  return true;
}

}  // namespace perf
