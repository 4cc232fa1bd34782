#pragma once
// A stable 64-bit digest (FNV-1a) of bytes that ranks compare without sending them: the
// same on every host, build and standard library, unlike std::hash.
#include <cstdint>
#include <string_view>

namespace braid {

inline std::uint64_t fnv1a64(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a's 64-bit offset basis
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace braid
