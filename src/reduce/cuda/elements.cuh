#pragma once
// Device element arithmetic for every data type, the GPU twin of reduce/elements.h:
// the same operations in the same order, so that results match the CPU bit for bit.
// Built with --fmad=false --ftz=false --prec-div=true (see CMakeLists.txt): IEEE
// rounding for every operation, subnormals kept, divisions correctly rounded.
#include <braid/error.h>
#include <braid/types.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "reduce/cuda/narrow_float.cuh"
#include "reduce/kernels.h"

namespace braid::reduce::device {

using detail::Op;

__device__ __forceinline__ bool isNan(float x) { return x != x; }
__device__ __forceinline__ bool isNan(double x) { return x != x; }
__device__ __forceinline__ bool signBit(float x) { return (__float_as_uint(x) >> 31) != 0; }
__device__ __forceinline__ bool signBit(double x) { return __double_as_longlong(x) < 0; }

// Max/min: NaN wins (a + b yields a quiet NaN), and -0 < +0 so that the result does not
// depend on operand order.
template <Op op, class T>
__device__ __forceinline__ T combineFloat(T a, T b) {
  if constexpr (op == Op::Sum) {
    return a + b;
  } else if constexpr (op == Op::Prod) {
    return a * b;
  } else {
    if (isNan(a) || isNan(b)) return a + b;
    constexpr bool kMax = op == Op::Max;
    if (a == b) return signBit(a) == kMax ? b : a;  // only differs for +-0
    return (a > b) == kMax ? a : b;
  }
}

// Integers of any width and signedness; sum and prod wrap (computed unsigned).
template <class T>
struct IntElem {
  using Storage = T;
  using U = std::make_unsigned_t<T>;
  template <Op op>
  __device__ static T combine(T a, T b) {
    // The inner casts back to U undo integer promotion (uint8 * uint8 is int).
    if constexpr (op == Op::Sum) return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
    else if constexpr (op == Op::Prod) return static_cast<T>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
    else if constexpr (op == Op::Max) return a > b ? a : b;
    else return a < b ? a : b;
  }
  // Truncates toward zero, dividing signed values by magnitude as the CPU does. Types of
  // 32 bits or less divide in 32 bits: 64-bit division is a long software routine on
  // the GPU, and a divisor beyond 32 bits exceeds every such magnitude (quotient 0).
  __device__ static T divide(T v, std::uint64_t d) {
    using Wide = std::conditional_t<(sizeof(T) <= 4), std::uint32_t, std::uint64_t>;
    if constexpr (sizeof(T) <= 4) {
      if (d > 0xFFFFFFFFu) return 0;
    }
    const Wide divisor = static_cast<Wide>(d);
    if constexpr (std::is_signed_v<T>) {
      const Wide mag = v < 0 ? Wide{0} - static_cast<Wide>(v) : static_cast<Wide>(v);
      const Wide q = mag / divisor;
      return static_cast<T>(v < 0 ? Wide{0} - q : q);
    } else {
      return static_cast<T>(static_cast<Wide>(v) / divisor);
    }
  }
};

template <class T>
struct FloatElem {
  using Storage = T;
  template <Op op>
  __device__ static T combine(T a, T b) { return combineFloat<op>(a, b); }
  __device__ static T divide(T v, std::uint64_t d) { return v / static_cast<T>(d); }
};

// Narrow floats: widened to float32 for each operation, rounded back once.
template <class F, class S>
struct NarrowElem {
  using Storage = S;
  __device__ static float up(S v) { return widen<F>(v); }
  __device__ static S down(float f) { return static_cast<S>(narrow<F>(f)); }
  template <Op op>
  __device__ static S combine(S a, S b) { return down(combineFloat<op>(up(a), up(b))); }
  __device__ static S divide(S v, std::uint64_t d) { return down(up(v) / static_cast<float>(d)); }
};

// Host side: calls fn(Elem{}) with the element traits of `type`; throws for a value
// outside the enum.
template <class Fn>
decltype(auto) withDeviceElem(DataType type, Fn&& fn) {
  switch (type) {
    case DataType::Int8: return fn(IntElem<std::int8_t>{});
    case DataType::Uint8: return fn(IntElem<std::uint8_t>{});
    case DataType::Int32: return fn(IntElem<std::int32_t>{});
    case DataType::Uint32: return fn(IntElem<std::uint32_t>{});
    case DataType::Int64: return fn(IntElem<std::int64_t>{});
    case DataType::Uint64: return fn(IntElem<std::uint64_t>{});
    case DataType::Float16: return fn(NarrowElem<Half, std::uint16_t>{});
    case DataType::Float32: return fn(FloatElem<float>{});
    case DataType::Float64: return fn(FloatElem<double>{});
    case DataType::Bfloat16: return fn(NarrowElem<Bf16, std::uint16_t>{});
    case DataType::Float8E4M3: return fn(NarrowElem<E4m3, std::uint8_t>{});
    case DataType::Float8E5M2: return fn(NarrowElem<E5m2, std::uint8_t>{});
  }
  throw InvalidArgument("invalid data type " + std::to_string(static_cast<int>(type)));
}

}  // namespace braid::reduce::device
