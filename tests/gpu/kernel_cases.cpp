#include "kernel_cases.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>

#include "gpu_support.h"
#include "reduce/convert.h"

namespace braid::gpu_test {
namespace {

constexpr std::size_t kGuard = 64;              // bytes checked on each side of a destination
constexpr std::size_t kSlotAlign = 256;         // so that a slot's offsets are its alignment
constexpr std::size_t kBatchBytes = 64u << 20;  // device image per batch
constexpr int kMaxReports = 8;

std::uint64_t mask(DataType t) { return sizeOf(t) == 8 ? ~0ull : (1ull << (8 * sizeOf(t))) - 1; }

std::uint64_t loadElement(const unsigned char* p, std::size_t size) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, size);  // little-endian
  return v;
}

bool isNaN(DataType t, std::uint64_t v) {
  switch (t) {
    case DataType::Float16: return (v & 0x7C00) == 0x7C00 && (v & 0x3FF) != 0;
    case DataType::Bfloat16: return (v & 0x7F80) == 0x7F80 && (v & 0x7F) != 0;
    case DataType::Float8E4M3: return (v & 0x7F) == 0x7F;
    case DataType::Float8E5M2: return (v & 0x7C) == 0x7C && (v & 0x3) != 0;
    case DataType::Float32: return std::isnan(std::bit_cast<float>(static_cast<std::uint32_t>(v)));
    case DataType::Float64: return std::isnan(std::bit_cast<double>(v));
    default: return false;
  }
}

// NaN, +-0, infinities, subnormals, the extremes, and values next to 1.
std::vector<std::uint64_t> edgeValues(DataType t) {
  switch (t) {
    case DataType::Int8: case DataType::Uint8: return {0, 1, 2, 0x7F, 0x80, 0x81, 0xFE, 0xFF};
    case DataType::Int32: case DataType::Uint32:
      return {0, 1, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF};
    case DataType::Int64: case DataType::Uint64:
      return {0, 1, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0x8000000000000001,
              0xFFFFFFFFFFFFFFFF};
    case DataType::Float32:
      return {0, 0x80000000, 1, 0x80000001, 0x007FFFFF, 0x00400000, 0x00800000, 0x80800000, 0x7F7FFFFF,
              0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0x3F800000, 0xBF800000,
              0x3F800001, 0x34000000, 0x4B000000};
    case DataType::Float64:
      return {0, 0x8000000000000000, 1, 0x8000000000000001, 0x000FFFFFFFFFFFFF, 0x0010000000000000,
              0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF, 0x7FF0000000000000, 0xFFF0000000000000,
              0x7FF8000000000000, 0x7FF0000000000001, 0x3FF0000000000000, 0xBFF0000000000000, 0x3FF0000000000001};
    case DataType::Float16:
      return {0, 0x8000, 1, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01,
              0x3C00, 0xBC00, 0x3C01, 0x5BFF};
    case DataType::Bfloat16:
      return {0, 0x8000, 1, 0x8001, 0x007F, 0x0080, 0x7F7F, 0xFF7F, 0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0x3F80,
              0xBF80, 0x3F81};
    case DataType::Float8E4M3:
      return {0, 0x80, 1, 0x81, 0x07, 0x08, 0x7E, 0xFE, 0x7F, 0xFF, 0x7D, 0x76, 0x38, 0xB8, 0x39};
    case DataType::Float8E5M2:
      return {0, 0x80, 1, 0x81, 0x03, 0x04, 0x7B, 0xFB, 0x7C, 0xFC, 0x7D, 0x7E, 0xFF, 0x3C, 0xBC, 0x3D};
  }
  return {0};
}

// Floats of a few binades around 1 with full random significands: their sums and
// products need rounding, ties included.
std::uint64_t moderateValue(DataType t, std::mt19937_64& rng) {
  const double sign = (rng() & 1) ? -1.0 : 1.0;
  const int exponent = static_cast<int>(rng() % 17) - 8;
  switch (t) {
    case DataType::Float32:
      return std::bit_cast<std::uint32_t>(static_cast<float>(sign * std::ldexp(static_cast<double>(rng() & 0xFFFFFF), exponent - 24)));
    case DataType::Float64:
      return std::bit_cast<std::uint64_t>(sign * std::ldexp(static_cast<double>(rng() >> 11), exponent - 53));
    default: break;
  }
  const float f = static_cast<float>(sign * std::ldexp(static_cast<double>(rng() % 64), exponent - 3));
  switch (t) {
    case DataType::Float16: return convert::floatToHalf(f);
    case DataType::Bfloat16: return convert::floatToBf16(f);
    case DataType::Float8E4M3: return convert::floatToE4m3(f);
    case DataType::Float8E5M2: return convert::floatToE5m2(f);
    default: return rng() & mask(t);  // integers: random bits already wrap
  }
}

std::vector<unsigned char> makeBytes(DataType t, std::size_t elements, std::mt19937_64& rng) {
  const std::size_t size = sizeOf(t);
  const auto edges = edgeValues(t);
  std::vector<unsigned char> bytes(elements * size + 16);
  for (auto& b : bytes) b = static_cast<unsigned char>(rng());
  for (std::size_t i = 0; i < elements; ++i) {
    const std::uint64_t r = rng();
    std::uint64_t v;
    if (r % 8 < 2) v = edges[(r >> 8) % edges.size()];
    else if (r % 8 < 4) v = moderateValue(t, rng);
    else v = rng() & mask(t);
    std::memcpy(bytes.data() + i * size, &v, size);
  }
  return bytes;
}

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string describe(const Case& c) {
  std::string s = "count " + std::to_string(c.count) + ", dst+" + std::to_string(c.dstOffset);
  if (c.alias == Alias::DstIsA) s += " (= a)";
  else s += " a+" + std::to_string(c.aOffset);
  if (c.alias == Alias::DstIsB) s += " (= b)";
  else s += " b+" + std::to_string(c.bOffset);
  return s;
}

std::size_t roundUp(std::size_t v, std::size_t to) { return (v + to - 1) / to * to; }
unsigned char guardByte(std::size_t i) { return static_cast<unsigned char>(i * 151 + 89); }

}  // namespace

Inputs makeInputs(DataType type, std::size_t elements, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Inputs in;
  in.a = makeBytes(type, elements, rng);
  in.b = makeBytes(type, elements, rng);
  return in;
}

Inputs allFp8Pairs() {
  Inputs in{std::vector<unsigned char>(65536 + 16), std::vector<unsigned char>(65536 + 16)};
  for (std::size_t i = 0; i < 65536; ++i) {
    in.a[i] = static_cast<unsigned char>(i & 0xFF);
    in.b[i] = static_cast<unsigned char>(i >> 8);
  }
  return in;
}

std::vector<std::uint64_t> scalarValues(DataType t) {
  if (!isFloat(t)) {
    const std::uint64_t m = mask(t), signBit = (m >> 1) + 1;
    return {0, 1, 3, m, signBit, signBit - 1, 0x5A5A5A5A5A5A5A5Aull & m};
  }
  if (t == DataType::Float64) {
    std::vector<std::uint64_t> v;
    constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
    constexpr double kInf = std::numeric_limits<double>::infinity();
    for (double d : {1.0, -1.0, 0.5, 3.0, 1.0 / 3, 0.0, -0.0, kNaN, kInf, -kInf, 1e300, 1e-310})
      v.push_back(std::bit_cast<std::uint64_t>(d));
    return v;
  }
  std::vector<std::uint64_t> v;
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  constexpr float kInf = std::numeric_limits<float>::infinity();
  for (float f : {1.0f, -1.0f, 0.5f, 3.0f, 1.0f / 3, 0.0f, -0.0f, kNaN, kInf, -kInf, 1e-3f, 300.0f}) {
    switch (t) {
      case DataType::Float16: v.push_back(convert::floatToHalf(f)); break;
      case DataType::Bfloat16: v.push_back(convert::floatToBf16(f)); break;
      case DataType::Float8E4M3: v.push_back(convert::floatToE4m3(f)); break;
      case DataType::Float8E5M2: v.push_back(convert::floatToE5m2(f)); break;
      default: v.push_back(std::bit_cast<std::uint32_t>(f)); break;
    }
  }
  v.push_back(1);  // the smallest subnormal of every float format
  return v;
}

std::vector<Case> offsetSweep(std::size_t count) {
  std::vector<Case> cases;
  for (unsigned d = 0; d < 16; ++d)
    for (unsigned a = 0; a < 16; ++a)
      for (unsigned b = 0; b < 16; ++b) cases.push_back({count, d, a, b});
  for (unsigned d = 0; d < 16; ++d)
    for (unsigned o = 0; o < 16; ++o) {
      cases.push_back({count, d, d, o, Alias::DstIsA});
      cases.push_back({count, d, o, d, Alias::DstIsB});
    }
  return cases;
}

std::vector<Case> pairSweep(std::size_t count) {
  std::vector<Case> cases;
  for (unsigned d = 0; d < 16; ++d) {
    for (unsigned a = 0; a < 16; ++a) cases.push_back({count, d, a, 0});
    cases.push_back({count, d, d, 0, Alias::DstIsA});
  }
  return cases;
}

std::vector<Case> pairSample(std::size_t count) {
  std::vector<Case> cases;
  for (unsigned o = 0; o < 16; ++o) {
    cases.push_back({count, o, o, 0});
    cases.push_back({count, o, o, 0, Alias::DstIsA});
    if (o == 0) continue;
    cases.push_back({count, o, 0, 0});
    cases.push_back({count, 0, o, 0});
  }
  return cases;
}

std::vector<Case> offsetSample(std::size_t count) {
  std::vector<Case> cases;
  for (unsigned o = 0; o < 16; ++o) {
    cases.push_back({count, o, o, o});                 // shared alignment: packed
    cases.push_back({count, o, o, o, Alias::DstIsA});
    if (o == 0) continue;
    cases.push_back({count, o, 0, 0});                 // one pointer off
    cases.push_back({count, 0, o, 0});
    cases.push_back({count, 0, 0, o});
  }
  std::mt19937 rng(static_cast<unsigned>(count) * 7919u + 1);
  const auto offset = [&rng] { return static_cast<unsigned>(rng() % 16); };
  for (int i = 0; i < 16; ++i) {
    const unsigned d = offset(), a = offset(), b = offset();  // named: argument order is unspecified
    cases.push_back({count, d, a, b});
  }
  for (unsigned o : {0u, 1u, 2u, 4u, 8u, 13u}) cases.push_back({count, o, (o * 5) % 16, o, Alias::DstIsB});
  return cases;
}

std::vector<Case> largeCases(std::size_t count) {
  return {{count, 0, 0, 0}, {count, 4, 4, 4},  {count, 8, 8, 8},  {count, 2, 2, 2},
          {count, 1, 1, 1}, {count, 0, 4, 8},  {count, 3, 7, 11}, {count, 0, 0, 0, Alias::DstIsA},
          {count, 12, 12, 12, Alias::DstIsB}};
}

std::vector<Case> inPlaceCases(std::size_t count) {
  std::vector<Case> cases;
  for (unsigned d = 0; d < 16; ++d) cases.push_back({count, d, d, 0, Alias::DstIsA});
  return cases;
}

std::size_t countMismatches(DataType type, const unsigned char* got, const unsigned char* want, std::size_t count) {
  const std::size_t size = sizeOf(type);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t g = loadElement(got + i * size, size), w = loadElement(want + i * size, size);
    if (g != w && !(isNaN(type, g) && isNaN(type, w))) ++wrong;
  }
  return wrong;
}

void runCases(DataType type, const Inputs& inputs, const std::vector<Case>& cases, const DeviceCall& device,
              const HostReference& reference, const std::string& label) {
  const std::size_t size = sizeOf(type);
  Stream stream;
  DeviceBuffer devA(inputs.a.size()), devB(inputs.b.size());
  check(cudaMemcpyAsync(devA.get(), inputs.a.data(), inputs.a.size(), cudaMemcpyHostToDevice, stream.get()), "upload a");
  check(cudaMemcpyAsync(devB.get(), inputs.b.data(), inputs.b.size(), cudaMemcpyHostToDevice, stream.get()), "upload b");

  int failures = 0;
  std::size_t next = 0;
  while (next < cases.size()) {
    // One batch: a slot per case, each destination with guard bytes on both sides.
    const std::size_t first = next;
    std::vector<std::size_t> slots;  // slot start, then one past the end of the batch
    std::size_t total = 0;
    while (next < cases.size()) {
      const std::size_t slot = roundUp(kGuard + 16 + cases[next].count * size + kGuard, kSlotAlign);
      if (total > 0 && total + slot > kBatchBytes) break;
      slots.push_back(total);
      total += slot;
      ++next;
    }
    slots.push_back(total);

    std::vector<unsigned char> image(total);
    for (std::size_t i = 0; i < total; ++i) image[i] = guardByte(i);
    for (std::size_t k = first; k < next; ++k) {
      const Case& c = cases[k];
      unsigned char* dst = image.data() + slots[k - first] + kGuard + c.dstOffset;
      if (c.alias == Alias::DstIsA) std::memcpy(dst, inputs.a.data() + c.aOffset, c.count * size);
      if (c.alias == Alias::DstIsB) std::memcpy(dst, inputs.b.data() + c.bOffset, c.count * size);
    }
    DeviceBuffer devImage(total);
    check(cudaMemcpyAsync(devImage.get(), image.data(), total, cudaMemcpyHostToDevice, stream.get()), "upload image");
    for (std::size_t k = first; k < next; ++k) {
      const Case& c = cases[k];
      unsigned char* dst = devImage.get() + slots[k - first] + kGuard + c.dstOffset;
      const void* a = c.alias == Alias::DstIsA ? dst : devA.get() + c.aOffset;
      const void* b = c.alias == Alias::DstIsB ? dst : devB.get() + c.bOffset;
      device(dst, a, b, c.count, stream.get());
    }
    waitFor(stream.get(), label + ": kernels");
    std::vector<unsigned char> result(total);
    check(cudaMemcpyAsync(result.data(), devImage.get(), total, cudaMemcpyDeviceToHost, stream.get()), "download");
    waitFor(stream.get(), label + ": download");

    std::vector<unsigned char> want;
    for (std::size_t k = first; k < next; ++k) {
      const Case& c = cases[k];
      const std::size_t bytes = c.count * size;
      const std::size_t dstAt = slots[k - first] + kGuard + c.dstOffset;
      const unsigned char* inA = inputs.a.data() + c.aOffset;
      const unsigned char* inB = inputs.b.data() + c.bOffset;
      want.assign(bytes, 0);
      reference(want.data(), inA, inB, c.count);
      std::string problem;
      for (std::size_t i = 0; i < c.count && problem.empty(); ++i) {
        const std::uint64_t got = loadElement(result.data() + dstAt + i * size, size);
        const std::uint64_t expected = loadElement(want.data() + i * size, size);
        if (got == expected || (isNaN(type, got) && isNaN(type, expected))) continue;
        problem = "element " + std::to_string(i) + ": a " + hex(loadElement(inA + i * size, size)) + ", b " +
                  hex(loadElement(inB + i * size, size)) + ": got " + hex(got) + ", want " + hex(expected);
      }
      for (std::size_t j = slots[k - first]; j < slots[k - first + 1] && problem.empty(); ++j) {
        if (j >= dstAt && j < dstAt + bytes) continue;
        if (result[j] != image[j])
          problem = "wrote outside dst, at byte " + std::to_string(static_cast<long long>(j) - static_cast<long long>(dstAt));
      }
      if (problem.empty()) continue;
      if (++failures <= kMaxReports) ADD_FAILURE() << label << ", " << describe(c) << ": " << problem;
    }
  }
  if (failures > kMaxReports) ADD_FAILURE() << label << ": " << failures << " failing cases in all";
}

}  // namespace braid::gpu_test
