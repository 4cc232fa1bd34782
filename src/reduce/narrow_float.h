#pragma once
// Bit-level codec between float32 and the narrow float formats, written once for any
// (exponent bits, fraction bits, bias) so that half, bfloat16 and both FP8 formats share
// one rounding routine. Header-only and constexpr so that the portable kernels can
// inline it per element and fp8 decode tables can be built at compile time.
// convert.h is the public face of this file.
#include <array>
#include <bit>
#include <cstdint>

namespace braid::convert::detail {

// A binary floating-point format narrower than float32. With Ieee, the all-ones
// exponent holds infinity and NaN as in IEEE 754. Without it (OCP E4M3 "fn"), that
// exponent holds ordinary numbers too, S.1111.111 is the only NaN and there is no
// infinity.
template <int ExpBits, int ManBits, int Bias, bool Ieee>
struct Format {
  static constexpr int kMan = ManBits;
  static constexpr int kBias = Bias;
  static constexpr bool kIeee = Ieee;
  static constexpr std::uint32_t kSign = 1u << (ExpBits + ManBits);
  static constexpr std::uint32_t kManMask = (1u << ManBits) - 1;
  static constexpr std::uint32_t kExpMax = (1u << ExpBits) - 1;
  static constexpr std::uint32_t kInf = kExpMax << ManBits;         // Ieee only
  static constexpr std::uint32_t kNaN = kInf | kManMask;            // the E4M3 NaN
  static constexpr std::uint32_t kQuiet = 1u << (ManBits - 1);      // quiet-NaN bit
  static constexpr std::uint32_t kMaxFinite = Ieee ? kInf - 1 : kNaN - 1;
  // float32 exponents are 8 bits wide: a format that wide has no normalisation to do.
  static constexpr bool kFloatRange = ExpBits == 8;
};

using Half = Format<5, 10, 15, true>;
using Bf16 = Format<8, 7, 127, true>;
using E4m3 = Format<4, 3, 7, false>;
using E5m2 = Format<5, 2, 15, true>;

// m / 2^shift rounded to nearest, ties to even (shift >= 1).
constexpr std::uint32_t roundShift(std::uint32_t m, int shift) {
  if (shift >= 32) return 0;  // m < 2^24, so far below half of 2^shift
  const std::uint32_t q = m >> shift;
  const std::uint32_t rem = m & ((1u << shift) - 1);
  const std::uint32_t half = 1u << (shift - 1);
  return (rem > half || (rem == half && (q & 1))) ? q + 1 : q;
}

template <class F>
constexpr float decode(std::uint32_t v) {
  const std::uint32_t sign = (v & F::kSign) ? 0x80000000u : 0u;
  const std::uint32_t mag = v & (F::kSign - 1);
  const std::uint32_t exp = mag >> F::kMan;
  std::uint32_t man = mag & F::kManMask;
  constexpr int kWiden = 23 - F::kMan;  // fraction bits float32 has beyond ours
  const bool nan = F::kIeee ? (exp == F::kExpMax && man != 0) : mag == F::kNaN;
  if (nan) {
    // Quiet NaN; IEEE formats keep their payload (as F16C does), E4M3 has none.
    const std::uint32_t payload = F::kIeee ? man << kWiden : 0u;
    return std::bit_cast<float>(sign | 0x7FC00000u | payload);
  }
  if (F::kIeee && exp == F::kExpMax) return std::bit_cast<float>(sign | 0x7F800000u);
  if (exp == 0) {
    if (man == 0 || F::kFloatRange) return std::bit_cast<float>(sign | (man << kWiden));
    // Subnormal: move the leading one up to the implicit-bit position; each step
    // of shift lowers the exponent by one. Always a normal float32.
    const int shift = std::countl_zero(man) - (31 - F::kMan);
    man = (man << shift) & F::kManMask;
    const std::uint32_t e32 = static_cast<std::uint32_t>(1 - F::kBias - shift + 127);
    return std::bit_cast<float>(sign | (e32 << 23) | (man << kWiden));
  }
  const std::uint32_t e32 = exp - F::kBias + 127;
  return std::bit_cast<float>(sign | (e32 << 23) | (man << kWiden));
}

template <class F>
constexpr std::uint32_t encode(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (x >> 31) ? F::kSign : 0u;
  const std::uint32_t ax = x & 0x7FFFFFFFu;
  constexpr int kNarrow = 23 - F::kMan;  // fraction bits to drop
  if (ax > 0x7F800000u) {
    // NaN: IEEE formats keep the top of the payload and set the quiet bit (as F16C does).
    if constexpr (F::kIeee) return sign | F::kInf | F::kQuiet | ((ax >> kNarrow) & F::kManMask);
    return sign | F::kNaN;
  }
  if (ax == 0x7F800000u) return sign | (F::kIeee ? F::kInf : F::kNaN);

  // |f| = m * 2^(e - 150) with m the significand including its implicit bit.
  const int e = ax >> 23 ? static_cast<int>(ax >> 23) : 1;  // float subnormals scale as e = 1
  const std::uint32_t m = (ax & 0x7FFFFFu) | ((ax >> 23) ? 0x800000u : 0u);
  const int unbiased = e - 127;
  std::uint32_t bits;
  if (unbiased >= 1 - F::kBias) {
    // Normal in the target. q is the rounded significand in [2^Man, 2^(Man+1)]; adding
    // it on top of (exponent - 1) makes its implicit bit, and a rounding carry,
    // step the exponent up, which is the right answer in both cases.
    const std::uint32_t q = roundShift(m, kNarrow);
    bits = (static_cast<std::uint32_t>(unbiased + F::kBias - 1) << F::kMan) + q;
  } else {
    // Subnormal in the target: count quanta of 2^(1 - Bias - Man). Rounding up to
    // 2^Man lands exactly on the smallest normal encoding.
    const int shift = (1 - F::kBias - F::kMan) - (e - 150);
    bits = roundShift(m, shift);
  }
  if (bits > F::kMaxFinite) bits = F::kIeee ? F::kInf : F::kMaxFinite;  // E4M3 saturates
  return sign | bits;
}

template <class F>
constexpr std::array<float, 256> decodeTable() {
  std::array<float, 256> t{};
  for (std::uint32_t v = 0; v < 256; ++v) t[v] = decode<F>(v);
  return t;
}

// fp8 is decoded by table lookup: 1 KiB each, built by the compiler.
inline constexpr std::array<float, 256> kE4m3Table = decodeTable<E4m3>();
inline constexpr std::array<float, 256> kE5m2Table = decodeTable<E5m2>();

}  // namespace braid::convert::detail
