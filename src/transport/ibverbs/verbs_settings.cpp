#include "transport/ibverbs/verbs_settings.h"

#include "core/env.h"
#include "transport/ibverbs/gid_select.h"

namespace braid::verbs {
namespace {

int intSetting(const char* name, int lo, int hi) { return parseCount(Env::get().value(name), name, lo, hi); }

}  // namespace

IbSettings readIbSettings() {
  IbSettings s;
  s.hcaText = Env::get().value("BRAID_IB_HCA");
  s.hca = parseHcaSpec(s.hcaText);
  s.gidIndex = parseGidIndexSetting(Env::get().value("BRAID_IB_GID_INDEX"));
  s.timeout = intSetting("BRAID_IB_TIMEOUT", 1, 31);
  s.retryCount = intSetting("BRAID_IB_RETRY_CNT", 0, 7);
  s.trafficClass = intSetting("BRAID_IB_TC", 0, 255);
  s.serviceLevel = intSetting("BRAID_IB_SL", 0, 15);
  s.qpsPerPeer = intSetting("BRAID_IB_QPS_PER_PEER", 1, 16);
  return s;
}

}  // namespace braid::verbs
