#pragma once
// Runs a device kernel and its CPU reference on the same bytes, over many placements of
// the pointers, and checks the results element by element (bit for bit; any NaN
// matches any NaN) and the guard bytes around every destination.
#include <braid/types.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace braid::gpu_test {

enum class Alias { None, DstIsA, DstIsB };

// One call: `count` elements with dst, a and b at these byte offsets from 256-byte
// alignment. With an alias, that input is dst itself (holding the input's bytes).
struct Case {
  std::size_t count;
  unsigned dstOffset, aOffset, bOffset;
  Alias alias = Alias::None;
};

// Inputs for a and b, each of `elements` elements plus 16 spare bytes for offsets.
struct Inputs {
  std::vector<unsigned char> a, b;
};

// Random-ish element values of `type`: random bit patterns (every narrow code,
// wrap-around for integers), edge values (NaN, +-0, infinities, subnormals, extremes)
// and moderate floats whose sums and products round.
Inputs makeInputs(DataType type, std::size_t elements, std::uint64_t seed);
// fp8 only: a and b run through all 256 x 256 pairs of codes (65536 elements).
Inputs allFp8Pairs();
// Element values of `type` worth using as a scalar (bit patterns, little-endian).
std::vector<std::uint64_t> scalarValues(DataType type);

// Every dst, a and b offset 0..15 independently, plus dst aliasing a and aliasing b at
// every offset (4608 cases).
std::vector<Case> offsetSweep(std::size_t count);
// For one-input calls: every dst and a offset 0..15, plus dst aliasing a (272 cases).
std::vector<Case> pairSweep(std::size_t count);
// For one-input calls: each offset alone, both together, and aliasing (62 cases).
std::vector<Case> pairSample(std::size_t count);
// Same offsets, a few of each kind of misalignment, and aliasing (about 70 cases).
std::vector<Case> offsetSample(std::size_t count);
// For large counts: aligned, packed with a head, element-aligned, byte-aligned, aliased.
std::vector<Case> largeCases(std::size_t count);
// Cases whose dst aliases a at each dst offset 0..15 (in-place operations).
std::vector<Case> inPlaceCases(std::size_t count);

// dst, a and b as the device call gets them; b (and for one-input calls also a) may be
// ignored. The stream is the runner's.
using DeviceCall = std::function<void(void* dst, const void* a, const void* b, std::size_t count, cudaStream_t)>;
// Writes the expected result to `out` (never aliasing a or b).
using HostReference = std::function<void(void* out, const void* a, const void* b, std::size_t count)>;

// Runs the cases in batches (all launches, then one copy back), reporting failures
// through gtest: at most a few per call, each naming `label` and the case.
void runCases(DataType type, const Inputs& inputs, const std::vector<Case>& cases, const DeviceCall& device,
              const HostReference& reference, const std::string& label);

// Elements of `type` that differ between got and want (any NaN matches any NaN).
std::size_t countMismatches(DataType type, const unsigned char* got, const unsigned char* want, std::size_t count);

// "Bytes" for copies: compared exactly, elements of one byte.
inline constexpr DataType kBytes = DataType::Uint8;

}  // namespace braid::gpu_test
