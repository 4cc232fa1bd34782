#pragma once
// Device-side conversions between float32 and the narrow float formats. They give the
// CPU codec's results (reduce/narrow_float.h) bit for bit, NaN payloads aside: round
// to nearest, ties to even; E4M3 saturates a finite overflow to +-448 and turns
// infinity into NaN; the IEEE formats overflow to infinity. Hardware conversions are
// not used because the fp8 ones differ (satfinite maps infinity to the largest value).
#include <cstdint>

namespace braid::reduce::device {

// A binary float format narrower than float32 (the parameters of the CPU's Format).
// Without Ieee (OCP E4M3 "fn") the all-ones exponent holds numbers too, S.1111.111
// is the only NaN and there is no infinity.
template <int ExpBits, int ManBits, int Bias, bool Ieee>
struct NarrowFormat {
  static constexpr int kMan = ManBits;
  static constexpr int kBias = Bias;
  static constexpr bool kIeee = Ieee;
  static constexpr bool kFloatRange = ExpBits == 8;  // bfloat16: float32 cut short
  static constexpr std::uint32_t kSign = 1u << (ExpBits + ManBits);
  static constexpr std::uint32_t kManMask = (1u << ManBits) - 1;
  static constexpr std::uint32_t kExpMax = (1u << ExpBits) - 1;
  static constexpr std::uint32_t kInf = kExpMax << ManBits;     // Ieee only
  static constexpr std::uint32_t kNaN = kInf | kManMask;        // E4M3's NaN
  static constexpr std::uint32_t kQuiet = 1u << (ManBits - 1);  // quiet-NaN bit
  static constexpr std::uint32_t kMaxFinite = Ieee ? kInf - 1 : kNaN - 1;
  static constexpr int kDropped = 23 - ManBits;  // float32 fraction bits this format lacks
};

using Half = NarrowFormat<5, 10, 15, true>;
using Bf16 = NarrowFormat<8, 7, 127, true>;
using E4m3 = NarrowFormat<4, 3, 7, false>;
using E5m2 = NarrowFormat<5, 2, 15, true>;

// m / 2^shift rounded to nearest, ties to even (shift >= 1).
__device__ __forceinline__ std::uint32_t roundShiftEven(std::uint32_t m, int shift) {
  if (shift >= 32) return 0;  // m < 2^24: far below half of 2^shift
  const std::uint32_t q = m >> shift;
  const std::uint32_t rem = m & ((1u << shift) - 1);
  const std::uint32_t half = 1u << (shift - 1);
  return (rem > half || (rem == half && (q & 1u))) ? q + 1 : q;
}

template <class F>
__device__ __forceinline__ float widen(std::uint32_t v) {
  if constexpr (F::kFloatRange) {
    return __uint_as_float(v << 16);  // as the CPU: a signalling NaN is quieted by the next op
  } else {
    const std::uint32_t sign = (v & F::kSign) ? 0x80000000u : 0u;
    const std::uint32_t mag = v & (F::kSign - 1);
    if constexpr (F::kIeee) {
      if ((mag >> F::kMan) == F::kExpMax) {
        const std::uint32_t man = mag & F::kManMask;
        // Infinity, or a quiet NaN that keeps its payload (as the CPU does).
        return __uint_as_float(sign | 0x7F800000u | (man ? 0x400000u | (man << F::kDropped) : 0u));
      }
    } else {
      if (mag == F::kNaN) return __uint_as_float(sign | 0x7FC00000u);
    }
    // The magnitude's bits placed at float32's exponent and fraction read as the value
    // times 2^(Bias - 127); a subnormal reads as a float32 subnormal. Multiplying by
    // 2^(127 - Bias) is exact (the product is a normal float32), given no flush to zero.
    const float scale = __uint_as_float(static_cast<std::uint32_t>(254 - F::kBias) << 23);
    const float magnitude = __uint_as_float(mag << F::kDropped) * scale;
    return __uint_as_float(__float_as_uint(magnitude) | sign);
  }
}

template <class F>
__device__ __forceinline__ std::uint32_t narrow(float f) {
  const std::uint32_t x = __float_as_uint(f);
  const std::uint32_t sign = (x >> 31) ? F::kSign : 0u;
  const std::uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) {
    // NaN: the IEEE formats keep the top of the payload and set the quiet bit.
    if constexpr (F::kIeee) return sign | F::kInf | F::kQuiet | ((ax >> F::kDropped) & F::kManMask);
    return sign | F::kNaN;
  }
  if (ax == 0x7F800000u) return sign | (F::kIeee ? F::kInf : F::kNaN);

  // |f| = m * 2^(e - 150), m the significand with its implicit bit.
  const int e = (ax >> 23) ? static_cast<int>(ax >> 23) : 1;  // float32 subnormals scale as e = 1
  const std::uint32_t m = (ax & 0x7FFFFFu) | ((ax >> 23) ? 0x800000u : 0u);
  const int unbiased = e - 127;
  std::uint32_t bits;
  if (unbiased >= 1 - F::kBias) {
    // Normal in the target: the rounded significand q in [2^Man, 2^(Man+1)] added on top
    // of (exponent - 1) supplies the implicit bit; a rounding carry steps the exponent.
    const std::uint32_t q = roundShiftEven(m, F::kDropped);
    bits = (static_cast<std::uint32_t>(unbiased + F::kBias - 1) << F::kMan) + q;
  } else {
    // Subnormal in the target: quanta of 2^(1 - Bias - Man); rounding up to 2^Man lands
    // on the smallest normal encoding.
    const int shift = (1 - F::kBias - F::kMan) - (e - 150);
    bits = roundShiftEven(m, shift);
  }
  if (bits > F::kMaxFinite) bits = F::kIeee ? F::kInf : F::kMaxFinite;  // E4M3 saturates
  return sign | bits;
}

}  // namespace braid::reduce::device
