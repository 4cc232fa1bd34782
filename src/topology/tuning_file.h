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
//     "step_overhead_us": 0.2
//   }
//
// Every field is optional; what a file leaves out keeps CostModel::defaults().
#include "topology/cost_model.h"

#include <string>

namespace braid {

// Throws SystemError when the file cannot be read, InvalidArgument (naming the file
// and the field) when it is not a tuning file, names an unknown link class, or holds
// a bandwidth that is not positive or a latency/overhead that is negative.
CostModel loadTuning(const std::string& path);
// Writes every field; throws SystemError when the file cannot be written.
void saveTuning(const std::string& path, const CostModel& model);

}  // namespace braid
