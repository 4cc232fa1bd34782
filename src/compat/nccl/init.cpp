// Unique ids and communicator creation from them: ncclCommInitRank (and its Config
// and Scalable forms) and ncclCommInitAll.
//
// NCCL_COMM_ID (Braid's BRAID_ROOT) set to host:port: ncclGetUniqueId starts no root and
// derives the id from that address alone, so every process can make the same id
// itself; rank 0 then hosts the root in ncclCommInitRank, as NCCL does.
#include "bootstrap/bootstrap.h"
#include "compat/nccl/group.h"
#include "core/env.h"

#include <array>
#include <cstring>
#include <functional>
#include <optional>
#include <set>

using namespace braid::nccl;

namespace {

// All processes must agree on the root's secret without exchanging anything:
// BRAID_SECRET where the job sets one, else a value derived from the address, which
// keeps jobs on different addresses apart but is guessable (NCCL's is a constant).
std::array<unsigned char, 16> secretFor(const std::string& where) {
  if (std::string hex = braid::Env::get().value("BRAID_SECRET"); !hex.empty()) {
    auto parsed = braid::parseSecretHex(hex);
    if (!parsed) fail(ncclInvalidArgument, "BRAID_SECRET must be 32 hex digits");
    return *parsed;
  }
  std::array<unsigned char, 16> s{};
  std::uint64_t a = std::hash<std::string>()("nccl-comm-id-a:" + where);
  std::uint64_t b = std::hash<std::string>()("nccl-comm-id-b:" + where);
  for (int i = 0; i < 8; ++i) {
    s[i] = static_cast<unsigned char>(a >> (8 * i));
    s[8 + i] = static_cast<unsigned char>(b >> (8 * i));
  }
  return s;
}

// The root address NCCL_COMM_ID (or BRAID_ROOT) names, if set.
std::optional<braid::RootInfo> rootFromEnvironment() {
  std::string where = braid::Env::get().value("BRAID_ROOT");
  if (where.empty()) return std::nullopt;
  braid::RootInfo info;
  info.address = braid::SockAddr::parse(where);
  info.secret = secretFor(where);
  return info;
}

braid::UniqueId newUniqueId() {
  if (auto env = rootFromEnvironment()) return env->encode();
  return braid::UniqueId::create();
}

braid::UniqueId fromNccl(const ncclUniqueId& id) {
  braid::UniqueId u;
  std::memcpy(u.bytes.data(), id.internal, u.bytes.size());
  return u;
}

ncclResult_t initRank(ncclComm_t* newcomm, int nranks, const braid::UniqueId& id, int rank, const ncclConfig_t* config,
                      int cudaDevice) {
  if (!newcomm) fail(ncclInvalidArgument, rankPrefix(rank) + "argument 'newcomm' is NULL");
  *newcomm = nullptr;
  if (nranks < 1) fail(ncclInvalidArgument, "argument 'nranks' is " + std::to_string(nranks) + "; at least 1");
  if (rank < 0 || rank >= nranks)
    fail(ncclInvalidArgument, "argument 'rank' is " + std::to_string(rank) + ", outside [0, " +
                                  std::to_string(nranks) + ")");
  CommOptions options = readConfig(config, nullptr, rank);
  // Only the process that holds rank 0 hosts the root, at the id's address.
  Recipe recipe{id, rank, nranks, rank == 0 && rootFromEnvironment().has_value()};
  auto* handle = new ncclComm(rank, nranks, cudaDevice, std::move(options));
  return createInto(newcomm, handle, [recipe] { return std::optional<Recipe>(recipe); });
}

}  // namespace

ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId) {
  return guarded("ncclGetUniqueId", [&] {
    if (!uniqueId) fail(ncclInvalidArgument, "argument 'uniqueId' is NULL");
    braid::UniqueId id = newUniqueId();
    static_assert(sizeof uniqueId->internal == sizeof id.bytes, "ncclUniqueId and braid::UniqueId differ in size");
    std::memcpy(uniqueId->internal, id.bytes.data(), id.bytes.size());
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclGetUniqueId)

ncclResult_t ncclCommInitRankConfig(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank,
                                    ncclConfig_t* config) {
  return guardedInGroup("ncclCommInitRankConfig", [&] {
    return initRank(comm, nranks, fromNccl(commId), rank, config, currentCudaDevice());
  });
}
BRAID_NCCL_TWIN(ncclCommInitRankConfig)

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank) {
  return guardedInGroup("ncclCommInitRank", [&] {
    return initRank(comm, nranks, fromNccl(commId), rank, nullptr, currentCudaDevice());
  });
}
BRAID_NCCL_TWIN(ncclCommInitRank)

// Several ids spread NCCL's bootstrap over several roots. Braid's root serves a whole
// job, so the first id is enough; the roots behind the others see nobody and stop
// after BRAID_TIMEOUT.
ncclResult_t ncclCommInitRankScalable(ncclComm_t* newcomm, int nranks, int myrank, int nId, ncclUniqueId* commIds,
                                      ncclConfig_t* config) {
  return guardedInGroup("ncclCommInitRankScalable", [&] {
    if (nId < 1 || nId > nranks)
      fail(ncclInvalidArgument, rankPrefix(myrank) + "argument 'nId' is " + std::to_string(nId) + ", outside [1, " +
                                    std::to_string(nranks) + "]");
    if (!commIds) fail(ncclInvalidArgument, rankPrefix(myrank) + "argument 'commIds' is NULL");
    return initRank(newcomm, nranks, fromNccl(commIds[0]), myrank, config, currentCudaDevice());
  });
}
BRAID_NCCL_TWIN(ncclCommInitRankScalable)

// One process, ndev ranks: the inits are a group, so they run concurrently.
ncclResult_t ncclCommInitAll(ncclComm_t* comms, int ndev, const int* devlist) {
  return guardedInGroup("ncclCommInitAll", [&] {
    if (!comms) fail(ncclInvalidArgument, "argument 'comm' is NULL");
    if (ndev < 1) fail(ncclInvalidArgument, "argument 'ndev' is " + std::to_string(ndev) + "; at least 1");
    if (devlist) {
      std::set<int> seen;
      for (int i = 0; i < ndev; ++i) {
        if (devlist[i] < 0)
          fail(ncclInvalidArgument, "argument 'devlist' holds device " + std::to_string(devlist[i]) + " at " +
                                        std::to_string(i));
        if (!seen.insert(devlist[i]).second)
          fail(ncclInvalidUsage, "argument 'devlist' names device " + std::to_string(devlist[i]) + " twice");
      }
    }
    for (int i = 0; i < ndev; ++i) comms[i] = nullptr;
    const bool cuda = currentCudaDevice() >= 0;
    braid::UniqueId id = newUniqueId();
    groupStart();
    for (int i = 0; i < ndev; ++i) {
      const int device = cuda ? (devlist ? devlist[i] : i) : -1;
      ncclResult_t r =
          guardedInGroup("ncclCommInitAll", [&] { return initRank(&comms[i], ndev, id, i, nullptr, device); });
      if (r != ncclSuccess) break;  // the group now fails as a whole, with this error
    }
    return groupEnd();
  });
}
BRAID_NCCL_TWIN(ncclCommInitAll)
