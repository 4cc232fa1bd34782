#pragma once
// The nccl-tests text report (header, one row per size, footer) and its JSON twin.
// Column widths and number formats follow nccl-tests exactly, so that parsers written
// for its output read ours.
#include "common/memory.h"
#include "common/options.h"

#include <braid/communicator.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace perf {

// What the header says about each rank; gathered with one allGather of this fixed-size
// struct, so it must stay trivially copyable.
struct RankInfo {
  std::int32_t rank;
  std::int32_t pid;
  std::int32_t localRank;
  std::int32_t device;  // the GPU the buffers are on, or the local rank for host memory
  char host[64];
  char transports[32];  // distinct transports to the peers, e.g. "shm" or "shm,tcp"
  char memory[64];      // "host", or the GPU's name as nccl-tests prints it
  // Copies timed inside that memory (memory_bound.h): bytes read + written, and when,
  // on the host's monotonic clock; 0 bytes when they could not be timed.
  double copyBytes;
  std::int64_t copyStartNs, copyEndNs;
};

// `memory`: where this rank's buffers are, "host" or "cuda:N (name)".
std::vector<RankInfo> gatherRankInfo(braid::Communicator& comm, int device, const std::string& memory,
                                     const CopyWindow& copies);

// One placement's measurement.
struct Result {
  double timeUs = 0;
  double algBw = 0;  // GB/s (1e9 bytes)
  double busBw = 0;
  long long wrong = 0;
  bool checked = false;  // false prints N/A, as nccl-tests does with -c 0
};

struct Row {
  std::size_t bytes = 0;  // nccl-tests' size column: the larger of send and receive
  std::size_t count = 0;  // the count argument of the call
  std::string type;
  std::string redop;  // "none" for collectives without a reduction
  int root = -1;      // -1 where there is no root
  Result outOfPlace, inPlace;
};

void printHeader(std::FILE* out, const Options& o, const std::vector<RankInfo>& ranks);
// The row's first five columns, printed before it is measured (progress shows).
void printRowStart(std::FILE* out, const Row& row);
void printResult(std::FILE* out, const Result& r);
// `boundText` (memory_bound.h) is printed where it is not empty.
void printFooter(std::FILE* out, int failedChecks, double avgBusBw, const std::string& boundText);

// Writes the run as JSON; false (with errno set) if the file cannot be written.
bool writeJson(const std::string& path, const std::string& tool, const Options& o, int nranks,
               const std::vector<RankInfo>& ranks, const std::vector<Row>& rows, int failedChecks,
               double avgBusBw, double boundBusBw);

}  // namespace perf
