#include "soak_communicators.h"

#include "core/env.h"

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <utility>

namespace braid::soak {
namespace {

// Sets variables for the communicator created in its lifetime, then puts back what was
// there. Env caches the settings, so it is reloaded on both edges.
class ScopedEnv {
 public:
  void set(const char* name, const std::string& value) {
    const char* old = std::getenv(name);
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    ::setenv(name, value.c_str(), 1);
  }
  void apply() { Env::reload(); }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) ::setenv(it->first.c_str(), it->second->c_str(), 1);
      else ::unsetenv(it->first.c_str());
    }
    Env::reload();
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Every rank needs the same rendezvous id; rank 0 makes it and broadcasts its bytes.
UniqueId sharedId(Communicator& base) {
  UniqueId id;
  if (base.rank() == 0) id = UniqueId::create();
  base.broadcast(id.bytes.data(), id.bytes.data(), id.bytes.size(), DataType::Uint8, 0);
  return id;
}

}  // namespace

Communicators makeCommunicators(Communicator base, const std::vector<std::string>& forced, Random& random) {
  Communicators out;
  out.settings.push_back({"tuner", std::nullopt});
  out.comms.reserve(forced.size() + 1);  // `first` below must stay where it is
  out.comms.push_back(std::move(base));
  Communicator& first = out.comms.front();
  const int rank = first.rank(), size = first.size();
  for (const std::string& name : forced) {
    const auto algorithm = parseAlgorithm(name);
    if (!algorithm) throw std::invalid_argument("unknown algorithm '" + name + "'");
    static const char* const kChunks[] = {"", "1K", "16K"};  // "": the tuner sizes slices
    const std::string chunk = kChunks[random.below(3)];
    // Drawn on every rank alike (same generator state), and before the collective
    // below, so all ranks agree on it.
    const UniqueId id = sharedId(first);
    ScopedEnv env;
    env.set("BRAID_ALGO", name);
    if (!chunk.empty()) env.set("BRAID_CHUNK", chunk);
    if (*algorithm == Algorithm::Hierarchical) {
      // Two posed hosts: the first half of the ranks on one, the rest on the other.
      env.set("BRAID_HOST_ID", "soak-posed-host-" + std::to_string(rank * 2 / size));
      const char* transports = std::getenv("BRAID_TRANSPORTS");
      if (transports && *transports && std::string(transports).find("tcp") == std::string::npos)
        env.set("BRAID_TRANSPORTS", std::string(transports) + ",tcp");
    }
    env.apply();
    out.comms.emplace_back(id, rank, size);
    out.settings.push_back({chunk.empty() ? name : name + " (BRAID_CHUNK=" + chunk + ")", algorithm});
  }
  return out;
}

}  // namespace braid::soak
