#include "compat/nccl/config.h"

#include "compat/nccl/errors.h"

#include <cstddef>
#include <cstring>

namespace braid::nccl {
namespace {

constexpr unsigned kConfigMagic = 0xcafebeef;

bool isUnsetOr01(int v) { return v == NCCL_CONFIG_UNDEF_INT || v == 0 || v == 1; }
bool isUnsetOrPositive(int v) { return v == NCCL_CONFIG_UNDEF_INT || v > 0; }

// The caller's struct over defaults: only the bytes its `size` covers, then the fields
// its `version` did not know yet reset to their defaults.
ncclConfig_t copyKnownFields(const ncclConfig_t* config, int rank) {
  ncclConfig_t c = NCCL_CONFIG_INITIALIZER;
  const ncclConfig_t defaults = NCCL_CONFIG_INITIALIZER;
  std::size_t size = 0;
  std::memcpy(&size, config, sizeof size);
  if (size < offsetof(ncclConfig_t, blocking))
    fail(ncclInvalidArgument, rankPrefix(rank) + "config: 'size' is " + std::to_string(size) +
                                  ", too small for size, magic and version; start it from NCCL_CONFIG_INITIALIZER");
  std::memcpy(&c, config, size < sizeof c ? size : sizeof c);
  if (c.magic != kConfigMagic)
    fail(ncclInvalidArgument, rankPrefix(rank) + "config: 'magic' is " + std::to_string(c.magic) +
                                  ": the struct was not initialized with NCCL_CONFIG_INITIALIZER");
  if (c.version < NCCL_VERSION(2, 14, 0)) c.blocking = defaults.blocking;
  if (c.version < NCCL_VERSION(2, 17, 0)) {
    c.cgaClusterSize = defaults.cgaClusterSize;
    c.minCTAs = defaults.minCTAs;
    c.maxCTAs = defaults.maxCTAs;
    c.netName = defaults.netName;
  }
  if (c.version < NCCL_VERSION(2, 25, 0)) c.trafficClass = defaults.trafficClass;
  if (c.version < NCCL_VERSION(2, 27, 0)) {
    c.collnetEnable = defaults.collnetEnable;
    c.CTAPolicy = defaults.CTAPolicy;
    c.shrinkShare = defaults.shrinkShare;
    c.nvlsCTAs = defaults.nvlsCTAs;
  }
  if (c.version < NCCL_VERSION(2, 28, 0)) {
    c.nChannelsPerNetPeer = defaults.nChannelsPerNetPeer;
    c.nvlinkCentricSched = defaults.nvlinkCentricSched;
  }
  return c;
}

void check(bool ok, int rank, const char* field, int value, const char* allowed) {
  if (!ok)
    fail(ncclInvalidArgument, rankPrefix(rank) + "config: '" + field + "' is " + std::to_string(value) +
                                  "; allowed: " + allowed);
}

}  // namespace

CommOptions readConfig(const ncclConfig_t* config, const CommOptions* inherited, int rank) {
  if (!config) return inherited ? *inherited : CommOptions{};
  const ncclConfig_t c = copyKnownFields(config, rank);
  check(isUnsetOr01(c.blocking), rank, "blocking", c.blocking, "0 or 1");
  check(isUnsetOrPositive(c.cgaClusterSize) || c.cgaClusterSize == 0, rank, "cgaClusterSize", c.cgaClusterSize,
        "0 or more");
  check(isUnsetOrPositive(c.minCTAs), rank, "minCTAs", c.minCTAs, "1 or more");
  check(isUnsetOrPositive(c.maxCTAs), rank, "maxCTAs", c.maxCTAs, "1 or more");
  if (c.minCTAs != NCCL_CONFIG_UNDEF_INT && c.maxCTAs != NCCL_CONFIG_UNDEF_INT)
    check(c.minCTAs <= c.maxCTAs, rank, "minCTAs", c.minCTAs, "at most maxCTAs");
  check(isUnsetOr01(c.splitShare), rank, "splitShare", c.splitShare, "0 or 1");
  check(isUnsetOr01(c.collnetEnable), rank, "collnetEnable", c.collnetEnable, "0 or 1");
  const bool knownPolicy = c.CTAPolicy >= NCCL_CTA_POLICY_DEFAULT && c.CTAPolicy <= NCCL_CTA_POLICY_ZERO;
  check(c.CTAPolicy == NCCL_CONFIG_UNDEF_INT || knownPolicy, rank, "CTAPolicy", c.CTAPolicy,
        "NCCL_CTA_POLICY_DEFAULT, _EFFICIENCY or _ZERO");
  check(isUnsetOr01(c.shrinkShare), rank, "shrinkShare", c.shrinkShare, "0 or 1");
  check(isUnsetOrPositive(c.nvlsCTAs), rank, "nvlsCTAs", c.nvlsCTAs, "1 or more");
  check(isUnsetOrPositive(c.nChannelsPerNetPeer), rank, "nChannelsPerNetPeer", c.nChannelsPerNetPeer, "1 or more");
  check(isUnsetOr01(c.nvlinkCentricSched), rank, "nvlinkCentricSched", c.nvlinkCentricSched, "0 or 1");

  CommOptions options;
  options.blocking = c.blocking != 0;  // unset means blocking, NCCL's default
  if (c.commName) options.name = c.commName;
  return options;
}

}  // namespace braid::nccl
