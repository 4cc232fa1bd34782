#include "common/data.h"

#include "common/values.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

namespace perf {
namespace {

using braid::DataType;
using braid::ReduceOp;

std::uint64_t mix64(std::uint64_t x) {  // splitmix64's finaliser: every input bit reaches every output bit
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

constexpr std::uint64_t kGamma = 0x9e3779b97f4a7c15ULL;

// Per-(seed, rank) key, so that the per-element hash is a single mix.
std::uint64_t rankKey(std::uint64_t seed, int rank) { return mix64(seed ^ mix64(static_cast<std::uint64_t>(rank) + 1)); }
std::uint64_t elementHash(std::uint64_t key, std::size_t index) { return mix64(key + index * kGamma); }

std::uint64_t widthMask(std::size_t bytes) { return bytes >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * bytes)) - 1; }

std::int64_t signExtend(std::uint64_t v, std::size_t bytes) {
  if (bytes >= 8) return static_cast<std::int64_t>(v);
  const unsigned shift = static_cast<unsigned>(64 - 8 * bytes);
  return static_cast<std::int64_t>(v << shift) >> shift;
}

bool isSigned(DataType t) { return t == DataType::Int8 || t == DataType::Int32 || t == DataType::Int64; }

// Largest integer N such that every integer in [-N, N] and every even one in [-2N, 2N]
// is exact in the type: the bound on partial sums (and mulsum's doubled ones).
int exactIntegers(DataType t) {
  switch (t) {
    case DataType::Float8E5M2: return 8;
    case DataType::Float8E4M3: return 16;
    case DataType::Bfloat16: return 256;
    case DataType::Float16: return 2048;
    default: return 1 << 24;  // float32 (double needs no bound for any realistic rank count)
  }
}

int fillThreads = 1;  // setFillThreads

// Runs body(first, count) over [0, count) in contiguous chunks, on fillThreads threads
// when the range is large enough to pay for starting them.
template <class Body>
void inChunks(std::size_t count, Body body) {
  constexpr std::size_t kMinChunk = std::size_t{1} << 20;
  const std::size_t threads = std::min<std::size_t>(static_cast<std::size_t>(fillThreads), count / kMinChunk);
  if (threads <= 1) return body(std::size_t{0}, count);
  const std::size_t chunk = (count + threads - 1) / threads;
  std::vector<std::thread> helpers;
  helpers.reserve(threads - 1);  // before any thread: a failed growth must not drop a joinable one
  for (std::size_t t = 1; t < threads; ++t) {
    const std::size_t first = t * chunk, n = std::min(chunk, count - first);  // first < count: threads <= count / 1 Mi
    try {
      helpers.emplace_back(body, first, n);
    } catch (const std::system_error&) {  // no thread to be had: this one does the chunk
      body(first, n);
    }
  }
  body(std::size_t{0}, chunk);
  for (auto& h : helpers) h.join();
}

// Writes count elements; bitsAt(i) gives element i. Typed stores by width, because a
// memcpy of a run-time size per element is several times slower on large buffers.
template <class F>
void storeEach(void* dst, std::size_t elem, std::size_t count, F bitsAt) {
  auto loop = [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
    inChunks(count, [&](std::size_t first, std::size_t n) {
      for (std::size_t i = first; i < first + n; ++i) p[i] = static_cast<T>(bitsAt(i));
    });
  };
  switch (elem) {
    case 1: loop(static_cast<std::uint8_t*>(dst)); break;
    case 2: loop(static_cast<std::uint16_t*>(dst)); break;
    case 4: loop(static_cast<std::uint32_t*>(dst)); break;
    default: loop(static_cast<std::uint64_t*>(dst)); break;
  }
}

// The value generator of one (type, op, nranks, seed). Float values are small integers
// (or powers of two), encoded once into tables rather than per element.
struct Gen {
  DataSpec s;
  std::size_t elem;
  std::uint64_t mask;
  bool integer;
  int window;  // ranks with non-identity values per element (sum-like and prod on floats)
  int start0;  // rotation of the window, from the seed
  int bound;   // results of sum-like ops lie in [-bound, bound]
  std::vector<std::uint64_t> inTable;   // float input codes -> bits
  std::vector<std::uint64_t> outTable;  // float result codes -> bits
  std::vector<std::uint64_t> keys;      // per-rank hash keys

  explicit Gen(const DataSpec& spec) : s(spec), elem(braid::sizeOf(spec.type)), mask(widthMask(elem)) {
    integer = !braid::isFloat(s.type);
    const int n = std::max(1, s.nranks);
    window = s.op == ReduceOp::Prod ? std::min({n, 14, s.type == DataType::Float8E4M3 ? 8 : 14})
                                    : std::min(n, exactIntegers(s.type));
    start0 = static_cast<int>(s.seed % static_cast<std::uint64_t>(n));
    bound = std::max(window, 4);
    keys.resize(static_cast<std::size_t>(n));
    for (int r = 0; r < n; ++r) keys[static_cast<std::size_t>(r)] = rankKey(s.seed, r);
    if (integer) return;
    // Input codes: sum-like -1..1 (index +1), prod {1,2,-1,-2}, max/min -4..3 (index +4).
    for (double v : {-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0}) inTable.push_back(encode(s.type, v));
    // Result codes: sum-like results r in [-bound, bound] at r + bound; prod +-2^j at
    // j (positive) and window+1+j (negative).
    if (s.op == ReduceOp::Prod) {
      for (int sign : {1, -1})
        for (int j = 0; j <= window; ++j) outTable.push_back(encode(s.type, sign * static_cast<double>(1u << j)));
      return;
    }
    for (int r = -bound; r <= bound; ++r) outTable.push_back(encode(s.type, result(r)));
  }

  // The value a sum-like (or max/min) result r finally stores.
  double result(int r) const {
    switch (s.op) {
      case ReduceOp::PreMulSum: return 2.0 * r;
      case ReduceOp::Avg:
        if (s.type == DataType::Float64) return static_cast<double>(r) / s.nranks;
        return static_cast<double>(static_cast<float>(r) / static_cast<float>(s.nranks));
      default: return r;
    }
  }

  bool inWindow(int rank, std::size_t index) const {
    const std::size_t n = keys.size();
    const std::size_t start = (index + static_cast<std::size_t>(start0)) % n;
    return (static_cast<std::size_t>(rank) + n - start) % n < static_cast<std::size_t>(window);
  }

  // Float input as a small integer code (see inTable): the value itself for sum-like
  // and max/min ops, or for prod an index into {1, 2, -1, -2}.
  int floatInput(int rank, std::size_t index) const {
    const std::uint64_t h = elementHash(keys[static_cast<std::size_t>(rank)], index);
    switch (s.op) {
      case ReduceOp::Max: case ReduceOp::Min: return static_cast<int>(h % 8) - 4;
      case ReduceOp::Prod: return inWindow(rank, index) ? static_cast<int>(h & 3) : 0;
      default: return inWindow(rank, index) ? static_cast<int>(h % 3) - 1 : 0;
    }
  }

  std::uint64_t inputBits(int rank, std::size_t index) const {
    if (integer) return elementHash(keys[static_cast<std::size_t>(rank)], index) & mask;
    const int code = floatInput(rank, index);
    if (s.op == ReduceOp::Prod) {
      static constexpr int kProdValue[4] = {1, 2, -1, -2};
      return inTable[static_cast<std::size_t>(kProdValue[code] + 4)];
    }
    return inTable[static_cast<std::size_t>(code + 4)];
  }

  std::uint64_t expectedInteger(std::size_t index) const {
    const int n = static_cast<int>(keys.size());
    const bool sgn = isSigned(s.type);
    std::uint64_t acc = elementHash(keys[0], index) & mask;
    if (s.op == ReduceOp::PreMulSum) acc = (acc * 2) & mask;
    for (int r = 1; r < n; ++r) {
      const std::uint64_t x = elementHash(keys[static_cast<std::size_t>(r)], index) & mask;
      switch (s.op) {
        case ReduceOp::Sum: case ReduceOp::Avg: acc += x; break;
        case ReduceOp::PreMulSum: acc += (x * 2) & mask; break;
        case ReduceOp::Prod: acc *= x; break;
        case ReduceOp::Max:
          if (sgn ? signExtend(x, elem) > signExtend(acc, elem) : x > acc) acc = x;
          break;
        case ReduceOp::Min:
          if (sgn ? signExtend(x, elem) < signExtend(acc, elem) : x < acc) acc = x;
          break;
      }
      acc &= mask;  // wrap in the type's width after every step, as the type would
    }
    if (s.op == ReduceOp::Avg) {
      if (sgn) return static_cast<std::uint64_t>(signExtend(acc, elem) / n) & mask;  // C truncates toward zero
      return acc / static_cast<std::uint64_t>(n);
    }
    return acc;
  }

  std::uint64_t expectedFloat(std::size_t index) const {
    const int n = static_cast<int>(keys.size());
    if (s.op == ReduceOp::Max || s.op == ReduceOp::Min) {
      int m = floatInput(0, index);
      for (int r = 1; r < n; ++r) {
        const int v = floatInput(r, index);
        m = s.op == ReduceOp::Max ? std::max(m, v) : std::min(m, v);
      }
      return outTable[static_cast<std::size_t>(m + bound)];
    }
    // Only the window's ranks hold non-identity values; visit just those.
    const int start = static_cast<int>((index + static_cast<std::size_t>(start0)) % static_cast<std::size_t>(n));
    if (s.op == ReduceOp::Prod) {
      int twos = 0;
      bool negative = false;
      for (int d = 0; d < window; ++d) {
        const int code = floatInput((start + d) % n, index);  // {1, 2, -1, -2}
        twos += code & 1;
        negative ^= (code >= 2);
      }
      return outTable[static_cast<std::size_t>((negative ? window + 1 : 0) + twos)];
    }
    int sum = 0;
    for (int d = 0; d < window; ++d) sum += floatInput((start + d) % n, index);
    return outTable[static_cast<std::size_t>(sum + bound)];
  }
};

}  // namespace

void fillPattern(const DataSpec& spec, int rank, std::size_t firstIndex, std::size_t count, void* dst) {
  const std::size_t elem = braid::sizeOf(spec.type);
  const std::uint64_t key = rankKey(spec.seed ^ 0x70617474ULL, rank);  // not the reduction inputs
  storeEach(dst, elem, count, [&](std::size_t i) { return elementHash(key, firstIndex + i); });
}

void fillReduceInput(const DataSpec& spec, int rank, std::size_t firstIndex, std::size_t count, void* dst) {
  const Gen g(spec);
  storeEach(dst, g.elem, count, [&](std::size_t i) { return g.inputBits(rank, firstIndex + i); });
}

void fillReduceExpected(const DataSpec& spec, std::size_t firstIndex, std::size_t count, void* dst) {
  const Gen g(spec);
  if (g.integer) storeEach(dst, g.elem, count, [&](std::size_t i) { return g.expectedInteger(firstIndex + i); });
  else storeEach(dst, g.elem, count, [&](std::size_t i) { return g.expectedFloat(firstIndex + i); });
}

braid::Reduction makeReduction(DataType type, ReduceOp op) {
  if (op != ReduceOp::PreMulSum) return braid::Reduction(op);
  unsigned char scalar[8] = {};
  storeBits(scalar, braid::sizeOf(type), encode(type, 2.0));
  return braid::Reduction::preMulSum(scalar, type);
}

void fillComplement(const void* src, std::size_t bytes, void* dst) {
  const auto* in = static_cast<const unsigned char*>(src);
  auto* out = static_cast<unsigned char*>(dst);
  inChunks(bytes, [&](std::size_t first, std::size_t n) {
    for (std::size_t i = first; i < first + n; ++i) out[i] = static_cast<unsigned char>(~in[i]);
  });
}

void setFillThreads(int threads) { fillThreads = std::max(1, threads); }

std::size_t countWrong(const void* got, const void* want, std::size_t count, DataType type, const std::string& what) {
  const std::size_t elem = braid::sizeOf(type);
  if (std::memcmp(got, want, count * elem) == 0) return 0;  // the common case, at memory speed
  const auto* g = static_cast<const unsigned char*>(got);
  const auto* w = static_cast<const unsigned char*>(want);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (std::memcmp(g + i * elem, w + i * elem, elem) == 0) continue;
    if (++wrong <= 3)
      std::fprintf(stderr, "%s: element %zu is %s, expected %s\n", what.c_str(), i,
                   describe(type, loadBits(g + i * elem, elem)).c_str(),
                   describe(type, loadBits(w + i * elem, elem)).c_str());
  }
  return wrong;
}

}  // namespace perf
