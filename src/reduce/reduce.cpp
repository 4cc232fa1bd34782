// reduce.h's entry points: kernel lookup through the dispatcher, and the extra steps of
// Avg and PreMulSum (one pass each per collective). Avg's division is made cheap without
// vector code: a 64-bit division per element made a uint8 average 18 times slower than
// its sum.
#include "reduce/reduce.h"

#include <braid/error.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "reduce/dispatch.h"
#include "reduce/elements.h"

namespace braid::reduce {
namespace {

using detail::Op;

Op combiningOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: case ReduceOp::Avg: case ReduceOp::PreMulSum: return Op::Sum;
    case ReduceOp::Prod: return Op::Prod;
    case ReduceOp::Max: return Op::Max;
    case ReduceOp::Min: return Op::Min;
  }
  throw InvalidArgument("invalid reduction op " + std::to_string(static_cast<int>(op)));
}

void checkType(DataType type) {
  if (!isValid(type)) throw InvalidArgument("invalid data type " + std::to_string(static_cast<int>(type)));
}

// Every element of `data` through fn, read and written as raw storage (any alignment).
template <class S, class Fn>
void mapEach(void* data, std::size_t count, Fn fn) {
  auto* p = static_cast<unsigned char*>(data);
  for (std::size_t i = 0; i < count; ++i) {
    S v;
    std::memcpy(&v, p + i * sizeof(S), sizeof(S));
    v = fn(v);
    std::memcpy(p + i * sizeof(S), &v, sizeof(S));
  }
}

// 1- and 2-byte types have few enough values to tabulate every quotient once (with the
// element's own divide, so the results are those of the plain loop, NaNs included).
template <class E>
bool divideByTable(void* data, std::size_t count, std::uint64_t divisor) {
  using S = typename E::Storage;
  if constexpr (sizeof(S) > 2) {
    return false;
  } else {
    using Bits = std::conditional_t<sizeof(S) == 1, std::uint8_t, std::uint16_t>;
    constexpr std::size_t kValues = std::size_t{1} << (8 * sizeof(S));
    if (count < kValues) return false;  // the table would cost more divisions than it saves
    std::vector<S> quotient(kValues);
    for (std::size_t b = 0; b < kValues; ++b) quotient[b] = E::divide(std::bit_cast<S>(static_cast<Bits>(b)), divisor);
    mapEach<S>(data, count, [&](S v) { return quotient[std::bit_cast<Bits>(v)]; });
    return true;
  }
}

// 32-bit integers: the quotient of a magnitude n < 2^32 by 2 <= d < 2^32 is the high
// half of n * ceil(2^64 / d). That product is n/d + e with 0 <= e < n / 2^64 < 1/d, and
// a fraction of n/d is at most 1 - 1/d, so the floor is exact.
template <class E>
bool divideByReciprocal(void* data, std::size_t count, std::uint64_t divisor) {
  using S = typename E::Storage;
  if constexpr (!std::is_integral_v<S> || sizeof(S) != 4) {
    return false;
  } else {
    if (divisor < 2 || divisor > std::numeric_limits<std::uint32_t>::max()) return false;
    const std::uint64_t reciprocal = std::numeric_limits<std::uint64_t>::max() / divisor + 1;
    auto quotient = [reciprocal](std::uint64_t n) {
      return static_cast<std::uint64_t>((static_cast<unsigned __int128>(n) * reciprocal) >> 64);
    };
    if constexpr (std::is_signed_v<S>) {  // by magnitude, truncating toward zero as E::divide does
      mapEach<S>(data, count, [&](S v) {
        const std::int64_t w = v;  // -w is safe in 64 bits, for INT32_MIN too
        const auto q = static_cast<std::int64_t>(quotient(static_cast<std::uint64_t>(w < 0 ? -w : w)));
        return static_cast<S>(w < 0 ? -q : q);
      });
    } else {
      mapEach<S>(data, count, [&](S v) { return static_cast<S>(quotient(v)); });
    }
    return true;
  }
}

}  // namespace

BinaryFn binary(DataType type, ReduceOp op) {
  checkType(type);
  const Op combine = combiningOp(op);
  return detail::activeKernels().fn[static_cast<int>(type)][static_cast<int>(combine)];
}

void finishAvg(void* data, std::size_t count, DataType type, std::uint64_t divisor) {
  if (divisor == 0) throw InvalidArgument("finishAvg: divisor 0");
  detail::withElem(type, [&](auto elem) {
    using E = decltype(elem);
    if (divideByTable<E>(data, count, divisor) || divideByReciprocal<E>(data, count, divisor)) return;
    mapEach<typename E::Storage>(data, count, [&](auto v) { return E::divide(v, divisor); });
  });
}

void preMultiply(void* dst, const void* src, std::size_t count, DataType type, const void* scalar) {
  checkType(type);
  if (count == 0) return;
  if (!scalar) throw InvalidArgument("preMultiply: null scalar");
  // The Prod kernel against a block of the scalar repeated: vector code instead of an
  // element loop, and the very arithmetic of a Prod.
  const std::size_t elem = sizeOf(type);
  constexpr std::size_t kBlockBytes = 4096;  // a multiple of every element size
  alignas(64) unsigned char block[kBlockBytes];
  for (std::size_t at = 0; at < kBlockBytes; at += elem) std::memcpy(block + at, scalar, elem);
  const BinaryFn prod = binary(type, ReduceOp::Prod);
  auto* out = static_cast<unsigned char*>(dst);
  const auto* in = static_cast<const unsigned char*>(src);
  const std::size_t perBlock = kBlockBytes / elem;
  for (std::size_t first = 0; first < count; first += perBlock)
    prod(out + first * elem, in + first * elem, block, std::min(perBlock, count - first));
}

}  // namespace braid::reduce
