// reduce.h's entry points: kernel lookup through the dispatcher, and the scalar extra
// steps of Avg and PreMulSum (one pass each per collective, not worth vectorising
// by hand).
#include "reduce/reduce.h"

#include <braid/error.h>

#include <cstring>
#include <string>

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
    using S = typename E::Storage;
    auto* p = static_cast<unsigned char*>(data);
    for (std::size_t i = 0; i < count; ++i) {
      S v;
      std::memcpy(&v, p + i * sizeof(S), sizeof(S));
      v = E::divide(v, divisor);
      std::memcpy(p + i * sizeof(S), &v, sizeof(S));
    }
  });
}

void preMultiply(void* dst, const void* src, std::size_t count, DataType type, const void* scalar) {
  detail::withElem(type, [&](auto elem) {
    using E = decltype(elem);
    using S = typename E::Storage;
    if (count == 0) return;
    if (!scalar) throw InvalidArgument("preMultiply: null scalar");
    S s;
    std::memcpy(&s, scalar, sizeof(S));
    auto* d = static_cast<unsigned char*>(dst);
    const auto* in = static_cast<const unsigned char*>(src);
    for (std::size_t i = 0; i < count; ++i) {
      S v;
      std::memcpy(&v, in + i * sizeof(S), sizeof(S));
      v = E::template combine<Op::Prod>(v, s);
      std::memcpy(d + i * sizeof(S), &v, sizeof(S));
    }
  });
}

}  // namespace braid::reduce
