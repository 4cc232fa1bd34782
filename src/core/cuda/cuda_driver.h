#pragma once
// The CUDA driver API as Braid uses it, reached through the statically linked runtime
// (cudaGetDriverEntryPointByVersion): nothing links libcuda, so a build with CUDA loads
// and runs on machines without a driver or a GPU, and no call here happens until a
// caller hands Braid a stream or device memory.
#include "core/call_watch.h"

#include <braid/error.h>

#include <cuda.h>
#include <cudaTypedefs.h>

#include <string>

namespace braid::cuda {

// Each entry is asked for at the CUDA version whose signature it is called with (the
// PFN_<name>_v<version> types of cudaTypedefs.h): a driver hands out, for a plain name,
// its newest variant up to the version asked for, and some have grown parameters since
// (cuStreamGetCtx in 12.5, cuCtxGetDevice in 13.0).
#define BRAID_CUDA_DRIVER_FUNCTIONS(X)                                                                \
  X(cuGetErrorName, 6000) X(cuGetErrorString, 6000) X(cuCtxGetCurrent, 4000) X(cuCtxGetDevice, 2000)   \
  X(cuCtxPushCurrent, 4000) X(cuCtxPopCurrent, 4000) X(cuDevicePrimaryCtxGetState, 7000)               \
  X(cuDevicePrimaryCtxRetain, 7000) X(cuDevicePrimaryCtxRelease, 11000) X(cuStreamGetCtx, 9020)        \
  X(cuStreamIsCapturing, 10000) X(cuStreamWaitValue32, 11070) X(cuLaunchHostFunc, 10000)               \
  X(cuMemcpyAsync, 4000) X(cuMemHostAlloc, 2020) X(cuMemFreeHost, 2000)                                \
  X(cuMemHostGetDevicePointer, 3020) X(cuEventCreate, 2000) X(cuEventRecord, 2000)                     \
  X(cuEventQuery, 2000) X(cuEventDestroy, 4000) X(cuMemAlloc, 3020) X(cuMemFree, 3020)                 \
  X(cuMemGetAddressRange, 3020) X(cuIpcGetMemHandle, 4010) X(cuIpcOpenMemHandle, 11000)                \
  X(cuIpcCloseMemHandle, 4010) X(cuStreamCreate, 2000) X(cuStreamDestroy, 4000)                        \
  X(cuDeviceGetPCIBusId, 4010) X(cuStreamGetFlags, 5050)

// A driver entry point, called as the function itself; each call runs under a
// CallWatch, so one that never returns is named in the log (core/call_watch.h).
template <class Fn>
struct Watched;
template <class R, class... Args>
struct Watched<R (*)(Args...)> {
  R (*fn)(Args...) = nullptr;
  const char* name = "";
  R operator()(Args... args) const {
    CallWatch watch(name);
    return fn(args...);
  }
  Watched& operator=(R (*f)(Args...)) {
    fn = f;
    return *this;
  }
  explicit operator bool() const { return fn != nullptr; }
};

struct Driver {
#define BRAID_CUDA_DRIVER_MEMBER(name, version) Watched<PFN_##name##_v##version> name{nullptr, #name};
  BRAID_CUDA_DRIVER_FUNCTIONS(BRAID_CUDA_DRIVER_MEMBER)
#undef BRAID_CUDA_DRIVER_MEMBER

  // "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)".
  std::string describe(CUresult result) const;

  // Loads the table once per process. Throws std::runtime_error saying why CUDA cannot
  // be used here (no driver installed, a driver older than this build's CUDA, no GPU);
  // callers add the rank and the argument. Creates no context.
  static const Driver& get();
};

// Throws SystemError "rank R: <call>: <what> failed: CUDA_ERROR_... (text)".
[[noreturn]] void throwCudaError(const Driver& driver, CUresult result, int rank, const std::string& call,
                                 const std::string& what);

// Makes `ctx` current on this thread for one scope (if it is not already) and restores
// what was current before.
class ContextScope {
 public:
  ContextScope(const Driver& driver, CUcontext ctx);
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;
  // CUDA_SUCCESS, or why the context could not be made current.
  CUresult status() const { return status_; }

 private:
  const Driver& driver_;
  bool pushed_ = false;
  CUresult status_ = CUDA_SUCCESS;
};

}  // namespace braid::cuda
