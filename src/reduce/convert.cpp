// Thin out-of-line wrappers over the codec in narrow_float.h (kept there so that the
// portable kernels can inline it).
#include "reduce/convert.h"

#include "reduce/narrow_float.h"

namespace braid::convert {

using namespace detail;

float halfToFloat(std::uint16_t h) { return decode<Half>(h); }
std::uint16_t floatToHalf(float f) { return static_cast<std::uint16_t>(encode<Half>(f)); }
float bf16ToFloat(std::uint16_t b) { return decode<Bf16>(b); }
std::uint16_t floatToBf16(float f) { return static_cast<std::uint16_t>(encode<Bf16>(f)); }
float e4m3ToFloat(std::uint8_t v) { return kE4m3Table[v]; }
std::uint8_t floatToE4m3(float f) { return static_cast<std::uint8_t>(encode<E4m3>(f)); }
float e5m2ToFloat(std::uint8_t v) { return kE5m2Table[v]; }
std::uint8_t floatToE5m2(float f) { return static_cast<std::uint8_t>(encode<E5m2>(f)); }

}  // namespace braid::convert
