#pragma once
// Minimal leveled logging to stderr, prefixed with host, pid and rank. Level comes
// from BRAID_DEBUG (alias NCCL_DEBUG): WARN (default), INFO, TRACE.
#include <cstdio>
#include <string>

namespace braid::log {

enum Level { kWarn = 1, kInfo = 2, kDebug = 3 };
bool enabled(Level level);
// Sets the rank printed in later lines of this process (-1: unknown).
void setRank(int rank);
void write(Level level, const std::string& message);

}  // namespace braid::log

#define BRAID_WARN(msg) ::braid::log::write(::braid::log::kWarn, (msg))
#define BRAID_INFO(msg) \
  do { if (::braid::log::enabled(::braid::log::kInfo)) ::braid::log::write(::braid::log::kInfo, (msg)); } while (0)
#define BRAID_DEBUG(msg) \
  do { if (::braid::log::enabled(::braid::log::kDebug)) ::braid::log::write(::braid::log::kDebug, (msg)); } while (0)
