#pragma once
// What the baseline benchmarks (mpi_coll_bench, gloo_bench) share: nccl-tests' sweep
// flags, its way of counting sizes and bus bandwidth, a text table and a JSON file laid
// out like Braid's perf tools' -J output, so that perf/compare reads both the same way.
//
// Deliberately independent of Braid (no braid headers, no perf/common): the baselines
// must build where only MPI or Gloo is present, and must not move when Braid's perf
// tools change.
#include <cstddef>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace baseline {

enum class Coll { AllReduce, AllGather, ReduceScatter };

// "all_reduce", "all_gather", "reduce_scatter": the prefixes of Braid's tool names.
const char* collName(Coll c);
bool parseColl(const std::string& text, Coll& out);

// nccl-tests' bus-bandwidth factors: what a ring moves per rank relative to the size.
// all-reduce is a reduce-scatter plus an all-gather, hence twice (n-1)/n.
double busFactor(Coll c, int nranks);

// Float32 element counts for one requested size. As in nccl-tests, the size of an
// all-gather or reduce-scatter is the whole gathered (or scattered) buffer, n chunks,
// rounded down to a whole number of floats per rank; for all-reduce it is the buffer.
struct Shape {
  std::size_t bytes = 0;      // the size column after rounding
  std::size_t sendCount = 0;  // floats each rank sends in
  std::size_t recvCount = 0;  // floats each rank receives out
  std::size_t chunk = 0;      // floats per rank block (all-gather / reduce-scatter)
};
Shape shapeFor(Coll c, std::size_t requestedBytes, int nranks);

struct SweepOptions {
  // nccl-tests' defaults, so a bare run measures what a bare nccl-tests run measures.
  std::size_t minBytes = 32u << 20;
  std::size_t maxBytes = 32u << 20;
  std::size_t stepBytes = 1u << 20;
  std::size_t stepFactor = 1;
  int iters = 20;
  int warmupIters = 5;
  int check = 1;  // 1: one untimed, checked call per size before the warmup
  std::string jsonPath;
  std::vector<Coll> colls;                   // -C; empty means the tool's default set
  std::map<std::string, std::string> extra;  // the tool's own --name VALUE options
};

// Parses -b -e -i -f -n -w -c -J -C -h plus the long options named in extraNames
// (each takes a value). On error prints why (from rank 0 only) and exits 2; -h prints
// the usage (common part plus extraHelp) and exits 0.
SweepOptions parseSweep(int argc, char** argv, int rank, const std::vector<std::string>& extraNames,
                        const char* extraHelp);

// The requested sizes: min, then times the factor (or plus the step) up to max.
std::vector<std::size_t> sweepSizes(const SweepOptions& o);

struct Result {
  Coll coll = Coll::AllReduce;
  Shape shape;
  double timeUs = 0;  // mean over ranks of each rank's mean time per call
  double algBw = 0;   // GB/s, 1e9 bytes, size / time
  double busBw = 0;   // algBw * busFactor
  long long wrong = 0;
  bool checked = false;
};

void printTableHeader(std::FILE* out, const std::string& title, const SweepOptions& o, int nranks);
void printRow(std::FILE* out, const Result& r);

struct RunInfo {
  std::string tool;       // "mpi_coll_bench", "gloo_bench"
  std::string library;    // e.g. "Open MPI v4.1.4"
  std::string transport;  // what the caller says it selected, e.g. "ompi-vader"
  int nranks = 0;
};

// Writes the run as JSON; false if the file cannot be written.
bool writeJson(const std::string& path, const RunInfo& info, const SweepOptions& o, const std::vector<Result>& rows);

// Element i of rank r's input: small integers, so float sums over any plausible rank
// count are exact and the check can compare with ==.
inline float inputValue(int rank, std::size_t i) { return static_cast<float>((rank * 31 + i) % 13 + 1); }

// JSON has no NaN/inf; numbers with enough digits to round-trip the measurement.
std::string jsonNumber(double v);
std::string jsonQuote(const std::string& s);

}  // namespace baseline
