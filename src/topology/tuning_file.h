#pragma once
// The tuning file (BRAID_TUNING_FILE): a CostModel measured on this machine by
// `braid-probe --calibrate`, so the tuner prices algorithms with real numbers instead
// of built-in guesses. JSON, small enough to edit by hand:
//
//   {
//     "links": {
//       "same-numa":  {"latency_us": 0.5, "gb_per_s": 12.0},
//       "cross-numa": {"latency_us": 0.8, "gb_per_s": 9.0},
//       "same-host":  {"latency_us": 1.0, "gb_per_s": 6.0},
//       "network":    {"latency_us": 5.0, "gb_per_s": 12.0}
//     },
//     "reduce_gb_per_s": 8.0,
//     "step_overhead_us": 0.2,
//     "measured": [
//       {"collective": "allreduce", "ranks": 8, "nodes": 1, "bytes": 32768,
//        "algorithm": "ring", "us": 78.1}, ...
//     ]
//   }
//
// Every field is optional; what a file leaves out keeps CostModel::defaults().
// "measured" holds whole-collective times that `braid-probe --calibrate` took under N
// ranks: for a job of that shape the tuner picks the fastest measured algorithm
// instead of the formulas' guess (which misses effects such as ranks sharing cores).
#include "algorithms/algorithm.h"
#include "topology/cost_model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace braid {

// One algorithm's median time per call for one collective and size, on a job of
// `ranks` ranks over `nodes` hosts.
struct MeasuredTime {
  Collective collective = Collective::AllReduce;
  int ranks = 0;
  int nodes = 0;
  std::uint64_t bytes = 0;  // the nccl-tests size, as the tuner speaks of it
  Algorithm algorithm{};
  double us = 0;
  bool operator==(const MeasuredTime&) const = default;
};

struct Tuning {
  CostModel model = CostModel::defaults();
  std::vector<MeasuredTime> measured;
};

// Throws SystemError when the file cannot be read, InvalidArgument (naming the file
// and the field) when it is not a tuning file, names an unknown link class, collective
// or algorithm, or holds a bandwidth, time or count that is not positive or a
// latency/overhead that is negative.
Tuning loadTuning(const std::string& path);
// Writes every field, to a temporary file renamed over `path` (over the file it links
// to, if a symlink; with the old file's permissions), so a job starting meanwhile reads
// the old file or the new one, never half of one. Throws SystemError when the file
// cannot be written.
void saveTuning(const std::string& path, const Tuning& tuning);
// The JSON that saveTuning writes: the same for equal tunings, however their files
// were spaced or their keys ordered (the order of measured rows counts).
std::string tuningJson(const Tuning& tuning);

}  // namespace braid
