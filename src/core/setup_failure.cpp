#include "core/setup_failure.h"

#include "core/rethrow.h"
#include "core/log.h"
#include "core/rank_groups.h"

#include <cstring>
#include <string>

namespace braid {

void SetupFailure::keep(PeerInfo& me, const std::exception& e) {
  std::string text = e.what();
  if (text.empty()) text = "an error without a message";  // "" would read as no failure
  // The peers add their own "rank R:" and name this rank: its own prefix would repeat it.
  const std::string prefix = "rank " + std::to_string(me.rank) + ": ";
  if (text.rfind(prefix, 0) == 0) text.erase(0, prefix.size());
  error_ = std::current_exception();
  if (const auto* error = dynamic_cast<const Error*>(&e)) {
    try {
      ErrorContext ctx = error->context();
      ctx.rank = me.rank;
      throwError(error->kind(), prefix + text, std::move(ctx));
    } catch (const Error&) {
      error_ = std::current_exception();
    }
  }
  BRAID_WARN(prefix + text + " (telling the other ranks through the rendezvous)");
  for (char& c : text)
    if (c < 0x20 || c > 0x7e) c = ' ';  // one line of plain text, as the peers check
  if (text.size() >= sizeof me.setupError) text.replace(sizeof me.setupError - 4, std::string::npos, "...");
  std::memcpy(me.setupError, text.c_str(), text.size() + 1);
}

void SetupFailure::raise(const std::vector<PeerInfo>& peers, int rank) const {
  if (error_) std::rethrow_exception(error_);
  const auto groups = groupRanks(static_cast<int>(peers.size()), [&](int r) { return std::string(peers[r].setupError); });
  std::string why;
  int first = -1;
  for (const auto& [text, ranks] : groups) {
    if (text.empty()) continue;
    why += (why.empty() ? "" : "; ") + namedRanks(ranks) + " failed before the ranks connected (" + text + ")";
    if (first < 0) first = ranks.front();
  }
  if (first < 0) return;
  throw RemoteError("rank " + std::to_string(rank) + ": the communicator cannot be set up: " + why,
                    ErrorContext{rank, first, peers[first].hostName, "bootstrap"});
}

}  // namespace braid
