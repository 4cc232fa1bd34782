// Which CUDA device a communicator belongs to. NCCL takes the device current on the
// calling thread at init; Braid asks the CUDA driver the same question, but only where
// the program already loaded it, so host-only programs never load CUDA. The driver,
// not the runtime, because a program built by nvcc links its runtime statically,
// where no other library can find it; the driver's current context is shared by all.
#include "compat/nccl/comm.h"

#include <dlfcn.h>

namespace braid::nccl {

int currentCudaDevice() {
  void* driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
  if (!driver) return -1;
  using CtxGetDevice = int (*)(int*);  // CUresult cuCtxGetDevice(CUdevice*)
  auto getDevice = reinterpret_cast<CtxGetDevice>(dlsym(driver, "cuCtxGetDevice"));
  int device = 0;  // no current context yet: the runtime would pick device 0
  if (getDevice && getDevice(&device) != 0) device = 0;
  dlclose(driver);  // drops only the reference RTLD_NOLOAD took
  return getDevice ? device : -1;
}

}  // namespace braid::nccl
