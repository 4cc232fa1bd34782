#include "core/shared_settings.h"

#include "core/env.h"
#include "core/status_report.h"

#include <braid/error.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

namespace braid {
namespace {

// Digests only ever meet digests from the same build of Braid (the peer table is the
// same struct on every rank), so std::hash, stable within one build, will do.
std::uint64_t digestOf(const std::string& text) { return text.empty() ? 0 : std::hash<std::string>{}(text) | 1; }

std::uint64_t tuningFileDigest(const std::string& path) {
  if (path.empty()) return 0;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  // Unreadable: loading it reports why; until then the path stands for it.
  return digestOf(in ? contents.str() : "unreadable " + path);
}

// Throws when the ranks' values of `field` differ; `describe` names a value, given the
// order in which it first appears.
void requireAgreement(const std::vector<PeerInfo>& peers, int rank, const std::string& setting,
                      std::uint64_t PeerInfo::*field,
                      const std::function<std::string(std::uint64_t, std::size_t)>& describe) {
  std::vector<std::uint64_t> values;
  std::vector<std::vector<int>> ranksWith;
  for (int r = 0; r < static_cast<int>(peers.size()); ++r) {
    const std::uint64_t v = peers[r].*field;
    std::size_t i = 0;
    while (i < values.size() && values[i] != v) ++i;
    if (i == values.size()) values.push_back(v), ranksWith.emplace_back();
    ranksWith[i].push_back(r);
  }
  if (values.size() < 2) return;
  std::string who;
  for (std::size_t i = 0; i < values.size(); ++i)
    who += std::string(i ? "; " : "") + "ranks " + rankList(ranksWith[i]) + " " + describe(values[i], i);
  throw InvalidArgument("rank " + std::to_string(rank) + ": ranks disagree on " + setting + " (" + who +
                            "): every rank of a communicator must use the same",
                        ErrorContext{rank, -1, "", ""});
}

}  // namespace

void describeSharedSettings(PeerInfo& me) {
  const Env& env = Env::get();
  me.checkLevel = static_cast<std::uint64_t>(env.checkLevel());
  me.algoDigest = digestOf(env.value("BRAID_ALGO"));
  me.tuningDigest = tuningFileDigest(env.value("BRAID_TUNING_FILE"));
  me.chunkBytes = std::strcmp(env.source("BRAID_CHUNK"), "default") == 0 ? 0 : env.chunkBytes();
}

void requireSharedSettings(const std::vector<PeerInfo>& peers, int rank) {
  const Env& env = Env::get();
  requireAgreement(peers, rank, "BRAID_CHECK", &PeerInfo::checkLevel, [](std::uint64_t v, std::size_t) {
    static const char* const names[] = {"off", "on", "full"};
    return std::string("use ") + (v < 3 ? names[v] : "an unknown level");
  });
  auto variant = [](const char* none) {
    return [none](std::uint64_t v, std::size_t i) {
      return v == 0 ? std::string(none) : "use variant #" + std::to_string(i + 1);
    };
  };
  requireAgreement(peers, rank, "BRAID_ALGO (this rank's: '" + env.value("BRAID_ALGO") + "')", &PeerInfo::algoDigest,
                   variant("leave it unset"));
  requireAgreement(peers, rank, "the contents of BRAID_TUNING_FILE (this rank's: '" +
                       env.value("BRAID_TUNING_FILE") + "')", &PeerInfo::tuningDigest, variant("use none"));
  requireAgreement(peers, rank, "BRAID_CHUNK", &PeerInfo::chunkBytes, [](std::uint64_t v, std::size_t) {
    return v == 0 ? std::string("leave it unset") : "use " + std::to_string(v) + " bytes";
  });
}

}  // namespace braid
