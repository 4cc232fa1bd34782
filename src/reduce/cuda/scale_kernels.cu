// The one-input steps of Avg and PreMulSum: finishAvgOnDevice and preMultiplyOnDevice.
#include <braid/error.h>

#include <cstring>
#include <string>

#include "reduce/cuda/device_reduce.h"
#include "reduce/cuda/elements.cuh"
#include "reduce/cuda/elementwise.cuh"

namespace braid::reduce {
namespace {

template <class E>
struct DivideBy {
  using Storage = typename E::Storage;
  static constexpr bool kBinary = false;
  std::uint64_t divisor;
  __device__ Storage operator()(Storage x, Storage) const { return E::divide(x, divisor); }
};

// Multiplies with the Prod kernel's arithmetic, as the CPU's preMultiply does.
template <class E>
struct MultiplyBy {
  using Storage = typename E::Storage;
  static constexpr bool kBinary = false;
  Storage scalar;
  __device__ Storage operator()(Storage x, Storage) const {
    return E::template combine<device::Op::Prod>(x, scalar);
  }
};

// Names the call in an error (built only then).
auto describe(const char* function, DataType type) {
  return [=] { return std::string(function) + "(" + std::string(toString(type)) + ")"; };
}

}  // namespace

void device::loadScaleKernels() {
  for (int t = 0; t < kNumDataTypes; ++t)
    device::withDeviceElem(static_cast<DataType>(t), [](auto elem) {
      using E = decltype(elem);
      device::preload(reinterpret_cast<const void*>(&device::elementwiseKernel<DivideBy<E>>), "finishAvgOnDevice");
      device::preload(reinterpret_cast<const void*>(&device::elementwiseKernel<MultiplyBy<E>>), "preMultiplyOnDevice");
    });
}

void finishAvgOnDevice(void* data, std::size_t count, DataType type, std::uint64_t divisor, void* stream) {
  if (divisor == 0) throw InvalidArgument("finishAvgOnDevice: divisor 0");
  device::withDeviceElem(type, [&](auto elem) {
    using E = decltype(elem);
    if (count == 0) return;
    if (!data) throw InvalidArgument("finishAvgOnDevice: data is null");
    device::launchElementwise(data, data, nullptr, count, DivideBy<E>{divisor}, static_cast<cudaStream_t>(stream),
                              describe("finishAvgOnDevice", type));
  });
}

void preMultiplyOnDevice(void* dst, const void* src, std::size_t count, DataType type, const void* hostScalar,
                         void* stream) {
  device::withDeviceElem(type, [&](auto elem) {
    using E = decltype(elem);
    if (count == 0) return;
    if (!hostScalar) throw InvalidArgument("preMultiplyOnDevice: hostScalar is null");
    if (!dst) throw InvalidArgument("preMultiplyOnDevice: dst is null");
    if (!src) throw InvalidArgument("preMultiplyOnDevice: src is null");
    MultiplyBy<E> fn{};
    std::memcpy(&fn.scalar, hostScalar, sizeof(fn.scalar));
    device::launchElementwise(dst, src, nullptr, count, fn, static_cast<cudaStream_t>(stream),
                              describe("preMultiplyOnDevice", type));
  });
}

}  // namespace braid::reduce
