// Narrow-float conversions (src/reduce/convert.h) against references built here from
// the format definitions: values by ldexp, rounding by searching the sorted codes.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "reduce/convert.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

using namespace braid::convert;

struct Fmt {
  const char* name;
  int bits, expBits, manBits, bias;
  bool ieee;  // all-ones exponent = inf/NaN; otherwise (E4M3) only S.1111.111 is NaN
  float (*decode)(std::uint32_t);
  std::uint32_t (*encode)(float);

  std::uint32_t signBit() const { return 1u << (bits - 1); }
  std::uint32_t expMax() const { return (1u << expBits) - 1; }
  std::uint32_t manMask() const { return (1u << manBits) - 1; }
  std::uint32_t infCode() const { return expMax() << manBits; }
  std::uint32_t maxFinite() const { return ieee ? infCode() - 1 : (infCode() | manMask()) - 1; }
  bool isNaN(std::uint32_t c) const {
    const std::uint32_t mag = c & (signBit() - 1);
    return ieee ? (mag >> manBits) == expMax() && (mag & manMask()) : mag == (infCode() | manMask());
  }
  bool isInf(std::uint32_t c) const { return ieee && (c & (signBit() - 1)) == infCode(); }
  // Exact value of a finite code, straight from the definition.
  double value(std::uint32_t c) const {
    const int e = static_cast<int>((c >> manBits) & expMax());
    const double m = c & manMask();
    const double mag = e == 0 ? std::ldexp(m, 1 - bias - manBits) : std::ldexp(m + (1 << manBits), e - bias - manBits);
    return (c & signBit()) ? -mag : mag;
  }
};

const Fmt kHalf{"half", 16, 5, 10, 15, true, [](std::uint32_t c) { return halfToFloat(static_cast<std::uint16_t>(c)); },
                [](float f) -> std::uint32_t { return floatToHalf(f); }};
const Fmt kBf16{"bf16", 16, 8, 7, 127, true, [](std::uint32_t c) { return bf16ToFloat(static_cast<std::uint16_t>(c)); },
                [](float f) -> std::uint32_t { return floatToBf16(f); }};
const Fmt kE4m3{"e4m3", 8, 4, 3, 7, false, [](std::uint32_t c) { return e4m3ToFloat(static_cast<std::uint8_t>(c)); },
                [](float f) -> std::uint32_t { return floatToE4m3(f); }};
const Fmt kE5m2{"e5m2", 8, 5, 2, 15, true, [](std::uint32_t c) { return e5m2ToFloat(static_cast<std::uint8_t>(c)); },
                [](float f) -> std::uint32_t { return floatToE5m2(f); }};
const Fmt* const kFormats[] = {&kHalf, &kBf16, &kE4m3, &kE5m2};

std::uint32_t bitsOf(float f) { return std::bit_cast<std::uint32_t>(f); }

// Round-to-nearest-even by search: positive finite codes 0..maxFinite are increasing.
// Not for NaN input.
std::uint32_t refEncode(const Fmt& F, float f) {
  const std::uint32_t sign = std::signbit(f) ? F.signBit() : 0;
  if (std::isinf(f)) return sign | (F.ieee ? F.infCode() : (F.infCode() | F.manMask()));
  const double x = std::fabs(static_cast<double>(f));
  const std::uint32_t top = F.maxFinite();
  if (x > F.value(top)) {
    if (!F.ieee) return sign | top;  // E4M3 saturates
    // Beyond max, IEEE rounds as if 2^(emax+1) (even) came next, and lands on inf.
    const double next = std::ldexp(1.0, static_cast<int>(F.expMax()) - F.bias);
    return sign | (x >= (F.value(top) + next) / 2 ? F.infCode() : top);
  }
  std::uint32_t lo = 0, hi = top;  // largest code with value <= x
  while (lo < hi) {
    const std::uint32_t mid = (lo + hi + 1) / 2;
    if (F.value(mid) <= x) lo = mid; else hi = mid - 1;
  }
  if (F.value(lo) == x) return sign | lo;
  const double below = x - F.value(lo), above = F.value(lo + 1) - x;
  const std::uint32_t pick = below < above ? lo : above < below ? lo + 1 : ((lo & 1) ? lo + 1 : lo);
  return sign | pick;
}

void expectEncodes(const Fmt& F, float f, int* failures) {
  const std::uint32_t got = F.encode(f), want = refEncode(F, f);
  if (got != want && ++*failures <= 10)
    ADD_FAILURE() << F.name << ": encode(" << f << " = 0x" << std::hex << bitsOf(f) << ") gave 0x" << got
                  << ", want 0x" << want;
}

TEST(Convert, DecodeEveryCodeMatchesDefinition) {
  for (const Fmt* F : kFormats) {
    for (std::uint32_t c = 0; c < (1u << F->bits); ++c) {
      const float got = F->decode(c);
      if (F->isNaN(c)) {
        EXPECT_TRUE(std::isnan(got)) << F->name << " 0x" << std::hex << c;
        EXPECT_TRUE(bitsOf(got) & 0x00400000u) << F->name << ": NaN not quiet, 0x" << std::hex << c;
        EXPECT_EQ(std::signbit(got), (c & F->signBit()) != 0) << F->name << " 0x" << std::hex << c;
      } else if (F->isInf(c)) {
        EXPECT_TRUE(std::isinf(got)) << F->name << " 0x" << std::hex << c;
        EXPECT_EQ(std::signbit(got), (c & F->signBit()) != 0);
      } else {
        const float want = static_cast<float>(F->value(c));  // exact: narrow values fit float
        ASSERT_EQ(bitsOf(got), bitsOf(want)) << F->name << " 0x" << std::hex << c;
      }
    }
  }
}

TEST(Convert, RoundTripEveryCode) {
  for (const Fmt* F : kFormats) {
    for (std::uint32_t c = 0; c < (1u << F->bits); ++c) {
      const std::uint32_t back = F->encode(F->decode(c));
      if (F->isNaN(c)) {
        EXPECT_TRUE(F->isNaN(back)) << F->name << " 0x" << std::hex << c << " -> 0x" << back;
        EXPECT_EQ(back & F->signBit(), c & F->signBit());
        if (F->ieee) {
          EXPECT_TRUE(back & (1u << (F->manBits - 1))) << "NaN must come back quiet";
        }
      } else {
        ASSERT_EQ(back, c) << F->name << " 0x" << std::hex << c;
      }
    }
  }
}

// Every rounding boundary: each pair of neighbouring codes, their midpoint (a tie)
// and the floats just either side of it, on both signs.
TEST(Convert, EncodeAtEveryMidpoint) {
  for (const Fmt* F : kFormats) {
    int failures = 0;
    for (std::uint32_t c = 0; c < F->maxFinite(); ++c) {
      const float lo = static_cast<float>(F->value(c)), hi = static_cast<float>(F->value(c + 1));
      const float mid = static_cast<float>((F->value(c) + F->value(c + 1)) / 2);  // exact in float
      for (float f : {lo, hi, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, INFINITY)}) {
        expectEncodes(*F, f, &failures);
        expectEncodes(*F, -f, &failures);
      }
    }
    EXPECT_EQ(failures, 0) << F->name;
  }
}

TEST(Convert, EncodeRandomFloats) {
  std::mt19937 rng(1234);
  for (const Fmt* F : kFormats) {
    int failures = 0;
    // Uniform bit patterns (mostly far outside the narrow range) and values whose
    // exponent straddles the format's range, subnormals and overflow included.
    const int lowExp = 1 - F->bias - F->manBits - 3, highExp = static_cast<int>(F->expMax()) - F->bias + 2;
    std::uniform_int_distribution<int> exps(lowExp, highExp);
    std::uniform_real_distribution<float> frac(1.0f, 2.0f);
    for (int i = 0; i < 300000; ++i) {
      const float a = std::bit_cast<float>(static_cast<std::uint32_t>(rng()));
      if (!std::isnan(a)) expectEncodes(*F, a, &failures);
      const float b = std::ldexp(frac(rng), exps(rng)) * ((rng() & 1) ? -1.0f : 1.0f);
      expectEncodes(*F, b, &failures);
    }
    EXPECT_EQ(failures, 0) << F->name;
  }
}

TEST(Convert, NanStaysQuietNanWithSign) {
  for (const Fmt* F : kFormats) {
    for (std::uint32_t nan : {0x7FC00000u, 0x7F800001u, 0x7FBFFFFFu, 0xFFC00000u, 0xFF800001u, 0x7FFFFFFFu}) {
      const std::uint32_t got = F->encode(std::bit_cast<float>(nan));
      EXPECT_TRUE(F->isNaN(got)) << F->name << " from 0x" << std::hex << nan << " got 0x" << got;
      EXPECT_EQ((got & F->signBit()) != 0, (nan >> 31) != 0) << F->name;
      if (F->ieee) {
        EXPECT_TRUE(got & (1u << (F->manBits - 1))) << F->name << ": not quiet";
      }
    }
  }
}

TEST(Convert, SpotValues) {
  // Ties to even.
  EXPECT_EQ(floatToHalf(1.0f + 0x1p-11f), 0x3C00);             // 1 + half ulp -> 1
  EXPECT_EQ(floatToHalf(1.0f + 3 * 0x1p-11f), 0x3C02);         // 1 + 1.5 ulp -> 1 + 2 ulp
  EXPECT_EQ(floatToHalf(1.0f + 0x1p-11f + 0x1p-20f), 0x3C01);  // just above the tie
  EXPECT_EQ(floatToBf16(1.0f + 0x1p-8f), 0x3F80);
  EXPECT_EQ(floatToBf16(1.0f + 3 * 0x1p-8f), 0x3F82);
  EXPECT_EQ(floatToE4m3(1.0625f), 0x38);  // 1 + 2^-4: tie between 1 and 1.125 -> 1
  EXPECT_EQ(floatToE4m3(1.1875f), 0x3A);  // tie between 1.125 and 1.25 -> 1.25
  EXPECT_EQ(floatToE5m2(1.125f), 0x3C);   // tie between 1 and 1.25 -> 1
  EXPECT_EQ(floatToE5m2(1.375f), 0x3E);   // tie between 1.25 and 1.5 -> 1.5
  // Subnormals, both ways, and the tie below the smallest one.
  EXPECT_EQ(floatToHalf(0x1p-24f), 0x0001);
  EXPECT_EQ(floatToHalf(0x1p-25f), 0x0000);
  EXPECT_EQ(floatToHalf(0x1.000002p-25f), 0x0001);
  EXPECT_EQ(floatToHalf(3 * 0x1p-25f), 0x0002);
  EXPECT_EQ(floatToHalf(0x1.ffcp-15f), 0x0400);  // tie above the largest subnormal: up to the smallest normal
  EXPECT_EQ(floatToHalf(0x1.ff8p-15f), 0x03FF);  // exactly the largest subnormal
  EXPECT_EQ(halfToFloat(0x03FF), 0x3FFp-24f);
  EXPECT_EQ(floatToBf16(std::bit_cast<float>(0x00000001u)), 0x0000);  // float subnormal far below bf16's
  EXPECT_EQ(floatToBf16(std::bit_cast<float>(0x00018000u)), 0x0002);  // tie between bf16 subnormals 1 and 2
  EXPECT_EQ(bf16ToFloat(0x0001), std::bit_cast<float>(0x00010000u));
  EXPECT_EQ(floatToE4m3(0x1p-9f), 0x01);
  EXPECT_EQ(floatToE4m3(0x1p-10f), 0x00);
  EXPECT_EQ(floatToE4m3(0x1.8p-9f), 0x02);  // 1.5 quanta: tie -> 2
  EXPECT_EQ(e4m3ToFloat(0x07), 7 * 0x1p-9f);
  EXPECT_EQ(floatToE5m2(0x1p-16f), 0x01);
  EXPECT_EQ(e5m2ToFloat(0x03), 3 * 0x1p-16f);
  // Overflow.
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(floatToHalf(65519.996f), 0x7BFF);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7C00);  // tie with the next power of two: inf
  EXPECT_EQ(floatToHalf(1e30f), 0x7C00);
  EXPECT_EQ(floatToHalf(-INFINITY), 0xFC00);
  EXPECT_EQ(floatToBf16(std::bit_cast<float>(0x7F7FFFFFu)), 0x7F80);
  EXPECT_EQ(e4m3ToFloat(0x7E), 448.0f);
  EXPECT_EQ(floatToE4m3(448.0f), 0x7E);
  EXPECT_EQ(floatToE4m3(464.0f), 0x7E);  // saturates rather than round to "512"
  EXPECT_EQ(floatToE4m3(1e30f), 0x7E);
  EXPECT_EQ(floatToE4m3(-1e30f), 0xFE);
  EXPECT_EQ(floatToE4m3(INFINITY) & 0x7F, 0x7F);  // no infinity: NaN
  EXPECT_EQ(floatToE4m3(-INFINITY) & 0x7F, 0x7F);
  EXPECT_EQ(e5m2ToFloat(0x7B), 57344.0f);
  EXPECT_EQ(floatToE5m2(61439.0f), 0x7B);
  EXPECT_EQ(floatToE5m2(61440.0f), 0x7C);  // tie above max: inf
  EXPECT_EQ(floatToE5m2(-INFINITY), 0xFC);
  // Signed zero.
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(floatToBf16(-0.0f), 0x8000);
  EXPECT_EQ(floatToE4m3(-0.0f), 0x80);
  EXPECT_EQ(floatToE5m2(-0.0f), 0x80);
  EXPECT_EQ(floatToHalf(-0x1p-30f), 0x8000);  // underflow keeps the sign
  EXPECT_EQ(bitsOf(halfToFloat(0x8000)), 0x80000000u);
  EXPECT_EQ(bitsOf(e4m3ToFloat(0x80)), 0x80000000u);
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) std::uint16_t hwToHalf(float f) {
  return static_cast<std::uint16_t>(_cvtss_sh(f, 0));
}
__attribute__((target("f16c"))) float hwFromHalf(std::uint16_t h) { return _cvtsh_ss(h); }

// The F16C instructions are an independent implementation of the same IEEE rules,
// NaN payload handling included.
TEST(Convert, HalfMatchesF16c) {
  if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "CPU has no F16C";
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const auto c = static_cast<std::uint16_t>(h);
    ASSERT_EQ(bitsOf(halfToFloat(c)), bitsOf(hwFromHalf(c))) << "half 0x" << std::hex << h;
  }
  std::mt19937 rng(99);
  std::uniform_int_distribution<std::uint32_t> nearRange(0x33000000u, 0x47800000u);  // 2^-25 .. 2^16
  int failures = 0;
  for (int i = 0; i < 4000000; ++i) {
    std::uint32_t x = (i & 1) ? static_cast<std::uint32_t>(rng()) : nearRange(rng) | (rng() & 0x80000000u);
    const float f = std::bit_cast<float>(x);
    if (floatToHalf(f) != hwToHalf(f) && ++failures <= 10)
      ADD_FAILURE() << "float 0x" << std::hex << x << ": 0x" << floatToHalf(f) << " vs F16C 0x" << hwToHalf(f);
  }
  EXPECT_EQ(failures, 0);
}
#endif

}  // namespace
