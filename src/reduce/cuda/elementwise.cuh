#pragma once
// One grid-stride kernel shape for every element-wise operation (reduce, pre-multiply,
// finish-avg): 16-byte packs where the pointers share their alignment modulo 16, with
// the few elements before the first and after the last pack done one at a time;
// single elements where the pointers are only element-aligned; single bytes where not
// even that (CUDA faults on a misaligned element load).
#include "core/call_watch.h"

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace braid::reduce::device {

inline constexpr int kThreads = 512;  // per block; grids are sized from the SM count
inline constexpr int kUnroll = 2;     // packs in flight per thread per step

enum class Access : int { Packed, Element, Bytes };

struct Layout {
  unsigned char* dst;
  const unsigned char* a;
  const unsigned char* b;  // null for one-input operations
  std::size_t count;       // elements
  std::size_t head;        // Packed: elements before dst's first 16-byte boundary
  std::size_t packs;       // Packed: 16-byte packs from there
  Access access;
};

// Host helpers (launch.cu).
Layout planLayout(void* dst, const void* a, const void* b, std::size_t count, std::size_t elementSize);
// Blocks of kThreads for `work` independent items: enough to fill every SM, no more
// than the work needs. `kernel` is the function whose occupancy is asked.
unsigned gridFor(const void* kernel, std::size_t work);
// Throws SystemError naming `what` and CUDA's error; clears the thread's last error
// first, so that the failure is not reported again by an unrelated later call.
void throwIfFailed(cudaError_t status, const std::string& what);
// Loads `kernel` into the current context now rather than at its first launch.
void preload(const void* kernel, const char* what);
// Each kernel file's share of loadDeviceKernels().
void loadReduceKernels();
void loadScaleKernels();
void loadCopyKernels();

template <class S>
__device__ __forceinline__ S loadAt(const unsigned char* base, std::size_t i, bool bytewise) {
  if (!bytewise) return reinterpret_cast<const S*>(base)[i];
  S v;
  auto* out = reinterpret_cast<unsigned char*>(&v);
  for (unsigned k = 0; k < sizeof(S); ++k) out[k] = base[i * sizeof(S) + k];
  return v;
}

template <class S>
__device__ __forceinline__ void storeAt(unsigned char* base, std::size_t i, S v, bool bytewise) {
  if (!bytewise) {
    reinterpret_cast<S*>(base)[i] = v;
    return;
  }
  const auto* in = reinterpret_cast<const unsigned char*>(&v);
  for (unsigned k = 0; k < sizeof(S); ++k) base[i * sizeof(S) + k] = in[k];
}

// Fn: Storage, kBinary, and Storage operator()(Storage x, Storage y) (y unused when
// !kBinary). Element i reads a[i] (and b[i]) before writing dst[i], in one thread, so
// dst may alias an input.
template <class Fn>
__device__ __forceinline__ void applyOne(const Layout& l, const Fn& fn, std::size_t i, bool bytewise) {
  using S = typename Fn::Storage;
  const S x = loadAt<S>(l.a, i, bytewise);
  S y{};
  if constexpr (Fn::kBinary) y = loadAt<S>(l.b, i, bytewise);
  storeAt<S>(l.dst, i, fn(x, y), bytewise);
}

template <class Fn>
__global__ void __launch_bounds__(kThreads) elementwiseKernel(Layout l, Fn fn) {
  using S = typename Fn::Storage;
  const std::size_t tid = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  if (l.access != Access::Packed) {
    const bool bytewise = l.access == Access::Bytes;
    for (std::size_t i = tid; i < l.count; i += stride) applyOne(l, fn, i, bytewise);
    return;
  }

  constexpr unsigned kPer = 16 / sizeof(S);
  union Pack {
    uint4 raw;  // one 16-byte load or store
    S v[kPer];
  };
  // The head and the tail, fewer than 2 * kPer elements, go to the first threads.
  const std::size_t tailStart = l.head + l.packs * kPer;
  const std::size_t edges = l.head + (l.count - tailStart);
  for (std::size_t k = tid; k < edges; k += stride)
    applyOne(l, fn, k < l.head ? k : tailStart + (k - l.head), false);

  const auto* pa = reinterpret_cast<const uint4*>(l.a + l.head * sizeof(S));
  const uint4* pb = nullptr;
  if constexpr (Fn::kBinary) pb = reinterpret_cast<const uint4*>(l.b + l.head * sizeof(S));
  auto* pd = reinterpret_cast<uint4*>(l.dst + l.head * sizeof(S));
  for (std::size_t base = tid; base < l.packs; base += stride * kUnroll) {
    // All loads first, so that each thread has kUnroll packs in flight.
    Pack x[kUnroll], y[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::size_t p = base + u * stride;
      if (p < l.packs) {
        x[u].raw = pa[p];
        if constexpr (Fn::kBinary) y[u].raw = pb[p];
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::size_t p = base + u * stride;
      if (p < l.packs) {
        Pack r;
#pragma unroll
        for (unsigned j = 0; j < kPer; ++j) {
          S second{};
          if constexpr (Fn::kBinary) second = y[u].v[j];
          r.v[j] = fn(x[u].v[j], second);
        }
        pd[p] = r.raw;
      }
    }
  }
}

// Enqueues fn over count elements on `stream`; count 0 launches nothing. describe()
// names the call in an error; it is only called on failure, keeping strings off the
// path of small, latency-bound launches.
template <class Fn, class Describe>
void launchElementwise(void* dst, const void* a, const void* b, std::size_t count, const Fn& fn,
                       cudaStream_t stream, const Describe& describe) {
  if (count == 0) return;
  const Layout layout = planLayout(dst, a, Fn::kBinary ? b : nullptr, count, sizeof(typename Fn::Storage));
  const std::size_t work = layout.access == Access::Packed ? (layout.packs + kUnroll - 1) / kUnroll : count;
  const auto kernel = &elementwiseKernel<Fn>;
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(gridFor(reinterpret_cast<const void*>(kernel), work));
  config.blockDim = dim3(kThreads);
  config.stream = stream;
  const CallWatch watch("cudaLaunchKernelEx (an element-wise kernel)");
  const cudaError_t status = cudaLaunchKernelEx(&config, kernel, layout, fn);
  if (status != cudaSuccess) throwIfFailed(status, describe());
}

}  // namespace braid::reduce::device
