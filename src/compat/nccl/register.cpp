// Buffer registration and symmetric windows. Both are optimizations in NCCL: a
// collective on an unregistered buffer works the same, only slower.
// - ncclCommRegister: NCCL skips registration of host memory and returns a NULL handle
//   with ncclSuccess; Braid's buffers are host memory, and its transports copy through
//   their own registered rings, so it does the same.
// - ncclCommWindowRegister: where NCCL has no symmetric-memory support it returns
//   ncclSuccess with a NULL window, and collectives on the buffer run as usual. Braid
//   has none yet and does the same.
#include "compat/nccl/comm.h"
#include "compat/nccl/errors.h"
#include "core/log.h"

using namespace braid::nccl;

namespace {

void checkBuffer(int rank, const void* buff, size_t size) {
  if (!buff) fail(ncclInvalidArgument, rankPrefix(rank) + "argument 'buff' is NULL");
  if (size == 0) fail(ncclInvalidArgument, rankPrefix(rank) + "argument 'size' is 0");
}

}  // namespace

ncclResult_t ncclCommRegister(const ncclComm_t comm, void* buff, size_t size, void** handle) {
  return guarded("ncclCommRegister", [&] {
    CommRef ref = acquire(comm);
    if (!handle) fail(ncclInvalidArgument, rankPrefix(ref->rank) + "argument 'handle' is NULL");
    ready(*ref);
    checkBuffer(ref->rank, buff, size);
    *handle = nullptr;
    BRAID_INFO("ncclCommRegister: nothing to register for host buffers; the handle is NULL, as NCCL's for host memory");
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclCommRegister)

ncclResult_t ncclCommDeregister(const ncclComm_t comm, void* handle) {
  return guarded("ncclCommDeregister", [&] {
    CommRef ref = acquire(comm);
    if (handle)
      fail(ncclInvalidUsage, rankPrefix(ref->rank) + "argument 'handle' is not a handle ncclCommRegister returned "
                                                     "(it returns NULL on Braid)");
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclCommDeregister)

ncclResult_t ncclCommWindowRegister(ncclComm_t comm, void* buff, size_t size, ncclWindow_t* win, int winFlags) {
  return guarded("ncclCommWindowRegister", [&] {
    CommRef ref = acquire(comm);
    if (!win) fail(ncclInvalidArgument, rankPrefix(ref->rank) + "argument 'win' is NULL");
    *win = nullptr;
    ready(*ref);
    checkBuffer(ref->rank, buff, size);
    BRAID_INFO("ncclCommWindowRegister: no symmetric memory support; the window is NULL and collectives on the "
               "buffer run as usual, as NCCL does without that support");
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclCommWindowRegister)

ncclResult_t ncclCommWindowDeregister(ncclComm_t comm, ncclWindow_t win) {
  return guarded("ncclCommWindowDeregister", [&] {
    CommRef ref = acquire(comm);
    if (win)
      fail(ncclInvalidArgument, rankPrefix(ref->rank) + "argument 'win' is not a window ncclCommWindowRegister "
                                                        "returned (it returns NULL on Braid)");
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclCommWindowDeregister)
