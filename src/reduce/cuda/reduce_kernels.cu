// reduceOnDevice: the binary reduction kernels, one instantiation per (type, op).
#include <braid/error.h>

#include <string>

#include "reduce/cuda/device_reduce.h"
#include "reduce/cuda/elements.cuh"
#include "reduce/cuda/elementwise.cuh"

namespace braid::reduce {
namespace {

using device::Op;

Op combiningOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: case ReduceOp::Avg: case ReduceOp::PreMulSum: return Op::Sum;
    case ReduceOp::Prod: return Op::Prod;
    case ReduceOp::Max: return Op::Max;
    case ReduceOp::Min: return Op::Min;
  }
  throw InvalidArgument("reduceOnDevice: invalid reduction op " + std::to_string(static_cast<int>(op)));
}

template <class E, Op op>
struct Combine {
  using Storage = typename E::Storage;
  static constexpr bool kBinary = true;
  __device__ Storage operator()(Storage x, Storage y) const { return E::template combine<op>(x, y); }
};

}  // namespace

namespace device {

void loadReduceKernels() {
  for (int t = 0; t < kNumDataTypes; ++t)
    withDeviceElem(static_cast<DataType>(t), [](auto elem) {
      using E = decltype(elem);
      preload(reinterpret_cast<const void*>(&elementwiseKernel<Combine<E, Op::Sum>>), "reduceOnDevice");
      preload(reinterpret_cast<const void*>(&elementwiseKernel<Combine<E, Op::Prod>>), "reduceOnDevice");
      preload(reinterpret_cast<const void*>(&elementwiseKernel<Combine<E, Op::Max>>), "reduceOnDevice");
      preload(reinterpret_cast<const void*>(&elementwiseKernel<Combine<E, Op::Min>>), "reduceOnDevice");
    });
}

}  // namespace device

void loadDeviceKernels() {
  device::loadReduceKernels();
  device::loadScaleKernels();
  device::loadCopyKernels();
}

void reduceOnDevice(void* dst, const void* a, const void* b, std::size_t count, DataType type, ReduceOp op,
                    void* stream) {
  if (!isValid(type)) throw InvalidArgument("reduceOnDevice: invalid data type " + std::to_string(static_cast<int>(type)));
  const Op combine = combiningOp(op);
  if (count == 0) return;
  if (!dst) throw InvalidArgument("reduceOnDevice: dst is null");
  if (!a) throw InvalidArgument("reduceOnDevice: a is null");
  if (!b) throw InvalidArgument("reduceOnDevice: b is null");
  const auto what = [&] {
    return "reduceOnDevice(" + std::string(toString(type)) + ", " + std::string(toString(op)) + ")";
  };
  const auto s = static_cast<cudaStream_t>(stream);
  device::withDeviceElem(type, [&](auto elem) {
    using E = decltype(elem);
    switch (combine) {
      case Op::Sum: return device::launchElementwise(dst, a, b, count, Combine<E, Op::Sum>{}, s, what);
      case Op::Prod: return device::launchElementwise(dst, a, b, count, Combine<E, Op::Prod>{}, s, what);
      case Op::Max: return device::launchElementwise(dst, a, b, count, Combine<E, Op::Max>{}, s, what);
      case Op::Min: return device::launchElementwise(dst, a, b, count, Combine<E, Op::Min>{}, s, what);
    }
  });
}

}  // namespace braid::reduce
