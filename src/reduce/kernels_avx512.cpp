// AVX-512 kernels (F, BW, VL, with F16C). Same structure and the same rules as
// kernels_avx2.cpp: target attributes, internal linkage, used only after the
// dispatcher checked the CPU. Masks make the max/min fix-ups cheaper than on AVX2.
#include "reduce/kernels.h"

#if defined(__x86_64__)
// GCC 12.2's AVX-512 intrinsics start from _mm512_undefined_*(), which trips a false
// -Wmaybe-uninitialized once inlined (GCC PR 105593, fixed in later releases).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#define BRAID_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,f16c")))

namespace braid::reduce::detail {
namespace {

using Byte = unsigned char;

// Whole vectors straight from memory, the tail through a zero-padded stack copy so
// that it takes the same arithmetic as the body.
template <class K>
BRAID_AVX512 void run(void* dst, const void* a, const void* b, std::size_t count) {
  constexpr std::size_t kStep = K::kBytes;
  auto* d = static_cast<Byte*>(dst);
  const auto* pa = static_cast<const Byte*>(a);
  const auto* pb = static_cast<const Byte*>(b);
  const std::size_t bytes = count * K::kElemSize;
  std::size_t i = 0;
  for (; i + kStep <= bytes; i += kStep) K::step(d + i, pa + i, pb + i);
  if (i < bytes) {
    alignas(64) Byte ta[kStep] = {}, tb[kStep] = {}, td[kStep];
    std::memcpy(ta, pa + i, bytes - i);
    std::memcpy(tb, pb + i, bytes - i);
    K::step(td, ta, tb);
    std::memcpy(d + i, td, bytes - i);
  }
}

// Max/min as combineFloat: equal operands (+0 vs -0) take AND (max) / OR (min) of
// the bits; NaN anywhere yields a + b, a quiet NaN. (AND/OR on integers: the float
// forms need AVX512DQ.)
template <Op op>
BRAID_AVX512 inline __m512 apply(__m512 a, __m512 b) {
  if constexpr (op == Op::Sum) {
    return _mm512_add_ps(a, b);
  } else if constexpr (op == Op::Prod) {
    return _mm512_mul_ps(a, b);
  } else {
    constexpr bool kMax = op == Op::Max;
    const __m512i ai = _mm512_castps_si512(a), bi = _mm512_castps_si512(b);
    const __m512 tie = _mm512_castsi512_ps(kMax ? _mm512_and_si512(ai, bi) : _mm512_or_si512(ai, bi));
    __m512 r = kMax ? _mm512_max_ps(a, b) : _mm512_min_ps(a, b);
    r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ), tie);
    return _mm512_mask_add_ps(r, _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q), a, b);
  }
}

template <Op op>
BRAID_AVX512 inline __m512d apply(__m512d a, __m512d b) {
  if constexpr (op == Op::Sum) {
    return _mm512_add_pd(a, b);
  } else if constexpr (op == Op::Prod) {
    return _mm512_mul_pd(a, b);
  } else {
    constexpr bool kMax = op == Op::Max;
    const __m512i ai = _mm512_castpd_si512(a), bi = _mm512_castpd_si512(b);
    const __m512d tie = _mm512_castsi512_pd(kMax ? _mm512_and_si512(ai, bi) : _mm512_or_si512(ai, bi));
    __m512d r = kMax ? _mm512_max_pd(a, b) : _mm512_min_pd(a, b);
    r = _mm512_mask_mov_pd(r, _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ), tie);
    return _mm512_mask_add_pd(r, _mm512_cmp_pd_mask(a, b, _CMP_UNORD_Q), a, b);
  }
}

// Byte products from 16-bit multiplies of the even and the odd bytes.
BRAID_AVX512 inline __m512i mul8(__m512i a, __m512i b) {
  const __m512i even = _mm512_mullo_epi16(a, b);
  const __m512i odd = _mm512_mullo_epi16(_mm512_srli_epi16(a, 8), _mm512_srli_epi16(b, 8));
  return _mm512_or_si512(_mm512_and_si512(even, _mm512_set1_epi16(0xFF)), _mm512_slli_epi16(odd, 8));
}

// 64-bit products without AVX512DQ's vpmullq: lo*lo + ((lo*hi + hi*lo) << 32).
BRAID_AVX512 inline __m512i mul64(__m512i a, __m512i b) {
  const __m512i cross = _mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(a, 32), b),
                                         _mm512_mul_epu32(a, _mm512_srli_epi64(b, 32)));
  return _mm512_add_epi64(_mm512_mul_epu32(a, b), _mm512_slli_epi64(cross, 32));
}

template <Op op, class T>
BRAID_AVX512 inline __m512i applyInt(__m512i a, __m512i b) {
  constexpr bool kSigned = std::is_signed_v<T>;
  if constexpr (sizeof(T) == 1) {
    if constexpr (op == Op::Sum) return _mm512_add_epi8(a, b);
    else if constexpr (op == Op::Prod) return mul8(a, b);
    else if constexpr (op == Op::Max) return kSigned ? _mm512_max_epi8(a, b) : _mm512_max_epu8(a, b);
    else return kSigned ? _mm512_min_epi8(a, b) : _mm512_min_epu8(a, b);
  } else if constexpr (sizeof(T) == 4) {
    if constexpr (op == Op::Sum) return _mm512_add_epi32(a, b);
    else if constexpr (op == Op::Prod) return _mm512_mullo_epi32(a, b);
    else if constexpr (op == Op::Max) return kSigned ? _mm512_max_epi32(a, b) : _mm512_max_epu32(a, b);
    else return kSigned ? _mm512_min_epi32(a, b) : _mm512_min_epu32(a, b);
  } else {
    if constexpr (op == Op::Sum) return _mm512_add_epi64(a, b);
    else if constexpr (op == Op::Prod) return mul64(a, b);
    else if constexpr (op == Op::Max) return kSigned ? _mm512_max_epi64(a, b) : _mm512_max_epu64(a, b);
    else return kSigned ? _mm512_min_epi64(a, b) : _mm512_min_epu64(a, b);
  }
}

template <Op op>
struct F32 {
  static constexpr std::size_t kBytes = 64, kElemSize = 4;
  BRAID_AVX512 static void step(Byte* d, const Byte* a, const Byte* b) {
    _mm512_storeu_ps(d, apply<op>(_mm512_loadu_ps(a), _mm512_loadu_ps(b)));
  }
};

template <Op op>
struct F64 {
  static constexpr std::size_t kBytes = 64, kElemSize = 8;
  BRAID_AVX512 static void step(Byte* d, const Byte* a, const Byte* b) {
    _mm512_storeu_pd(d, apply<op>(_mm512_loadu_pd(a), _mm512_loadu_pd(b)));
  }
};

template <Op op, class T>
struct Int {
  static constexpr std::size_t kBytes = 64, kElemSize = sizeof(T);
  BRAID_AVX512 static void step(Byte* d, const Byte* a, const Byte* b) {
    _mm512_storeu_si512(d, applyInt<op, T>(_mm512_loadu_si512(a), _mm512_loadu_si512(b)));
  }
};

BRAID_AVX512 inline __m256i load256(const Byte* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
BRAID_AVX512 inline void store256(Byte* p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }

// float16: 16 halves widen exactly, round back to nearest even.
template <Op op>
struct F16 {
  static constexpr std::size_t kBytes = 32, kElemSize = 2;
  BRAID_AVX512 static void step(Byte* d, const Byte* a, const Byte* b) {
    const __m512 r = apply<op>(_mm512_cvtph_ps(load256(a)), _mm512_cvtph_ps(load256(b)));
    store256(d, _mm512_cvtps_ph(r, _MM_FROUND_TO_NEAREST_INT));
  }
};

// bfloat16: widen by shifting, narrow by adding the round-to-nearest-even bias and
// dropping the low half (see kernels_avx2.cpp); NaN only gets its quiet bit set.
BRAID_AVX512 inline __m512 bf16Widen(const Byte* p) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(load256(p)), 16));
}

BRAID_AVX512 inline __m256i bf16Narrow(__m512 r) {
  const __m512i bits = _mm512_castps_si512(r);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  __m512i out = _mm512_add_epi32(bits, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), lsb));
  out = _mm512_mask_or_epi32(out, _mm512_cmp_ps_mask(r, r, _CMP_UNORD_Q), bits, _mm512_set1_epi32(0x00400000));
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(out, 16));
}

template <Op op>
struct Bf16 {
  static constexpr std::size_t kBytes = 32, kElemSize = 2;
  BRAID_AVX512 static void step(Byte* d, const Byte* a, const Byte* b) {
    store256(d, bf16Narrow(apply<op>(bf16Widen(a), bf16Widen(b))));
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

const KernelTable* avx512Kernels() {
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

#else  // not x86-64: no AVX-512 path

namespace braid::reduce::detail {
const KernelTable* avx512Kernels() { return nullptr; }
}  // namespace braid::reduce::detail

#endif
