// Host-side helpers shared by the element-wise launches: pointer layout, grid size and
// error reporting.
#include <braid/error.h>

#include <cuda.h>
#include <cudaTypedefs.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "reduce/cuda/elementwise.cuh"

namespace braid::reduce::device {
namespace {

// The SM count per device, asked once: cudaDeviceGetAttribute is cheap, but a launch
// of a few bytes is latency-bound and every call counts.
int smCount(int device) {
  constexpr int kCached = 64;
  static std::atomic<int> cache[kCached] = {};
  if (device >= 0 && device < kCached) {
    if (const int known = cache[device].load(std::memory_order_relaxed)) return known;
  }
  int sms = 0;
  throwIfFailed(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device),
                "cudaDeviceGetAttribute(multiProcessorCount)");
  sms = std::max(sms, 1);
  if (device >= 0 && device < kCached) cache[device].store(sms, std::memory_order_relaxed);
  return sms;
}

}  // namespace

Layout planLayout(void* dst, const void* a, const void* b, std::size_t count, std::size_t elementSize) {
  Layout l{static_cast<unsigned char*>(dst), static_cast<const unsigned char*>(a),
           static_cast<const unsigned char*>(b), count, 0, 0, Access::Bytes};
  const auto d = reinterpret_cast<std::uintptr_t>(dst);
  const auto x = reinterpret_cast<std::uintptr_t>(a);
  const auto y = b ? reinterpret_cast<std::uintptr_t>(b) : d;
  if ((d | x | y) % elementSize != 0) return l;
  l.access = Access::Element;
  if (x % 16 != d % 16 || y % 16 != d % 16) return l;
  l.access = Access::Packed;
  // Element-aligned and 16 a multiple of the element size: the distance to the next
  // 16-byte boundary is a whole number of elements.
  l.head = std::min<std::size_t>(count, ((16 - d % 16) % 16) / elementSize);
  l.packs = (count - l.head) / (16 / elementSize);
  return l;
}

unsigned gridFor(const void* kernel, std::size_t work) {
  const std::size_t wanted = std::max<std::size_t>(1, (work + kThreads - 1) / kThreads);
  int device = 0;
  throwIfFailed(cudaGetDevice(&device), "cudaGetDevice");
  const int sms = smCount(device);
  if (wanted <= static_cast<std::size_t>(sms)) return static_cast<unsigned>(wanted);
  // More work than one block per SM: as many blocks as can be resident at once; the
  // grid-stride loops cover the rest.
  int perSm = 0;
  throwIfFailed(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, kernel, kThreads, 0),
                "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
  const std::size_t resident = static_cast<std::size_t>(sms) * static_cast<std::size_t>(std::max(perSm, 1));
  return static_cast<unsigned>(std::min(wanted, resident));
}

void preload(const void* kernel, const char* what) {
  // The runtime's handle may be only partly loaded under lazy loading; the driver's
  // cuFuncLoad (CUDA 12.4 drivers on) finishes the job.
  static const PFN_cuFuncLoad_v12040 finishLoading = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    const cudaError_t e = cudaGetDriverEntryPointByVersion("cuFuncLoad", &fn, 12040, cudaEnableDefault, &found);
    return e == cudaSuccess && found == cudaDriverEntryPointSuccess ? reinterpret_cast<PFN_cuFuncLoad_v12040>(fn)
                                                                    : nullptr;
  }();
  cudaFunction_t function = nullptr;
  throwIfFailed(cudaGetFuncBySymbol(&function, kernel), std::string("finding the kernel of ") + what);
  if (!finishLoading) return;
  const CallWatch watch("cuFuncLoad");
  const CUresult r = finishLoading(reinterpret_cast<CUfunction>(function));
  if (r != CUDA_SUCCESS)
    throw SystemError(std::string("loading the kernel of ") + what + ": cuFuncLoad failed with CUDA error " +
                      std::to_string(static_cast<int>(r)));
}

void throwIfFailed(cudaError_t status, const std::string& what) {
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();
  throw SystemError(what + ": CUDA error " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

}  // namespace braid::reduce::device
