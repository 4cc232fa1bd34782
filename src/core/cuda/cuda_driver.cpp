#include "core/cuda/cuda_driver.h"

#include <cuda_runtime_api.h>

#include <stdexcept>

namespace braid::cuda {
namespace {

std::string versionText(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

// The runtime would report a missing driver as "insufficient driver"; say what it is.
std::string whyUnusable() {
  int driverVersion = 0;
  cudaDriverGetVersion(&driverVersion);
  if (driverVersion == 0) return "no CUDA driver is installed (libcuda.so.1 cannot be loaded)";
  if (driverVersion < CUDART_VERSION)
    return "the CUDA driver supports CUDA " + versionText(driverVersion) + ", older than the CUDA " +
           versionText(CUDART_VERSION) + " that Braid was built with";
  return "";
}

Driver load() {
  if (std::string why = whyUnusable(); !why.empty()) throw std::runtime_error(why);
  Driver d;
  auto fetch = [](const char* symbol, unsigned int version, void** out) {
    cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
    cudaError_t err = cudaGetDriverEntryPointByVersion(symbol, out, version, cudaEnableLegacyStream, &found);
    if (err != cudaSuccess)
      throw std::runtime_error(std::string("the CUDA runtime cannot start: ") + cudaGetErrorName(err) + " (" +
                               cudaGetErrorString(err) + ")");
    if (found != cudaDriverEntryPointSuccess || !*out)
      throw std::runtime_error(std::string("the CUDA driver has no ") + symbol + " (CUDA " + versionText(static_cast<int>(version)) + ")");
  };
#define BRAID_CUDA_DRIVER_FETCH(name, version) fetch(#name, version, reinterpret_cast<void**>(&d.name.fn));
  BRAID_CUDA_DRIVER_FUNCTIONS(BRAID_CUDA_DRIVER_FETCH)
#undef BRAID_CUDA_DRIVER_FETCH
  // The runtime initialises the driver without a device too; say so now rather than
  // at the first call that needs one.
  int devices = 0;
  cudaError_t err = cudaGetDeviceCount(&devices);
  if (err != cudaSuccess || devices == 0)
    throw std::runtime_error(err == cudaSuccess ? std::string("no CUDA-capable GPU is visible")
                                                : std::string(cudaGetErrorName(err)) + " (" + cudaGetErrorString(err) + ")");
  return d;
}

}  // namespace

std::string Driver::describe(CUresult result) const {
  const char* name = nullptr;
  const char* text = nullptr;
  if (cuGetErrorName) cuGetErrorName(result, &name);
  if (cuGetErrorString) cuGetErrorString(result, &text);
  return (name ? std::string(name) : "CUDA error " + std::to_string(static_cast<int>(result))) + " (" +
         (text ? text : "no description") + ")";
}

const Driver& Driver::get() {
  // Loaded once; a failure is remembered and reported the same way to every caller.
  struct Loaded {
    Driver driver;
    std::string error;
  };
  static const Loaded loaded = [] {
    Loaded l;
    try {
      l.driver = load();
    } catch (const std::exception& e) {
      l.error = e.what();
    }
    return l;
  }();
  if (!loaded.error.empty()) throw std::runtime_error(loaded.error);
  return loaded.driver;
}

void throwCudaError(const Driver& driver, CUresult result, int rank, const std::string& call, const std::string& what) {
  throw SystemError("rank " + std::to_string(rank) + ": " + call + ": " + what + " failed: " + driver.describe(result),
                    ErrorContext{rank, -1, "", "cuda"});
}

ContextScope::ContextScope(const Driver& driver, CUcontext ctx) : driver_(driver) {
  CUcontext current = nullptr;
  status_ = driver_.cuCtxGetCurrent(&current);
  if (status_ != CUDA_SUCCESS || current == ctx) return;
  status_ = driver_.cuCtxPushCurrent(ctx);
  pushed_ = status_ == CUDA_SUCCESS;
}

ContextScope::~ContextScope() {
  CUcontext popped = nullptr;
  if (pushed_) driver_.cuCtxPopCurrent(&popped);
}

}  // namespace braid::cuda
