// Portable kernels: one element at a time through the scalar arithmetic in
// elements.h. These are the fallback on any CPU and the table the vector paths start
// from (they replace only the entries they accelerate).
#include <cstring>

#include "reduce/elements.h"
#include "reduce/kernels.h"

namespace braid::reduce::detail {
namespace {

template <class E, Op op>
void genericKernel(void* dst, const void* a, const void* b, std::size_t count) {
  using S = typename E::Storage;
  auto* d = static_cast<unsigned char*>(dst);
  const auto* pa = static_cast<const unsigned char*>(a);
  const auto* pb = static_cast<const unsigned char*>(b);
  // memcpy loads and stores: any alignment, and no type punning through pointers.
  for (std::size_t i = 0; i < count; ++i) {
    S x, y;
    std::memcpy(&x, pa + i * sizeof(S), sizeof(S));
    std::memcpy(&y, pb + i * sizeof(S), sizeof(S));
    const S r = E::template combine<op>(x, y);
    std::memcpy(d + i * sizeof(S), &r, sizeof(S));
  }
}

KernelTable buildGeneric() {
  KernelTable t;
  for (int i = 0; i < kNumDataTypes; ++i) {
    const auto type = static_cast<DataType>(i);
    withElem(type, [&](auto elem) {
      using E = decltype(elem);
      t.set(type, Op::Sum, &genericKernel<E, Op::Sum>);
      t.set(type, Op::Prod, &genericKernel<E, Op::Prod>);
      t.set(type, Op::Max, &genericKernel<E, Op::Max>);
      t.set(type, Op::Min, &genericKernel<E, Op::Min>);
    });
  }
  return t;
}

}  // namespace

const KernelTable& genericKernels() {
  static const KernelTable table = buildGeneric();
  return table;
}

}  // namespace braid::reduce::detail
