#include "sweep.h"

#include "core/byte_size.h"

#include <getopt.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace baseline {

const char* collName(Coll c) {
  switch (c) {
    case Coll::AllReduce: return "all_reduce";
    case Coll::AllGather: return "all_gather";
    case Coll::ReduceScatter: return "reduce_scatter";
  }
  return "unknown";
}

bool parseColl(const std::string& text, Coll& out) {
  // Accept both Braid's tool prefixes and the plain MPI spellings people type.
  if (text == "all_reduce" || text == "allreduce") out = Coll::AllReduce;
  else if (text == "all_gather" || text == "allgather") out = Coll::AllGather;
  else if (text == "reduce_scatter" || text == "reducescatter") out = Coll::ReduceScatter;
  else return false;
  return true;
}

double busFactor(Coll c, int n) {
  if (n <= 1) return 0.0;  // nothing crosses a link with one rank; nccl-tests prints 0 too
  const double share = static_cast<double>(n - 1) / n;
  return c == Coll::AllReduce ? 2.0 * share : share;
}

Shape shapeFor(Coll c, std::size_t requestedBytes, int n) {
  Shape s;
  const std::size_t floats = requestedBytes / sizeof(float);
  if (c == Coll::AllReduce) {
    s.sendCount = s.recvCount = floats;
    s.chunk = floats;
  } else {
    s.chunk = floats / static_cast<std::size_t>(n);
    if (c == Coll::AllGather) {
      s.sendCount = s.chunk;
      s.recvCount = s.chunk * n;
    } else {
      s.sendCount = s.chunk * n;
      s.recvCount = s.chunk;
    }
  }
  s.bytes = (c == Coll::AllReduce ? floats : s.chunk * n) * sizeof(float);
  return s;
}

namespace {

[[noreturn]] void fail(int rank, const char* prog, const std::string& why) {
  // Every rank parses the same argv; one copy of the complaint is enough.
  if (rank == 0) std::fprintf(stderr, "%s: %s (try -h)\n", prog, why.c_str());
  std::exit(2);
}

long parseInt(int rank, const char* prog, const char* flag, const char* text, long min, long max) {
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 0);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
    fail(rank, prog, std::string("invalid value '") + text + "' for " + flag);
  return v;
}

}  // namespace

SweepOptions parseSweep(int argc, char** argv, int rank, const std::vector<std::string>& extraNames,
                        const char* extraHelp) {
  const char* prog = argc > 0 ? argv[0] : "bench";
  if (const char* slash = std::strrchr(prog, '/')) prog = slash + 1;
  std::vector<option> longOpts = {
      {"minbytes", required_argument, nullptr, 'b'},   {"maxbytes", required_argument, nullptr, 'e'},
      {"stepbytes", required_argument, nullptr, 'i'},  {"stepfactor", required_argument, nullptr, 'f'},
      {"iters", required_argument, nullptr, 'n'},      {"warmup_iters", required_argument, nullptr, 'w'},
      {"check", required_argument, nullptr, 'c'},      {"json", required_argument, nullptr, 'J'},
      {"collective", required_argument, nullptr, 'C'}, {"help", no_argument, nullptr, 'h'}};
  // The tool's own options get codes above the char range, indexed into extraNames.
  for (std::size_t k = 0; k < extraNames.size(); ++k)
    longOpts.push_back({extraNames[k].c_str(), required_argument, nullptr, 1000 + static_cast<int>(k)});
  longOpts.push_back({nullptr, 0, nullptr, 0});

  SweepOptions o;
  opterr = 0;
  optind = 1;
  for (;;) {
    const int c = getopt_long(argc, argv, ":b:e:i:f:n:w:c:J:C:h", longOpts.data(), nullptr);
    if (c == -1) break;
    switch (c) {
      case 'b':
      case 'e':
      case 'i': {
        const auto bytes = braid::parseByteSize(optarg);
        if (!bytes) fail(rank, prog, std::string("invalid size '") + optarg + "' (e.g. 8, 64K, 1.5M, 2G)");
        (c == 'b' ? o.minBytes : c == 'e' ? o.maxBytes : o.stepBytes) = *bytes;
        break;
      }
      case 'f': o.stepFactor = static_cast<std::size_t>(parseInt(rank, prog, "-f", optarg, 1, 1L << 30)); break;
      case 'n': o.iters = static_cast<int>(parseInt(rank, prog, "-n", optarg, 1, INT_MAX)); break;
      case 'w': o.warmupIters = static_cast<int>(parseInt(rank, prog, "-w", optarg, 0, INT_MAX)); break;
      case 'c': o.check = static_cast<int>(parseInt(rank, prog, "-c", optarg, 0, 1)); break;
      case 'J': o.jsonPath = optarg; break;
      case 'C': {
        // A comma-separated list, e.g. -C all_reduce,all_gather.
        std::string list = optarg;
        std::size_t start = 0;
        while (start <= list.size()) {
          const std::size_t comma = list.find(',', start);
          const std::string name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
          Coll coll;
          if (!parseColl(name, coll)) fail(rank, prog, "unknown collective '" + name + "'");
          o.colls.push_back(coll);
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
        break;
      }
      case 'h':
        if (rank == 0)
          std::printf(
              "usage: %s [options]\n"
              "  -b, --minbytes SIZE     smallest size, K/M/G suffixes (default 32M)\n"
              "  -e, --maxbytes SIZE     largest size (default 32M)\n"
              "  -i, --stepbytes SIZE    increment when -f is 1 (default 1M)\n"
              "  -f, --stepfactor N      multiply the size by N at each step (default 1)\n"
              "  -n, --iters N           timed iterations per size (default 20)\n"
              "  -w, --warmup_iters N    untimed iterations before them (default 5)\n"
              "  -c, --check 0|1         check one untimed call per size (default 1)\n"
              "  -C, --collective LIST   all_reduce,all_gather,reduce_scatter (default: all the tool has)\n"
              "  -J, --json FILE         also write the results as JSON\n"
              "%s",
              prog, extraHelp ? extraHelp : "");
        std::exit(0);
      case ':': fail(rank, prog, std::string("option ") + argv[optind - 1] + " needs a value");
      default:
        if (c >= 1000 && c < 1000 + static_cast<int>(extraNames.size())) {
          o.extra[extraNames[static_cast<std::size_t>(c - 1000)]] = optarg;
          break;
        }
        fail(rank, prog, std::string("unknown option '") + argv[optind - 1] + "'");
    }
  }
  if (optind < argc) fail(rank, prog, std::string("unexpected argument '") + argv[optind] + "'");
  if (o.minBytes > o.maxBytes) fail(rank, prog, "-b is larger than -e");
  // Either would make the sweep loop forever.
  if (o.stepFactor > 1 && o.minBytes == 0) fail(rank, prog, "-f needs -b > 0");
  if (o.stepFactor <= 1 && o.stepBytes == 0 && o.minBytes < o.maxBytes) fail(rank, prog, "-i must be > 0");
  return o;
}

std::vector<std::size_t> sweepSizes(const SweepOptions& o) {
  std::vector<std::size_t> sizes;
  for (std::size_t s = o.minBytes; s <= o.maxBytes;) {
    sizes.push_back(s);
    const std::size_t next = o.stepFactor > 1 ? s * o.stepFactor : s + o.stepBytes;
    if (next <= s) break;  // overflow, or a zero step on a single size
    s = next;
  }
  return sizes;
}

void printTableHeader(std::FILE* out, const std::string& title, const SweepOptions& o, int nranks) {
  std::fprintf(out, "# %s\n# nranks %d minBytes %zu maxBytes %zu step: %zu(%s) warmup iters: %d iters: %d validation: %d\n",
               title.c_str(), nranks, o.minBytes, o.maxBytes, o.stepFactor > 1 ? o.stepFactor : o.stepBytes,
               o.stepFactor > 1 ? "factor" : "bytes", o.warmupIters, o.iters, o.check);
  std::fprintf(out, "# float32, sum; time: mean over ranks of each rank's mean per call; busbw = algbw * nccl-tests factor\n");
  std::fprintf(out, "# %-14s %12s %12s %10s %8s %8s %6s\n", "collective", "size", "count", "time", "algbw", "busbw",
               "#wrong");
  std::fprintf(out, "# %-14s %12s %12s %10s %8s %8s %6s\n", "", "(B)", "(elements)", "(us)", "(GB/s)", "(GB/s)", "");
  std::fflush(out);
}

void printRow(std::FILE* out, const Result& r) {
  char wrong[32];
  if (r.checked) std::snprintf(wrong, sizeof wrong, "%lld", r.wrong);
  else std::snprintf(wrong, sizeof wrong, "N/A");
  // count is the per-call count argument, as nccl-tests prints it: the element count of
  // the larger buffer.
  const std::size_t count = r.shape.sendCount > r.shape.recvCount ? r.shape.sendCount : r.shape.recvCount;
  std::fprintf(out, "  %-14s %12zu %12zu %10.2f %8.3f %8.3f %6s\n", collName(r.coll), r.shape.bytes, count, r.timeUs,
               r.algBw, r.busBw, wrong);
  std::fflush(out);
}

std::string jsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string jsonQuote(const std::string& s) {
  std::string q = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      q += '\\';
      q += static_cast<char>(ch);
    } else if (ch < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", ch);
      q += esc;
    } else {
      q += static_cast<char>(ch);
    }
  }
  return q + "\"";
}

bool writeJson(const std::string& path, const RunInfo& info, const SweepOptions& o, const std::vector<Result>& rows) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  long long failed = 0;
  for (const auto& r : rows) failed += r.checked ? r.wrong : 0;
  std::fprintf(f, "{\n  \"tool\": %s,\n  \"library\": %s,\n  \"transport\": %s,\n  \"nranks\": %d,\n",
               jsonQuote(info.tool).c_str(), jsonQuote(info.library).c_str(), jsonQuote(info.transport).c_str(),
               info.nranks);
  std::fprintf(f,
               "  \"parameters\": {\"minBytes\": %zu, \"maxBytes\": %zu, \"stepBytes\": %zu, \"stepFactor\": %zu, "
               "\"warmupIters\": %d, \"iters\": %d, \"validation\": %d, \"datatype\": \"float\", \"op\": \"sum\", "
               "\"time\": \"mean over ranks of the per-call mean\"},\n",
               o.minBytes, o.maxBytes, o.stepBytes, o.stepFactor, o.warmupIters, o.iters, o.check);
  // Rows carry the collective (one tool runs several) and otherwise mirror Braid's -J
  // rows: size, count, and an out_of_place object with time and bandwidths.
  std::fprintf(f, "  \"results\": [");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Result& r = rows[i];
    const std::size_t count = r.shape.sendCount > r.shape.recvCount ? r.shape.sendCount : r.shape.recvCount;
    std::fprintf(f,
                 "%s\n    {\"collective\": %s, \"size\": %zu, \"count\": %zu, \"type\": \"float\", \"redop\": %s, "
                 "\"out_of_place\": {\"time_us\": %s, \"algbw_GBps\": %s, \"busbw_GBps\": %s, \"wrong\": %s}}",
                 i ? "," : "", jsonQuote(collName(r.coll)).c_str(), r.shape.bytes, count,
                 r.coll == Coll::AllGather ? "\"none\"" : "\"sum\"", jsonNumber(r.timeUs).c_str(),
                 jsonNumber(r.algBw).c_str(), jsonNumber(r.busBw).c_str(),
                 r.checked ? std::to_string(r.wrong).c_str() : "null");
  }
  std::fprintf(f, "\n  ],\n  \"ok\": %s\n}\n", failed ? "false" : "true");
  const bool ok = std::ferror(f) == 0;
  return std::fclose(f) == 0 && ok;
}

}  // namespace baseline
