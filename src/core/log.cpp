#include "core/log.h"

#include "core/env.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace braid::log {
namespace {
std::atomic<int> gRank{-1};

const char* label(Level level) {
  switch (level) {
    case kWarn: return "WARN";
    case kInfo: return "INFO";
    default: return "DEBUG";
  }
}
}  // namespace

bool enabled(Level level) { return Env::get().logLevel() >= level; }

void setRank(int rank) { gRank.store(rank); }

void write(Level level, const std::string& message) {
  if (!enabled(level)) return;
  char host[64] = {};
  gethostname(host, sizeof host - 1);
  // One fprintf per line so that lines from threads do not interleave.
  std::fprintf(stderr, "%s:%d:rank %d BRAID %s %s\n", host, static_cast<int>(getpid()), gRank.load(),
               label(level), message.c_str());
}

}  // namespace braid::log
