#pragma once
// Prices plans with the tuner's cost model: how long every rank's plan, run together,
// would take on ranks placed as given. braid-sim prints it per algorithm, and the tuner's
// analytic formulas can be checked against it.
#include "algorithms/sim_plan.h"
#include "topology/cost_model.h"

#include <vector>

namespace braid {

// The modeled time, in microseconds, from the start until the last step of any rank is
// done. placement[r] says where rank r runs. Throws std::invalid_argument when there is
// not one placement per plan, and std::runtime_error (as simulate() does) when the plans
// cannot finish.
double modeledTimeUs(const std::vector<SimPlan>& plans, std::size_t elemSize, const CostModel& model,
                     const std::vector<RankPlacement>& placement);

}  // namespace braid
