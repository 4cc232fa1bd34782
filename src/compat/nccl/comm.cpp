// The handle's life: acquiring it for a call, building its communicator (now or on its
// own thread), and the calls that end or query it.
#include "compat/nccl/comm.h"

#include "bootstrap/bootstrap.h"
#include "compat/nccl/errors.h"

#include <exception>

ncclComm::ncclComm(int r, int n, int device, braid::nccl::CommOptions o)
    : rank(r), nranks(n), cudaDevice(device), options(std::move(o)) {}

ncclComm::~ncclComm() {
  // A build still running was abandoned (and detached) by ncclCommAbort; one that
  // finished is joined here at no cost.
  if (builder.joinable()) builder.join();
}

namespace braid::nccl {
namespace {

void finish(Creation& c, std::unique_ptr<Communicator> made, ncclResult_t code, const std::string& error) {
  std::lock_guard<std::mutex> lock(c.mutex);
  if (c.abandoned) {
    // Aborted while it was being built: end it at once, as the abort asked.
    if (made) made->abort();
    return;
  }
  c.communicator = std::move(made);
  c.error = error;
  c.state.store(code, std::memory_order_release);
}

void build(const std::shared_ptr<Creation>& creation, const Recipe& recipe) {
  try {
    std::unique_ptr<BootstrapRoot> root;
    if (recipe.hostsRoot) {
      RootInfo where = RootInfo::decode(recipe.id);
      root = std::make_unique<BootstrapRoot>(where.address, where.secret, 1);
    }
    auto made = std::make_unique<Communicator>(recipe.id, recipe.rank, recipe.size);
    finish(*creation, std::move(made), ncclSuccess, "");
  } catch (...) {
    std::string why;
    ncclResult_t code = classifyCurrentException(why);
    finish(*creation, nullptr, code, why);
  }
}

}  // namespace

void release(ncclComm* comm) {
  if (comm->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete comm;
}

CommRef& CommRef::operator=(CommRef&& o) noexcept {
  if (this != &o) {
    if (comm_) release(comm_);
    comm_ = o.comm_;
    o.comm_ = nullptr;
  }
  return *this;
}

CommRef acquire(ncclComm_t comm) {
  if (!comm) fail(ncclInvalidArgument, "argument 'comm' is NULL");
  comm->refs.fetch_add(1, std::memory_order_acq_rel);
  CommRef ref(comm);
  if (comm->magic.load(std::memory_order_acquire) != ncclComm::kLive)
    fail(ncclInvalidArgument, "argument 'comm' is not a live communicator (destroyed, aborted, or never made)");
  return ref;
}

void throwIfFailed(const ncclComm& comm) {
  ncclResult_t state = comm.creation->state.load(std::memory_order_acquire);
  if (state != ncclSuccess && state != ncclInProgress)
    fail(state, rankPrefix(comm.rank) + "the communicator's initialization failed: " + comm.creation->error);
}

Communicator& ready(ncclComm& comm) {
  // The hot path: a few atomic loads, and strings only for a failure.
  if (comm.magic.load(std::memory_order_acquire) != ncclComm::kLive)
    fail(ncclInvalidArgument, rankPrefix(comm.rank) + "the communicator was destroyed or aborted");
  if (comm.creation->state.load(std::memory_order_acquire) == ncclInProgress)
    fail(ncclInvalidArgument, rankPrefix(comm.rank) + "the communicator is still being initialized; poll "
                                                      "ncclCommGetAsyncError until it stops returning ncclInProgress");
  throwIfFailed(comm);
  if (comm.revoked.load())
    fail(ncclInvalidUsage, rankPrefix(comm.rank) + "the communicator was revoked (ncclCommRevoke)");
  if (comm.finalized.load())
    fail(ncclInvalidUsage, rankPrefix(comm.rank) + "the communicator was finalized (ncclCommFinalize)");
  return *comm.creation->communicator;
}

bool buildNow(ncclComm& comm, const Recipe& recipe) {
  comm.rank = recipe.rank;
  comm.nranks = recipe.size;
  build(comm.creation, recipe);
  return comm.creation->state.load(std::memory_order_acquire) == ncclSuccess;
}

void buildInBackground(ncclComm& comm, const Recipe& recipe) {
  comm.rank = recipe.rank;
  comm.nranks = recipe.size;
  comm.builder = std::thread([creation = comm.creation, recipe] { build(creation, recipe); });
}

void joinBuild(ncclComm& comm) {
  if (comm.builder.joinable()) comm.builder.join();
}

void failCreation(ncclComm& comm, ncclResult_t code, const std::string& why) {
  finish(*comm.creation, nullptr, code, why);
}

}  // namespace braid::nccl

using namespace braid::nccl;

namespace {

// The error that broke a ready communicator, as NCCL's code, with its text recorded.
// A revoked one reports none: the revoke ended it on purpose, whatever broke it before,
// as NCCL's revoke replaces the communicator's error with its own success.
ncclResult_t brokenState(ncclComm& comm) {
  if (comm.revoked.load() || !comm.creation->communicator) return ncclSuccess;
  std::exception_ptr e = comm.creation->communicator->asyncError();
  if (!e) return ncclSuccess;
  try {
    std::rethrow_exception(e);
  } catch (...) {
    return recordCurrentException("ncclCommGetAsyncError");
  }
}

// Marks the handle dead for new calls and returns the reference the handle held.
CommRef retire(ncclComm_t comm) {
  CommRef ref = acquire(comm);
  std::uint64_t live = ncclComm::kLive;
  if (!ref->magic.compare_exchange_strong(live, 0))
    fail(ncclInvalidArgument, "argument 'comm' was destroyed or aborted by another thread");
  return ref;
}

}  // namespace

ncclResult_t ncclCommFinalize(ncclComm_t comm) {
  return guarded("ncclCommFinalize", [&] {
    CommRef ref = acquire(comm);
    ready(*ref);
    // Every call on a communicator has completed when it returns (host memory), so no
    // operation is left to flush: finalizing only closes the communicator to new work.
    ref->finalized.store(true);
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclCommFinalize)

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  if (!comm) return ncclSuccess;  // as NCCL
  return guarded("ncclCommDestroy", [&] {
    CommRef ref = retire(comm);
    joinBuild(*ref);
    release(ref.get());  // the handle's own reference; the communicator goes with the last
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclCommDestroy)

ncclResult_t ncclCommAbort(ncclComm_t comm) {
  if (!comm) return ncclSuccess;  // as NCCL
  return guarded("ncclCommAbort", [&] {
    CommRef ref = retire(comm);
    Creation& c = *ref->creation;
    {
      std::lock_guard<std::mutex> lock(c.mutex);
      if (c.state.load() == ncclInProgress) {
        // The build may wait for peers up to BRAID_TIMEOUT: leave it to end by itself.
        c.abandoned = true;
        if (ref->builder.joinable()) ref->builder.detach();
      }
    }
    // Returns within about a second whatever the peers do; a call in flight on another
    // thread ends with an error, and its reference keeps the handle alive until then.
    if (c.communicator) c.communicator->abort();
    release(ref.get());
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclCommAbort)

ncclResult_t ncclCommRevoke(ncclComm_t comm, int revokeFlags) {
  if (!comm) return ncclSuccess;  // as NCCL
  return guarded("ncclCommRevoke", [&] {
    CommRef ref = acquire(comm);
    const std::string rank = rankPrefix(ref->rank);
    if (revokeFlags != NCCL_REVOKE_DEFAULT)
      fail(ncclInvalidArgument, rank + "argument 'revokeFlags' is " + std::to_string(revokeFlags) +
                                    "; only NCCL_REVOKE_DEFAULT (0) exists");
    if (ref->revoked.load()) fail(ncclInvalidArgument, rank + "the communicator was already revoked");
    if (ref->finalized.load()) fail(ncclInvalidArgument, rank + "the communicator was finalized");
    braid::Communicator& c = ready(*ref);
    // Ends the operations in flight and refuses new ones; the handle stays valid until
    // ncclCommDestroy or ncclCommAbort.
    ref->revoked.store(true);
    c.abort();
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclCommRevoke)

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* asyncError) {
  return guarded("ncclCommGetAsyncError", [&] {
    CommRef ref = acquire(comm);
    if (!asyncError) fail(ncclInvalidArgument, rankPrefix(ref->rank) + "argument 'asyncError' is NULL");
    ncclResult_t state = ref->creation->state.load(std::memory_order_acquire);
    if (state == ncclInProgress) {
      *asyncError = ncclInProgress;
    } else if (state != ncclSuccess) {
      setLastError("ncclCommGetAsyncError: " + rankPrefix(ref->rank) + "initialization failed: " +
                   ref->creation->error);
      *asyncError = state;
    } else {
      *asyncError = brokenState(*ref);
    }
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclCommGetAsyncError)

ncclResult_t ncclCommCount(const ncclComm_t comm, int* count) {
  return guarded("ncclCommCount", [&] {
    CommRef ref = acquire(comm);
    if (!count) fail(ncclInvalidArgument, rankPrefix(ref->rank) + "argument 'count' is NULL");
    ready(*ref);
    *count = ref->nranks;
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclCommCount)

ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank) {
  return guarded("ncclCommUserRank", [&] {
    CommRef ref = acquire(comm);
    if (!rank) fail(ncclInvalidArgument, rankPrefix(ref->rank) + "argument 'rank' is NULL");
    ready(*ref);
    *rank = ref->rank;
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclCommUserRank)

ncclResult_t ncclCommCuDevice(const ncclComm_t comm, int* device) {
  return guarded("ncclCommCuDevice", [&] {
    CommRef ref = acquire(comm);
    if (!device) fail(ncclInvalidArgument, rankPrefix(ref->rank) + "argument 'device' is NULL");
    ready(*ref);
    if (ref->cudaDevice < 0)
      fail(ncclInvalidUsage, rankPrefix(ref->rank) + "the communicator has no CUDA device: no CUDA driver was "
                                                     "loaded when it was made, so it works on host memory only");
    *device = ref->cudaDevice;
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclCommCuDevice)
