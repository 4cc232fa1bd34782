// AVX2 kernels (with FMA and F16C). Built with target attributes rather than -mavx2 so
// that the rest of the library runs on any x86-64; dispatch.cpp only calls these after
// __builtin_cpu_supports said yes. Everything here has internal linkage, so no
// AVX2-compiled copy of a shared inline function can be picked by the linker for the
// portable path.
#include "reduce/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#define BRAID_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace braid::reduce::detail {
namespace {

using Byte = unsigned char;

// Whole vectors straight from memory (unaligned loads), then the tail through a
// zero-padded stack copy, so that it takes exactly the same arithmetic as the body.
template <class K>
BRAID_AVX2 void run(void* dst, const void* a, const void* b, std::size_t count) {
  constexpr std::size_t kStep = K::kBytes;
  auto* d = static_cast<Byte*>(dst);
  const auto* pa = static_cast<const Byte*>(a);
  const auto* pb = static_cast<const Byte*>(b);
  const std::size_t bytes = count * K::kElemSize;
  std::size_t i = 0;
  for (; i + kStep <= bytes; i += kStep) K::step(d + i, pa + i, pb + i);
  if (i < bytes) {
    alignas(32) Byte ta[kStep] = {}, tb[kStep] = {}, td[kStep];
    std::memcpy(ta, pa + i, bytes - i);
    std::memcpy(tb, pb + i, bytes - i);
    K::step(td, ta, tb);
    std::memcpy(d + i, td, bytes - i);
  }
}

// Float max/min with the semantics of combineFloat: equal operands (+0 vs -0) resolve
// by AND (max) / OR (min) of the bits, and NaN anywhere yields a + b (a quiet NaN).
template <Op op>
BRAID_AVX2 inline __m256 apply(__m256 a, __m256 b) {
  if constexpr (op == Op::Sum) {
    return _mm256_add_ps(a, b);
  } else if constexpr (op == Op::Prod) {
    return _mm256_mul_ps(a, b);
  } else {
    constexpr bool kMax = op == Op::Max;
    __m256 r = kMax ? _mm256_max_ps(a, b) : _mm256_min_ps(a, b);
    r = _mm256_blendv_ps(r, kMax ? _mm256_and_ps(a, b) : _mm256_or_ps(a, b), _mm256_cmp_ps(a, b, _CMP_EQ_OQ));
    return _mm256_blendv_ps(r, _mm256_add_ps(a, b), _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
  }
}

template <Op op>
BRAID_AVX2 inline __m256d apply(__m256d a, __m256d b) {
  if constexpr (op == Op::Sum) {
    return _mm256_add_pd(a, b);
  } else if constexpr (op == Op::Prod) {
    return _mm256_mul_pd(a, b);
  } else {
    constexpr bool kMax = op == Op::Max;
    __m256d r = kMax ? _mm256_max_pd(a, b) : _mm256_min_pd(a, b);
    r = _mm256_blendv_pd(r, kMax ? _mm256_and_pd(a, b) : _mm256_or_pd(a, b), _mm256_cmp_pd(a, b, _CMP_EQ_OQ));
    return _mm256_blendv_pd(r, _mm256_add_pd(a, b), _mm256_cmp_pd(a, b, _CMP_UNORD_Q));
  }
}

// Low 8 bits of each byte product: 16-bit multiplies of the even and the odd bytes
// (the low byte of a 16-bit product depends only on the low bytes of its operands).
BRAID_AVX2 inline __m256i mul8(__m256i a, __m256i b) {
  const __m256i even = _mm256_mullo_epi16(a, b);
  const __m256i odd = _mm256_mullo_epi16(_mm256_srli_epi16(a, 8), _mm256_srli_epi16(b, 8));
  return _mm256_or_si256(_mm256_and_si256(even, _mm256_set1_epi16(0xFF)), _mm256_slli_epi16(odd, 8));
}

// Low 64 bits of 64x64 products from 32x32->64 multiplies: lo*lo + ((lo*hi + hi*lo) << 32).
BRAID_AVX2 inline __m256i mul64(__m256i a, __m256i b) {
  const __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b),
                                         _mm256_mul_epu32(a, _mm256_srli_epi64(b, 32)));
  return _mm256_add_epi64(_mm256_mul_epu32(a, b), _mm256_slli_epi64(cross, 32));
}

template <Op op, class T>
BRAID_AVX2 inline __m256i applyInt(__m256i a, __m256i b) {
  constexpr bool kSigned = std::is_signed_v<T>;
  if constexpr (sizeof(T) == 1) {
    if constexpr (op == Op::Sum) return _mm256_add_epi8(a, b);
    else if constexpr (op == Op::Prod) return mul8(a, b);
    else if constexpr (op == Op::Max) return kSigned ? _mm256_max_epi8(a, b) : _mm256_max_epu8(a, b);
    else return kSigned ? _mm256_min_epi8(a, b) : _mm256_min_epu8(a, b);
  } else if constexpr (sizeof(T) == 4) {
    if constexpr (op == Op::Sum) return _mm256_add_epi32(a, b);
    else if constexpr (op == Op::Prod) return _mm256_mullo_epi32(a, b);
    else if constexpr (op == Op::Max) return kSigned ? _mm256_max_epi32(a, b) : _mm256_max_epu32(a, b);
    else return kSigned ? _mm256_min_epi32(a, b) : _mm256_min_epu32(a, b);
  } else {
    if constexpr (op == Op::Sum) {
      return _mm256_add_epi64(a, b);
    } else if constexpr (op == Op::Prod) {
      return mul64(a, b);
    } else {
      // AVX2 has only a signed 64-bit compare: flip the top bit to compare unsigned.
      const __m256i flip = _mm256_set1_epi64x(kSigned ? 0 : static_cast<long long>(1ull << 63));
      const __m256i gt = _mm256_cmpgt_epi64(_mm256_xor_si256(a, flip), _mm256_xor_si256(b, flip));
      return op == Op::Max ? _mm256_blendv_epi8(b, a, gt) : _mm256_blendv_epi8(a, b, gt);
    }
  }
}

template <Op op>
struct F32 {
  static constexpr std::size_t kBytes = 32, kElemSize = 4;
  BRAID_AVX2 static void step(Byte* d, const Byte* a, const Byte* b) {
    _mm256_storeu_ps(reinterpret_cast<float*>(d), apply<op>(_mm256_loadu_ps(reinterpret_cast<const float*>(a)),
                                                            _mm256_loadu_ps(reinterpret_cast<const float*>(b))));
  }
};

template <Op op>
struct F64 {
  static constexpr std::size_t kBytes = 32, kElemSize = 8;
  BRAID_AVX2 static void step(Byte* d, const Byte* a, const Byte* b) {
    _mm256_storeu_pd(reinterpret_cast<double*>(d), apply<op>(_mm256_loadu_pd(reinterpret_cast<const double*>(a)),
                                                             _mm256_loadu_pd(reinterpret_cast<const double*>(b))));
  }
};

template <Op op, class T>
struct Int {
  static constexpr std::size_t kBytes = 32, kElemSize = sizeof(T);
  BRAID_AVX2 static void step(Byte* d, const Byte* a, const Byte* b) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
    const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d), applyInt<op, T>(x, y));
  }
};

// float16 through F16C: 8 halves widen exactly, round back to nearest even.
template <Op op>
struct F16 {
  static constexpr std::size_t kBytes = 16, kElemSize = 2;
  BRAID_AVX2 static void step(Byte* d, const Byte* a, const Byte* b) {
    const __m256 x = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a)));
    const __m256 y = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm256_cvtps_ph(apply<op>(x, y), _MM_FROUND_TO_NEAREST_INT));
  }
};

// bfloat16 is the top half of a float32: widen by shifting, narrow by adding the
// round-to-nearest-even bias before dropping the low 16 bits (a carry into the
// exponent is correct, up to infinity); NaN instead just gets its quiet bit set.
BRAID_AVX2 inline __m256 bf16Widen(const Byte* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

BRAID_AVX2 inline __m128i bf16Narrow(__m256 r) {
  const __m256i bits = _mm256_castps_si256(r);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  const __m256i rounded = _mm256_add_epi32(bits, _mm256_add_epi32(_mm256_set1_epi32(0x7FFF), lsb));
  const __m256i quiet = _mm256_or_si256(bits, _mm256_set1_epi32(0x00400000));
  const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(r, r, _CMP_UNORD_Q));
  const __m256i top = _mm256_srli_epi32(_mm256_blendv_epi8(rounded, quiet, nan), 16);
  // Values are below 2^16, so the saturating pack is a plain narrowing.
  return _mm_packus_epi32(_mm256_castsi256_si128(top), _mm256_extracti128_si256(top, 1));
}

template <Op op>
struct Bf16 {
  static constexpr std::size_t kBytes = 16, kElemSize = 2;
  BRAID_AVX2 static void step(Byte* d, const Byte* a, const Byte* b) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d), bf16Narrow(apply<op>(bf16Widen(a), bf16Widen(b))));
  }
};

template <Op op>
void fill(KernelTable& t) {
  t.set(DataType::Float32, op, &run<F32<op>>);
  t.set(DataType::Float64, op, &run<F64<op>>);
  t.set(DataType::Float16, op, &run<F16<op>>);
  t.set(DataType::Bfloat16, op, &run<Bf16<op>>);
  t.set(DataType::Int8, op, &run<Int<op, std::int8_t>>);
  t.set(DataType::Uint8, op, &run<Int<op, std::uint8_t>>);
  t.set(DataType::Int32, op, &run<Int<op, std::int32_t>>);
  t.set(DataType::Uint32, op, &run<Int<op, std::uint32_t>>);
  t.set(DataType::Int64, op, &run<Int<op, std::int64_t>>);
  t.set(DataType::Uint64, op, &run<Int<op, std::uint64_t>>);
  // fp8 keeps the generic kernels (table decode, bit-level encode).
}

}  // namespace

const KernelTable* avx2Kernels() {
  static const KernelTable table = [] {
    KernelTable t = genericKernels();
    fill<Op::Sum>(t);
    fill<Op::Prod>(t);
    fill<Op::Max>(t);
    fill<Op::Min>(t);
    return t;
  }();
  return &table;
}

}  // namespace braid::reduce::detail

#else  // not x86-64: no AVX2 path

namespace braid::reduce::detail {
const KernelTable* avx2Kernels() { return nullptr; }
}  // namespace braid::reduce::detail

#endif
