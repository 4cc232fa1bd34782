#pragma once
// Sizes as users write them anywhere in Braid: BRAID_* settings, BRAID_ALGO's ranges, the
// perf tools' -b/-e/-i, braid-sim, the baselines. A decimal number (a fraction allowed),
// then optionally K, M or G in either case (binary: 2^10, 2^20, 2^30), then optionally B
// or iB: "8", "64K", "4MiB", "0.5G", "2GB". A fraction of a byte is dropped.
//
// Header-only and free of the rest of Braid, so that the perf tools and the baselines,
// which link only the public library or nothing, read sizes the same way.
#include <cctype>
#include <cstdint>
#include <optional>
#include <string_view>

namespace braid {

// The size, or nothing for text that is not one or a size past 2^63 - 1 bytes.
inline std::optional<std::uint64_t> parseByteSize(std::string_view text) {
  constexpr std::uint64_t kMax = ~std::uint64_t{0} >> 1;
  std::size_t at = 0;
  // Reads the digits at `at` into value (and 10^count into scale): their count, or
  // nothing when there are more than `most`.
  auto digits = [&](std::size_t most, std::uint64_t& value, std::uint64_t& scale) -> std::optional<std::size_t> {
    std::size_t n = 0;
    for (; at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])); ++at, ++n) {
      if (n == most) return std::nullopt;
      value = value * 10 + static_cast<std::uint64_t>(text[at] - '0');
      scale *= 10;
    }
    return n;
  };
  // 18 whole digits stay below 2^63; 9 of a fraction are finer than a byte of a G.
  std::uint64_t whole = 0, fraction = 0, unused = 1, fractionScale = 1;
  const std::optional<std::size_t> wholeDigits = digits(18, whole, unused);
  if (!wholeDigits) return std::nullopt;
  std::size_t fractionDigits = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    const std::optional<std::size_t> f = digits(9, fraction, fractionScale);
    if (!f || *f == 0) return std::nullopt;
    fractionDigits = *f;
  }
  if (*wholeDigits + fractionDigits == 0) return std::nullopt;
  int shift = 0;
  if (at < text.size()) {
    switch (std::toupper(static_cast<unsigned char>(text[at]))) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      default: break;
    }
    if (shift) ++at;
  }
  const std::string_view unit = text.substr(at);
  if (!(unit.empty() || unit == "B" || unit == "b" || (shift && unit == "iB"))) return std::nullopt;
  if (whole > (kMax >> shift)) return std::nullopt;
  // fraction < fractionScale <= 10^9 < 2^30: shifted by at most 30, it fits in 64 bits.
  const std::uint64_t bytes = (whole << shift) + ((fraction << shift) / fractionScale);
  if (bytes > kMax) return std::nullopt;
  return bytes;
}

}  // namespace braid
