#pragma once
// Internal to src/reduce: scalar element arithmetic for every data type, exactly as
// the accumulation semantics in include/braid/types.h state them. The portable
// kernels, finishAvg and preMultiply are built from these; the vector kernels must
// give bit-identical results.
#include <braid/error.h>
#include <braid/types.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include "reduce/kernels.h"
#include "reduce/narrow_float.h"

namespace braid::reduce::detail {

// float32/float64 combination. Max/min: NaN wins (a + b yields a quiet NaN), and
// -0 < +0 so that the result does not depend on operand order.
template <Op op, class T>
inline T combineFloat(T a, T b) {
  if constexpr (op == Op::Sum) {
    return a + b;
  } else if constexpr (op == Op::Prod) {
    return a * b;
  } else {
    if (std::isnan(a) || std::isnan(b)) return a + b;
    constexpr bool kMax = op == Op::Max;
    if (a == b) return std::signbit(a) == kMax ? b : a;  // only differs for +-0
    return (a > b) == kMax ? a : b;
  }
}

// Integers of any width and signedness; sum and prod wrap (computed unsigned).
template <class T>
struct IntElem {
  using Storage = T;
  using U = std::make_unsigned_t<T>;
  template <Op op>
  static T combine(T a, T b) {
    // The inner casts back to U undo integer promotion (uint8 * uint8 is int).
    if constexpr (op == Op::Sum) return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
    else if constexpr (op == Op::Prod) return static_cast<T>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
    else if constexpr (op == Op::Max) return a > b ? a : b;
    else return a < b ? a : b;
  }
  // Truncates toward zero; signed values divide as signed (by magnitude, which also
  // covers the most negative value and divisors beyond the signed range).
  static T divide(T v, std::uint64_t d) {
    if constexpr (std::is_signed_v<T>) {
      const std::uint64_t mag = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
      const std::uint64_t q = mag / d;
      return static_cast<T>(v < 0 ? 0 - q : q);
    } else {
      return static_cast<T>(v / d);
    }
  }
};

template <class T>
struct FloatElem {
  using Storage = T;
  template <Op op>
  static T combine(T a, T b) { return combineFloat<op>(a, b); }
  static T divide(T v, std::uint64_t d) { return v / static_cast<T>(d); }
};

// Narrow floats: widen to float32 for each operation, round back once.
template <class F, class S, float (*Widen)(S)>
struct NarrowElem {
  using Storage = S;
  static float widen(S v) { return Widen(v); }
  static S narrow(float f) { return static_cast<S>(convert::detail::encode<F>(f)); }
  template <Op op>
  static S combine(S a, S b) { return narrow(combineFloat<op>(widen(a), widen(b))); }
  static S divide(S v, std::uint64_t d) { return narrow(widen(v) / static_cast<float>(d)); }
};

inline float widenHalf(std::uint16_t v) { return convert::detail::decode<convert::detail::Half>(v); }
// A signalling NaN may pass through widenBf16 unquieted; every combine and narrow() quiets it.
inline float widenBf16(std::uint16_t v) { return std::bit_cast<float>(static_cast<std::uint32_t>(v) << 16); }
inline float widenE4m3(std::uint8_t v) { return convert::detail::kE4m3Table[v]; }
inline float widenE5m2(std::uint8_t v) { return convert::detail::kE5m2Table[v]; }

// Calls fn(Elem{}) with the element traits of `type`; throws for a value outside the enum.
template <class Fn>
decltype(auto) withElem(DataType type, Fn&& fn) {
  using namespace convert::detail;
  switch (type) {
    case DataType::Int8: return fn(IntElem<std::int8_t>{});
    case DataType::Uint8: return fn(IntElem<std::uint8_t>{});
    case DataType::Int32: return fn(IntElem<std::int32_t>{});
    case DataType::Uint32: return fn(IntElem<std::uint32_t>{});
    case DataType::Int64: return fn(IntElem<std::int64_t>{});
    case DataType::Uint64: return fn(IntElem<std::uint64_t>{});
    case DataType::Float16: return fn(NarrowElem<Half, std::uint16_t, widenHalf>{});
    case DataType::Float32: return fn(FloatElem<float>{});
    case DataType::Float64: return fn(FloatElem<double>{});
    case DataType::Bfloat16: return fn(NarrowElem<Bf16, std::uint16_t, widenBf16>{});
    case DataType::Float8E4M3: return fn(NarrowElem<E4m3, std::uint8_t, widenE4m3>{});
    case DataType::Float8E5M2: return fn(NarrowElem<E5m2, std::uint8_t, widenE5m2>{});
  }
  throw InvalidArgument("invalid data type " + std::to_string(static_cast<int>(type)));
}

}  // namespace braid::reduce::detail
