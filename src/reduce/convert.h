#pragma once
// Conversions between float32 and the narrow float formats. All round to nearest,
// ties to even; NaN stays NaN (quiet), infinities follow the rules in types.h.
#include <cstdint>

namespace braid::convert {

float halfToFloat(std::uint16_t h);
std::uint16_t floatToHalf(float f);
float bf16ToFloat(std::uint16_t b);
std::uint16_t floatToBf16(float f);
float e4m3ToFloat(std::uint8_t v);   // OCP FP8 E4M3 ("fn": no infinities, NaN = S.1111.111)
std::uint8_t floatToE4m3(float f);   // finite overflow saturates to +-448; inf -> NaN
float e5m2ToFloat(std::uint8_t v);   // OCP FP8 E5M2 (IEEE-like, has infinities)
std::uint8_t floatToE5m2(float f);   // overflow -> infinity

}  // namespace braid::convert
