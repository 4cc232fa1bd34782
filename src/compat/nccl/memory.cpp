// ncclMemAlloc and ncclMemFree: device memory on the calling thread's current GPU, for
// buffers a program will pass to collectives. NCCL allocates through the CUDA virtual
// memory API so that NVLink SHARP and symmetric windows can map it; Braid has neither
// yet, and plain cudaMalloc memory serves its staged and (later) IPC paths alike. A
// build without CUDA says so rather than hand out host memory a kernel could not use.
#include "compat/nccl/errors.h"

#ifdef BRAID_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

using namespace braid::nccl;

ncclResult_t ncclMemAlloc(void** ptr, size_t size) {
  return guarded("ncclMemAlloc", [&]() -> ncclResult_t {
    if (!ptr) fail(ncclInvalidArgument, "argument 'ptr' is NULL");
    *ptr = nullptr;
#ifdef BRAID_HAVE_CUDA
    if (size == 0) fail(ncclInvalidArgument, "argument 'size' is 0");
    const cudaError_t e = cudaMalloc(ptr, size);
    if (e != cudaSuccess) {
      *ptr = nullptr;
      fail(ncclUnhandledCudaError, "cudaMalloc of " + std::to_string(size) + " bytes failed: " + cudaGetErrorString(e));
    }
    return ncclSuccess;
#else
    fail(ncclInvalidUsage, "not supported by this build: Braid was built without CUDA, so it cannot allocate " +
                               std::to_string(size) + " bytes of CUDA memory");
#endif
  });
}
BRAID_NCCL_TWIN(ncclMemAlloc)

ncclResult_t ncclMemFree(void* ptr) {
  return guarded("ncclMemFree", [&]() -> ncclResult_t {
    if (!ptr) return ncclSuccess;  // freeing NULL does nothing, as cudaFree(NULL)
#ifdef BRAID_HAVE_CUDA
    const cudaError_t e = cudaFree(ptr);
    if (e != cudaSuccess) fail(ncclUnhandledCudaError, std::string("cudaFree failed: ") + cudaGetErrorString(e));
    return ncclSuccess;
#else
    fail(ncclInvalidUsage, "not supported by this build: ncclMemAlloc allocates nothing without CUDA, so the "
                           "pointer cannot be one of its");
#endif
  });
}
BRAID_NCCL_TWIN(ncclMemFree)
