// copyOnDevice: a grid-stride copy in the widest unit (16, 8, 4, 2 or 1 bytes) that dst
// and src share the alignment of, with the bytes before the first and after the last
// unit copied one at a time.
#include <braid/error.h>

#include <algorithm>
#include <cstdint>

#include "reduce/cuda/device_reduce.h"
#include "reduce/cuda/elementwise.cuh"

namespace braid::reduce {
namespace {

using device::kThreads;
using device::kUnroll;

template <class Unit>
__global__ void __launch_bounds__(kThreads)
    copyKernel(unsigned char* dst, const unsigned char* src, std::size_t bytes, std::size_t head, std::size_t units) {
  const std::size_t tid = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  const std::size_t tailStart = head + units * sizeof(Unit);
  const std::size_t edges = head + (bytes - tailStart);
  for (std::size_t k = tid; k < edges; k += stride) {
    const std::size_t i = k < head ? k : tailStart + (k - head);
    dst[i] = src[i];
  }
  const auto* from = reinterpret_cast<const Unit*>(src + head);
  auto* to = reinterpret_cast<Unit*>(dst + head);
  for (std::size_t base = tid; base < units; base += stride * kUnroll) {
    Unit v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (base + u * stride < units) v[u] = from[base + u * stride];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (base + u * stride < units) to[base + u * stride] = v[u];
  }
}

template <class Unit>
void launchCopy(unsigned char* dst, const unsigned char* src, std::size_t bytes, cudaStream_t stream) {
  const auto misalign = reinterpret_cast<std::uintptr_t>(dst) % sizeof(Unit);
  const std::size_t head = std::min<std::size_t>(bytes, (sizeof(Unit) - misalign) % sizeof(Unit));
  const std::size_t units = (bytes - head) / sizeof(Unit);
  const auto kernel = &copyKernel<Unit>;
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(device::gridFor(reinterpret_cast<const void*>(kernel), (units + kUnroll - 1) / kUnroll));
  config.blockDim = dim3(kThreads);
  config.stream = stream;
  const CallWatch watch("cudaLaunchKernelEx (the copy kernel)");
  device::throwIfFailed(cudaLaunchKernelEx(&config, kernel, dst, src, bytes, head, units), "copyOnDevice");
}

}  // namespace

void device::loadCopyKernels() {
  device::preload(reinterpret_cast<const void*>(&copyKernel<uint4>), "copyOnDevice");
  device::preload(reinterpret_cast<const void*>(&copyKernel<std::uint64_t>), "copyOnDevice");
  device::preload(reinterpret_cast<const void*>(&copyKernel<std::uint32_t>), "copyOnDevice");
  device::preload(reinterpret_cast<const void*>(&copyKernel<std::uint16_t>), "copyOnDevice");
  device::preload(reinterpret_cast<const void*>(&copyKernel<unsigned char>), "copyOnDevice");
}

void copyOnDevice(void* dst, const void* src, std::size_t bytes, void* stream) {
  if (bytes == 0) return;
  if (!dst) throw InvalidArgument("copyOnDevice: dst is null");
  if (!src) throw InvalidArgument("copyOnDevice: src is null");
  if (dst == src) return;
  auto* to = static_cast<unsigned char*>(dst);
  const auto* from = static_cast<const unsigned char*>(src);
  const auto s = static_cast<cudaStream_t>(stream);
  // The lowest bit in which the addresses differ is the alignment they share.
  const auto difference = reinterpret_cast<std::uintptr_t>(dst) ^ reinterpret_cast<std::uintptr_t>(src);
  if (difference % 16 == 0) return launchCopy<uint4>(to, from, bytes, s);
  if (difference % 8 == 0) return launchCopy<std::uint64_t>(to, from, bytes, s);
  if (difference % 4 == 0) return launchCopy<std::uint32_t>(to, from, bytes, s);
  if (difference % 2 == 0) return launchCopy<std::uint16_t>(to, from, bytes, s);
  launchCopy<unsigned char>(to, from, bytes, s);
}

}  // namespace braid::reduce
