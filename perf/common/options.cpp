#include "common/options.h"

#include "core/byte_size.h"

#include <getopt.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace perf {
namespace {

constexpr int kUsageExit = 2;
// getopt value of --memory, which has no short form (nccl-tests has none to mirror).
constexpr int kMemoryOption = 256;

void usage(FILE* out, const char* prog) {
  std::fprintf(out,
               "usage: %s [options]   (run under braidrun -n N, or torchrun / mpirun / srun)\n"
               "  -b, --minbytes SIZE      smallest size in bytes, K/M/G suffixes (default 32M)\n"
               "  -e, --maxbytes SIZE      largest size (default 32M)\n"
               "  -i, --stepbytes SIZE     increment when -f is 1 (default 1M)\n"
               "  -f, --stepfactor N       multiply the size by N at each step (default 1)\n"
               "  -n, --iters N            timed iterations (default 20)\n"
               "  -w, --warmup_iters N     warmup iterations (default 5)\n"
               "  -m, --agg_iters N        calls grouped per timed iteration (default 1)\n"
               "  -N, --run_cycles N       repeat the size sweep N times, 0 forever (default 1)\n"
               "  -c, --check N            checked runs per size, 0 disables checking (default 1)\n"
               "  -d, --datatype TYPE      int8 uint8 int32 uint32 int64 uint64 half float double\n"
               "                           bfloat16 f8e4m3 f8e5m2, or all (default float)\n"
               "  -o, --op OP              sum prod max min avg mulsum (or premulsum), or all (default sum)\n"
               "  -r, --root N             root rank, -1 for every root in turn (default 0)\n"
               "  -a, --average N          time reported: 0 rank 0, 1 mean, 2 min, 3 max (default 1)\n"
               "  -z, --blocking 0/1       barrier after each timed call (host calls block anyway)\n"
               "  -T, --timeout SECONDS    sets BRAID_TIMEOUT for the communicator (0: unchanged)\n"
               "  -J, --json FILE          also write the results as JSON\n"
               "      --memory WHERE       buffers in auto (the rank's GPU if there is one, as\n"
               "                           nccl-tests), device, or host memory (default auto)\n"
               "  -t, -g, -G, -p, -y, -C, -R  nccl-tests GPU/thread flags: accepted, ignored\n"
               "  -h, --help               this text\n",
               prog);
}

// Every rank parses the same argv and fails the same way; one copy of the message is enough.
[[noreturn]] void fail(const char* prog, const std::string& why) {
  if (launcherRank() == 0) std::fprintf(stderr, "%s: %s (try -h)\n", prog, why.c_str());
  std::exit(kUsageExit);
}

MemoryChoice parseMemory(const char* prog, const char* text) {
  const std::string v = text;
  if (v == "auto") return MemoryChoice::Auto;
  if (v == "host") return MemoryChoice::Host;
  if (v == "device") return MemoryChoice::Device;
  fail(prog, "invalid value '" + v + "' for --memory (expected auto, device or host)");
}

long parseInt(const char* prog, const char* flag, const char* text, long min, long max) {
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(text, &end, 0);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
    fail(prog, std::string("invalid value '") + text + "' for " + flag + " (expected an integer in " +
                   std::to_string(min) + ".." + std::to_string(max) + ")");
  return v;
}

std::size_t parseSizeOrFail(const char* prog, const char* flag, const char* text) {
  const auto v = braid::parseByteSize(text);
  if (!v) fail(prog, std::string("invalid size '") + text + "' for " + flag + " (e.g. 8, 64K, 1.5M, 2G)");
  return *v;
}

void parseTypes(const char* prog, const char* text, Options& o) {
  o.types.clear();
  if (std::strcmp(text, "all") == 0) {
    for (int t = 0; t < braid::kNumDataTypes; ++t) o.types.push_back(static_cast<braid::DataType>(t));
    return;
  }
  braid::DataType t;
  if (!braid::parse(text, t)) fail(prog, std::string("unknown datatype '") + text + "'");
  o.types.push_back(t);
}

void parseOps(const char* prog, const char* text, Options& o) {
  o.ops.clear();
  if (std::strcmp(text, "all") == 0) {
    for (int op = 0; op < braid::kNumReduceOps; ++op) o.ops.push_back(static_cast<braid::ReduceOp>(op));
    return;
  }
  braid::ReduceOp op;
  if (std::strcmp(text, "mulsum") == 0) op = braid::ReduceOp::PreMulSum;  // nccl-tests' name
  else if (!braid::parse(text, op)) fail(prog, std::string("unknown op '") + text + "'");
  o.ops.push_back(op);
}

}  // namespace

int launcherRank() {
  for (const char* name : {"BRAID_RANK", "RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"}) {
    if (const char* v = std::getenv(name); v && *v) return std::atoi(v);
  }
  return 0;
}

const char* opName(braid::ReduceOp op) {
  switch (op) {
    case braid::ReduceOp::Sum: return "sum";
    case braid::ReduceOp::Prod: return "prod";
    case braid::ReduceOp::Max: return "max";
    case braid::ReduceOp::Min: return "min";
    case braid::ReduceOp::Avg: return "avg";
    case braid::ReduceOp::PreMulSum: return "mulsum";
  }
  return "invalid";
}

Options parseOptions(int argc, char** argv) {
  const char* prog = argc > 0 ? argv[0] : "perf";
  if (const char* slash = std::strrchr(prog, '/')) prog = slash + 1;
  static const option longOpts[] = {
      {"nthreads", required_argument, nullptr, 't'},   {"ngpus", required_argument, nullptr, 'g'},
      {"minbytes", required_argument, nullptr, 'b'},   {"maxbytes", required_argument, nullptr, 'e'},
      {"stepbytes", required_argument, nullptr, 'i'},  {"stepfactor", required_argument, nullptr, 'f'},
      {"iters", required_argument, nullptr, 'n'},      {"agg_iters", required_argument, nullptr, 'm'},
      {"warmup_iters", required_argument, nullptr, 'w'}, {"run_cycles", required_argument, nullptr, 'N'},
      {"parallel_init", required_argument, nullptr, 'p'}, {"check", required_argument, nullptr, 'c'},
      {"op", required_argument, nullptr, 'o'},         {"datatype", required_argument, nullptr, 'd'},
      {"root", required_argument, nullptr, 'r'},       {"blocking", required_argument, nullptr, 'z'},
      {"stream_null", required_argument, nullptr, 'y'}, {"timeout", required_argument, nullptr, 'T'},
      {"cudagraph", required_argument, nullptr, 'G'},  {"report_cputime", required_argument, nullptr, 'C'},
      {"average", required_argument, nullptr, 'a'},    {"local_register", required_argument, nullptr, 'R'},
      {"json", required_argument, nullptr, 'J'},       {"help", no_argument, nullptr, 'h'},
      {"memory", required_argument, nullptr, kMemoryOption},
      {nullptr, 0, nullptr, 0}};
  Options o;
  opterr = 0;  // our own messages, printed once
  optind = 1;
  for (;;) {
    int longIndex = -1;
    int c = getopt_long(argc, argv, ":t:g:b:e:i:f:n:m:w:N:p:c:o:d:r:z:y:T:G:C:a:R:J:h", longOpts, &longIndex);
    if (c == -1) break;
    switch (c) {
      case 'b': o.minBytes = parseSizeOrFail(prog, "-b", optarg); break;
      case 'e': o.maxBytes = parseSizeOrFail(prog, "-e", optarg); break;
      case 'i': o.stepBytes = parseSizeOrFail(prog, "-i", optarg); break;
      case 'f': o.stepFactor = static_cast<std::size_t>(parseInt(prog, "-f", optarg, 1, 1L << 30)); break;
      case 'n': o.iters = static_cast<int>(parseInt(prog, "-n", optarg, 1, INT_MAX)); break;
      case 'w': o.warmupIters = static_cast<int>(parseInt(prog, "-w", optarg, 0, INT_MAX)); break;
      case 'm': o.aggIters = static_cast<int>(parseInt(prog, "-m", optarg, 1, 1 << 16)); break;
      case 'N': o.runCycles = static_cast<int>(parseInt(prog, "-N", optarg, 0, INT_MAX)); break;
      case 'c': o.check = static_cast<int>(parseInt(prog, "-c", optarg, 0, 1 << 16)); break;
      case 'r': o.root = static_cast<int>(parseInt(prog, "-r", optarg, -1, INT_MAX)); break;
      case 'a': o.average = static_cast<int>(parseInt(prog, "-a", optarg, 0, 3)); break;
      case 'z': o.blocking = static_cast<int>(parseInt(prog, "-z", optarg, 0, 1)); break;
      case 'T': o.timeoutSec = static_cast<int>(parseInt(prog, "-T", optarg, 0, INT_MAX)); break;
      case 'd': parseTypes(prog, optarg, o); break;
      case 'o': parseOps(prog, optarg, o); break;
      case 'J': o.jsonPath = optarg; break;
      case kMemoryOption: o.memory = parseMemory(prog, optarg); break;
      // GPU and threading flags: scripts pass them, but they mean nothing for host buffers
      // with one rank per process. Accept them so those scripts still run, and say so.
      case 't':
        if (parseInt(prog, "-t", optarg, 0, INT_MAX) != 1) o.notes.push_back("# -t ignored: one thread per rank; start more ranks instead");
        break;
      case 'g':
        if (parseInt(prog, "-g", optarg, 0, INT_MAX) != 1) o.notes.push_back("# -g ignored: host memory, one rank per process");
        break;
      case 'G':
        if (parseInt(prog, "-G", optarg, 0, INT_MAX) != 0) o.notes.push_back("# -G ignored: no CUDA graphs with host memory");
        break;
      case 'p': parseInt(prog, "-p", optarg, 0, 1); break;
      case 'y': parseInt(prog, "-y", optarg, 0, 1); break;
      case 'R': parseInt(prog, "-R", optarg, 0, INT_MAX); break;
      case 'C':
        if (parseInt(prog, "-C", optarg, 0, 1) != 0) o.notes.push_back("# -C ignored: host calls block, so CPU time is the time");
        break;
      case 'h':
        if (launcherRank() == 0) usage(stdout, prog);
        std::exit(0);
      case ':': fail(prog, std::string("option ") + argv[optind - 1] + " needs a value");
      default: {
        std::string flag = optopt ? std::string("-") + static_cast<char>(optopt) : std::string(argv[optind - 1]);
        fail(prog, "unknown option '" + flag + "'");
      }
    }
  }
  if (optind < argc) fail(prog, std::string("unexpected argument '") + argv[optind] + "'");
  if (o.minBytes > o.maxBytes)
    fail(prog, "minbytes " + std::to_string(o.minBytes) + " is larger than maxbytes " + std::to_string(o.maxBytes));
  // These would make the size sweep never end (nccl-tests loops forever on them).
  if (o.stepFactor > 1 && o.minBytes == 0 && o.maxBytes > 0) fail(prog, "-f needs -b > 0 (0 times a factor stays 0)");
  if (o.stepFactor <= 1 && o.stepBytes == 0 && o.minBytes < o.maxBytes) fail(prog, "-i must be > 0 when -f is 1");
  return o;
}

}  // namespace perf
