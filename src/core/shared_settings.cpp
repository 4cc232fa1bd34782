#include "core/shared_settings.h"

#include "core/digest.h"
#include "core/env.h"
#include "core/rank_groups.h"

#include <braid/error.h>

#include <cstring>
#include <functional>
#include <string>

namespace braid {
namespace {

// 0 stands for "not set"; a digest that happens to be 0 must not say so.
std::uint64_t digestOf(const std::string& text) { return fnv1a64(text) | 1; }

// Throws when the ranks' values of `field` differ. `describe` names a value, given its
// place among the distinct values other than 0 (which means unset) as they first appear.
void requireAgreement(const std::vector<PeerInfo>& peers, int rank, const std::string& setting,
                      std::uint64_t PeerInfo::*field,
                      const std::function<std::string(std::uint64_t, std::size_t)>& describe) {
  const auto groups = groupRanks(static_cast<int>(peers.size()), [&](int r) { return peers[r].*field; });
  if (groups.size() < 2) return;
  std::string who;
  std::size_t setSoFar = 0;
  for (const auto& [value, ranks] : groups)
    who += (who.empty() ? "" : "; ") + namedRanks(ranks) + ": " + describe(value, value == 0 ? 0 : ++setSoFar);
  throw InvalidArgument("rank " + std::to_string(rank) + ": ranks disagree on " + setting + " (" + who +
                            "): every rank of a communicator must use the same",
                        ErrorContext{rank, -1, "", ""});
}

}  // namespace

TunerSettings describeSharedSettings(PeerInfo& me, int rank) {
  me.checkLevel = static_cast<std::uint64_t>(Env::get().checkLevel());
  me.cudaIpc = Env::get().cudaIpc() ? 1 : 0;
  TunerSettings t = readTunerSettings(rank);
  me.algoDigest = t.overrides.empty() ? 0 : digestOf(t.overrides.canonical());
  me.tuningDigest = t.tuning ? digestOf(tuningJson(*t.tuning)) : 0;
  me.chunkBytes = t.userSlice.value_or(0);
  return t;
}

void requireSharedSettings(const std::vector<PeerInfo>& peers, int rank) {
  const Env& env = Env::get();
  requireAgreement(peers, rank, "BRAID_CHECK", &PeerInfo::checkLevel, [](std::uint64_t v, std::size_t) {
    static const char* const names[] = {"off", "on", "full"};
    return std::string(v < 3 ? names[v] : "an unknown level");
  });
  // It decides where calls on GPU buffers run, and so which tuner picks their algorithm.
  requireAgreement(peers, rank, "BRAID_CUDA_IPC", &PeerInfo::cudaIpc,
                   [](std::uint64_t v, std::size_t) { return std::to_string(v); });
  auto variant = [](const char* none) {
    return [none](std::uint64_t v, std::size_t i) {
      return v == 0 ? std::string(none) : "variant #" + std::to_string(i);
    };
  };
  const bool algoSet = std::strcmp(env.source("BRAID_ALGO"), "default") != 0;
  requireAgreement(peers, rank, std::string(algoSet ? env.source("BRAID_ALGO") : "BRAID_ALGO") + " (this rank's: '" +
                       env.value("BRAID_ALGO") + "')", &PeerInfo::algoDigest, variant("unset"));
  requireAgreement(peers, rank, "the contents of BRAID_TUNING_FILE (this rank's: '" +
                       env.value("BRAID_TUNING_FILE") + "')", &PeerInfo::tuningDigest, variant("none"));
  requireAgreement(peers, rank, "BRAID_CHUNK", &PeerInfo::chunkBytes, [](std::uint64_t v, std::size_t) {
    return v == 0 ? std::string("unset") : std::to_string(v) + " bytes";
  });
}

}  // namespace braid
