// How the drop-in test reads and writes one element of each NCCL data type, written
// here from the formats' definitions so that no expected value comes from Braid:
// integers as two's-complement bit patterns of their width, floating types as doubles
// encoded by hand (sign, biased exponent, mantissa) into float16, bfloat16 and both
// float8 formats. The tests only use values each format holds exactly.
#pragma once

#include <nccl.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dropin {

enum class Kind { SignedInt, UnsignedInt, Floating };

struct TypeInfo {
  ncclDataType_t type;
  const char* name;
  size_t size;  // bytes per element
  Kind kind;
  int exponentBits;  // floating formats: the IEEE-style layout
  int mantissaBits;
  bool hasInfinity;  // float8 e4m3 has none: its all-ones exponent still holds numbers
};

// All twelve NCCL data types, in enum order.
const std::vector<TypeInfo>& allTypes();
const TypeInfo& typeInfo(ncclDataType_t type);

// One element: `bits` for integer types (already truncated to the type's width),
// `real` for floating types.
struct Scalar {
  uint64_t bits = 0;
  double real = 0;
};

Scalar fromInteger(const TypeInfo& type, uint64_t twosComplement);  // truncates to width
Scalar fromReal(const TypeInfo& type, double value);  // the value must be exact in the type
int64_t asSigned(const TypeInfo& type, Scalar value);
uint64_t asUnsigned(const TypeInfo& type, Scalar value);

void store(const TypeInfo& type, void* base, size_t index, Scalar value);
Scalar load(const TypeInfo& type, const void* base, size_t index);
bool sameValue(const TypeInfo& type, Scalar a, Scalar b);
// "5 (0x4500)": the value and the element's bit pattern.
std::string describe(const TypeInfo& type, Scalar value);

}  // namespace dropin
