#pragma once
// Sizes as users write them to Braid's C++ code: BRAID_* settings, BRAID_ALGO's ranges,
// the perf tools' -b/-e/-i, braid-sim, the baselines. A decimal number (a fraction
// allowed, no sign, no blanks), then optionally K, M or G (binary: 2^10, 2^20, 2^30),
// then optionally B or iB, all in any case: "8", "64K", "4MiB", "0.5g", "2GB". "b" is
// read as bytes too, never bits. A fraction of a byte is dropped.
//
// Header-only and free of the rest of Braid, so that the perf tools and the baselines,
// which link only the public library or nothing, read sizes the same way.
#include <cstdint>
#include <optional>
#include <string_view>

namespace braid {

// The size, or nothing for text that is not one or a size past 2^63 - 1 bytes.
inline std::optional<std::uint64_t> parseByteSize(std::string_view text) {
  constexpr std::uint64_t kMax = ~std::uint64_t{0} >> 1;
  auto isDigit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t at = 0;
  std::uint64_t whole = 0;
  const std::size_t wholeStart = at;
  for (; at < text.size() && isDigit(text[at]); ++at) {
    const auto d = static_cast<std::uint64_t>(text[at] - '0');
    if (whole > (kMax - d) / 10) return std::nullopt;
    whole = whole * 10 + d;
  }
  bool anyDigit = at > wholeStart;
  // The first 9 digits of a fraction: finer than a byte even of a G.
  std::uint64_t fraction = 0, fractionScale = 1;
  if (at < text.size() && text[at] == '.') {
    const std::size_t fractionStart = ++at;
    for (; at < text.size() && isDigit(text[at]); ++at) {
      if (fractionScale == 1'000'000'000) continue;
      fraction = fraction * 10 + static_cast<std::uint64_t>(text[at] - '0');
      fractionScale *= 10;
    }
    if (at == fractionStart) return std::nullopt;
    anyDigit = true;
  }
  if (!anyDigit) return std::nullopt;
  // ASCII only: std::toupper follows the locale, and under a Turkish one 'i' is not 'I'.
  auto upper = [&](std::size_t i) {
    const char c = i < text.size() ? text[i] : '\0';
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  };
  int shift = 0;
  switch (upper(at)) {
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    default: break;
  }
  if (shift) ++at;
  if (shift && upper(at) == 'I' && upper(at + 1) == 'B') at += 2;
  else if (upper(at) == 'B') ++at;
  if (at != text.size()) return std::nullopt;
  if (whole > (kMax >> shift)) return std::nullopt;
  // fraction < fractionScale <= 10^9 < 2^30: shifted by at most 30, it fits in 64 bits;
  // and whole << shift leaves room below kMax for less than 2^shift more.
  return (whole << shift) + ((fraction << shift) / fractionScale);
}

}  // namespace braid
