// The host half of NCCL's device API (nccl_device.h: device communicators, teams,
// barrier and all-to-all resource requirements). NVIDIA's library exports these
// functions although nccl.h does not declare them, and programs built against it
// (PyTorch's libtorch_cuda, bound at load time) need every one to resolve. Braid has
// no device API: what returns a result code refuses with ncclInvalidUsage and says
// why; the team queries describe the one honest topology, in which no peer's memory
// is load/store accessible (the "LSA" team is the rank alone, and the rail, the ranks
// that share an LSA position, is the whole communicator).
#include "compat/nccl/comm.h"
#include "compat/nccl/errors.h"

using namespace braid::nccl;

namespace {

// nccl_device.h's team: ranks nRanks, this rank's index, and the world-rank distance
// between consecutive members. Returned by value, so its layout is the ABI.
struct Team {
  int nRanks, rank, stride;
};

ncclResult_t refuse(const char* function) {
  setLastError(std::string(function) + ": the NCCL device API (nccl_device.h) is not supported by Braid; use the "
                                       "host collectives of nccl.h");
  return ncclInvalidUsage;
}

Team world(ncclComm_t comm) {
  Team t{1, 0, 1};
  (void)guarded("ncclTeamWorld", [&] {
    CommRef ref = acquire(comm);
    braid::Communicator& c = ready(*ref);
    t = Team{c.size(), c.rank(), 1};
    return ncclSuccess;
  });
  return t;
}

}  // namespace

extern "C" {

ncclResult_t ncclDevCommCreate(ncclComm_t, const void*, void*) { return refuse("ncclDevCommCreate"); }
ncclResult_t ncclDevCommDestroy(ncclComm_t, const void*) { return refuse("ncclDevCommDestroy"); }
ncclResult_t ncclGinBarrierCreateRequirement(ncclComm_t, Team, int, void*, void*) {
  return refuse("ncclGinBarrierCreateRequirement");
}
ncclResult_t ncclLsaBarrierCreateRequirement(Team, int, void*, void*) {
  return refuse("ncclLsaBarrierCreateRequirement");
}
ncclResult_t ncclLLA2ACreateRequirement(int, int, void*, void*) { return refuse("ncclLLA2ACreateRequirement"); }
// No device all-to-all exists to hold slots: none are needed.
int ncclLLA2ACalcSlots(int, int) { return 0; }

Team ncclTeamWorld(ncclComm_t comm) { return world(comm); }
Team ncclTeamLsa(ncclComm_t) { return Team{1, 0, 1}; }
Team ncclTeamRail(ncclComm_t comm) { return world(comm); }
// Member `rank` of `team`, counted in the world: members sit `stride` apart around this rank.
int ncclTeamRankToWorld(ncclComm_t comm, Team team, int rank) {
  return world(comm).rank + (rank - team.rank) * team.stride;
}
// The LSA team holds this rank alone: only this rank's own index maps into it.
int ncclTeamRankToLsa(ncclComm_t comm, Team team, int rank) {
  return ncclTeamRankToWorld(comm, team, rank) == world(comm).rank ? 0 : -1;
}

}  // extern "C"

BRAID_NCCL_TWIN(ncclDevCommCreate)
BRAID_NCCL_TWIN(ncclDevCommDestroy)
BRAID_NCCL_TWIN(ncclGinBarrierCreateRequirement)
BRAID_NCCL_TWIN(ncclLsaBarrierCreateRequirement)
BRAID_NCCL_TWIN(ncclLLA2ACreateRequirement)
BRAID_NCCL_TWIN(ncclLLA2ACalcSlots)
BRAID_NCCL_TWIN(ncclTeamWorld)
BRAID_NCCL_TWIN(ncclTeamLsa)
BRAID_NCCL_TWIN(ncclTeamRail)
BRAID_NCCL_TWIN(ncclTeamRankToWorld)
BRAID_NCCL_TWIN(ncclTeamRankToLsa)
