#include "scalar.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace dropin {
namespace {

uint64_t widthMask(size_t bytes) { return bytes == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * bytes)) - 1; }

[[noreturn]] void testBug(const char* what, double value, const char* type) {
  std::fprintf(stderr, "drop-in test bug: %s: %g in %s\n", what, value, type);
  std::abort();
}

// Packs an exactly representable normal number (or zero) into sign | exponent | mantissa.
uint64_t encodeNarrowFloat(const TypeInfo& t, double value) {
  const int bits = static_cast<int>(8 * t.size);
  uint64_t pattern = std::signbit(value) ? uint64_t{1} << (bits - 1) : 0;
  const double magnitude = std::fabs(value);
  if (magnitude == 0) return pattern;
  const int bias = (1 << (t.exponentBits - 1)) - 1;
  const int exponent = std::ilogb(magnitude);
  const double mantissa = std::ldexp(std::ldexp(magnitude, -exponent) - 1.0, t.mantissaBits);
  // With no infinity, the all-ones exponent holds numbers (all but its all-ones mantissa).
  const int largestBiased = (1 << t.exponentBits) - (t.hasInfinity ? 2 : 1);
  if (mantissa != std::floor(mantissa) || exponent + bias < 1 || exponent + bias > largestBiased)
    testBug("value not exact as a normal number", value, t.name);
  return pattern | (static_cast<uint64_t>(exponent + bias) << t.mantissaBits) | static_cast<uint64_t>(mantissa);
}

double decodeNarrowFloat(const TypeInfo& t, uint64_t pattern) {
  const int bits = static_cast<int>(8 * t.size);
  const bool negative = (pattern >> (bits - 1)) & 1;
  const uint64_t exponentField = (pattern >> t.mantissaBits) & ((uint64_t{1} << t.exponentBits) - 1);
  const uint64_t mantissaField = pattern & ((uint64_t{1} << t.mantissaBits) - 1);
  const uint64_t allOnesExponent = (uint64_t{1} << t.exponentBits) - 1;
  const uint64_t allOnesMantissa = (uint64_t{1} << t.mantissaBits) - 1;
  const int bias = (1 << (t.exponentBits - 1)) - 1;
  double magnitude;
  if (exponentField == allOnesExponent && t.hasInfinity) {
    magnitude = mantissaField == 0 ? INFINITY : NAN;
  } else if (exponentField == allOnesExponent && mantissaField == allOnesMantissa) {
    magnitude = NAN;  // e4m3's only non-number
  } else if (exponentField == 0) {
    magnitude = std::ldexp(static_cast<double>(mantissaField), 1 - bias - t.mantissaBits);
  } else {
    const double significand = 1.0 + std::ldexp(static_cast<double>(mantissaField), -t.mantissaBits);
    magnitude = std::ldexp(significand, static_cast<int>(exponentField) - bias);
  }
  return negative ? -magnitude : magnitude;
}

}  // namespace

const std::vector<TypeInfo>& allTypes() {
  static const std::vector<TypeInfo> types = {
      {ncclInt8, "int8", 1, Kind::SignedInt, 0, 0, false},
      {ncclUint8, "uint8", 1, Kind::UnsignedInt, 0, 0, false},
      {ncclInt32, "int32", 4, Kind::SignedInt, 0, 0, false},
      {ncclUint32, "uint32", 4, Kind::UnsignedInt, 0, 0, false},
      {ncclInt64, "int64", 8, Kind::SignedInt, 0, 0, false},
      {ncclUint64, "uint64", 8, Kind::UnsignedInt, 0, 0, false},
      {ncclFloat16, "float16", 2, Kind::Floating, 5, 10, true},
      {ncclFloat32, "float32", 4, Kind::Floating, 8, 23, true},
      {ncclFloat64, "float64", 8, Kind::Floating, 11, 52, true},
      {ncclBfloat16, "bfloat16", 2, Kind::Floating, 8, 7, true},
      {ncclFloat8e4m3, "float8e4m3", 1, Kind::Floating, 4, 3, false},
      {ncclFloat8e5m2, "float8e5m2", 1, Kind::Floating, 5, 2, true},
  };
  return types;
}

const TypeInfo& typeInfo(ncclDataType_t type) {
  for (const TypeInfo& t : allTypes())
    if (t.type == type) return t;
  testBug("unknown data type", type, "ncclDataType_t");
}

Scalar fromInteger(const TypeInfo& type, uint64_t twosComplement) {
  Scalar s;
  s.bits = twosComplement & widthMask(type.size);
  return s;
}

Scalar fromReal(const TypeInfo& type, double value) {
  Scalar s;
  s.real = value;
  if (type.type == ncclFloat64) {
    std::memcpy(&s.bits, &value, 8);
  } else if (type.type == ncclFloat32) {
    const float narrowed = static_cast<float>(value);
    if (narrowed != value) testBug("value not exact", value, type.name);
    uint32_t pattern;
    std::memcpy(&pattern, &narrowed, 4);
    s.bits = pattern;
  } else {
    s.bits = encodeNarrowFloat(type, value);
  }
  return s;
}

int64_t asSigned(const TypeInfo& type, Scalar value) {
  const int shift = static_cast<int>(64 - 8 * type.size);
  return static_cast<int64_t>(value.bits << shift) >> shift;  // sign-extends
}

uint64_t asUnsigned(const TypeInfo& type, Scalar value) { return value.bits & widthMask(type.size); }

void store(const TypeInfo& type, void* base, size_t index, Scalar value) {
  // Little-endian, as every machine Braid runs on.
  std::memcpy(static_cast<unsigned char*>(base) + index * type.size, &value.bits, type.size);
}

Scalar load(const TypeInfo& type, const void* base, size_t index) {
  Scalar s;
  std::memcpy(&s.bits, static_cast<const unsigned char*>(base) + index * type.size, type.size);
  if (type.kind != Kind::Floating) return s;
  if (type.type == ncclFloat64) {
    std::memcpy(&s.real, &s.bits, 8);
  } else if (type.type == ncclFloat32) {
    float narrow;
    uint32_t pattern = static_cast<uint32_t>(s.bits);
    std::memcpy(&narrow, &pattern, 4);
    s.real = narrow;
  } else {
    s.real = decodeNarrowFloat(type, s.bits);
  }
  return s;
}

bool sameValue(const TypeInfo& type, Scalar a, Scalar b) {
  if (type.kind == Kind::Floating) return a.real == b.real;  // +0 == -0; NaN never matches
  return asUnsigned(type, a) == asUnsigned(type, b);
}

std::string describe(const TypeInfo& type, Scalar value) {
  char text[96];
  if (type.kind == Kind::Floating)
    std::snprintf(text, sizeof text, "%.17g (0x%0*" PRIx64 ")", value.real, static_cast<int>(2 * type.size),
                  value.bits);
  else if (type.kind == Kind::SignedInt)
    std::snprintf(text, sizeof text, "%" PRId64 " (0x%0*" PRIx64 ")", asSigned(type, value),
                  static_cast<int>(2 * type.size), value.bits);
  else
    std::snprintf(text, sizeof text, "%" PRIu64 " (0x%0*" PRIx64 ")", asUnsigned(type, value),
                  static_cast<int>(2 * type.size), value.bits);
  return text;
}

}  // namespace dropin
