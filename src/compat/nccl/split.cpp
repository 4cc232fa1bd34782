// ncclCommSplit and ncclCommShrink: new communicators from a parent's ranks. The new
// communicator's unique id travels over the parent (an all-gather for split, sends
// from the new rank 0 for shrink, whose excluded ranks take no part); the children
// then rendezvous as any communicator does.
#include "compat/nccl/group.h"

#include <algorithm>
#include <set>

using namespace braid::nccl;

namespace {

constexpr std::size_t kIdBytes = sizeof(braid::UniqueId::bytes);

// The parent must still carry messages. NCCL also splits and shrinks a parent that
// failed or was revoked, over its bootstrap network; Braid has no such path yet.
braid::Communicator& usableParent(ncclComm& parent, const char* what) {
  auto refuse = [&] {
    fail(ncclInvalidUsage, rankPrefix(parent.rank) + "not supported by Braid yet: " + what +
                               " a communicator that failed or was revoked. The new communicator's id travels "
                               "over the parent, which no longer carries messages; make a new one with "
                               "ncclGetUniqueId and ncclCommInitRank instead");
  };
  if (parent.revoked.load()) refuse();
  braid::Communicator& c = ready(parent);
  if (c.asyncError()) refuse();
  return c;
}

// Collective over the parent: every rank's (color, key), then the id each color's
// first member made. Ranks with NCCL_SPLIT_NOCOLOR take part and get nothing.
std::optional<Recipe> splitExchange(ncclComm& parent, int color, int key) {
  braid::Communicator& c = usableParent(parent, "splitting");
  const int n = c.size(), me = c.rank();
  std::vector<std::int32_t> mine = {color, key}, all(2 * static_cast<std::size_t>(n));
  c.allGather(mine.data(), all.data(), 2, braid::DataType::Int32);
  std::vector<int> members;  // of this rank's color: by key, then by parent rank
  for (int r = 0; r < n && color != NCCL_SPLIT_NOCOLOR; ++r)
    if (all[2 * r] == color) members.push_back(r);
  std::stable_sort(members.begin(), members.end(), [&](int a, int b) { return all[2 * a + 1] < all[2 * b + 1]; });

  std::vector<unsigned char> myId(kIdBytes, 0), ids(kIdBytes * static_cast<std::size_t>(n));
  const bool leader = !members.empty() && members.front() == me;
  if (leader) {
    braid::UniqueId id = braid::UniqueId::create();
    std::copy(id.bytes.begin(), id.bytes.end(), myId.begin());
  }
  c.allGather(myId.data(), ids.data(), kIdBytes, braid::DataType::Uint8);
  if (members.empty()) return std::nullopt;
  Recipe r;
  const auto leaderId = ids.begin() + static_cast<std::ptrdiff_t>(members.front() * kIdBytes);
  std::copy(leaderId, leaderId + kIdBytes, r.id.bytes.begin());
  r.rank = static_cast<int>(std::find(members.begin(), members.end(), me) - members.begin());
  r.size = static_cast<int>(members.size());
  return r;
}

// Among the survivors only: the new rank 0 makes the id and sends it to each.
std::optional<Recipe> shrinkExchange(ncclComm& parent, const std::vector<int>& survivors) {
  braid::Communicator& c = usableParent(parent, "shrinking");
  Recipe r;
  r.size = static_cast<int>(survivors.size());
  r.rank = static_cast<int>(std::find(survivors.begin(), survivors.end(), c.rank()) - survivors.begin());
  const int leader = survivors.front();
  if (c.rank() == leader) {
    r.id = braid::UniqueId::create();
    c.groupStart();
    for (std::size_t i = 1; i < survivors.size(); ++i)
      c.send(r.id.bytes.data(), kIdBytes, braid::DataType::Uint8, survivors[i]);
    c.groupEnd();
  } else {
    c.recv(r.id.bytes.data(), kIdBytes, braid::DataType::Uint8, leader);
  }
  return r;
}

}  // namespace

ncclResult_t ncclCommSplit(ncclComm_t comm, int color, int key, ncclComm_t* newcomm, ncclConfig_t* config) {
  return guardedInGroup("ncclCommSplit", [&] {
    CommRef parent = acquire(comm);
    const int rank = parent->rank;
    if (!newcomm) fail(ncclInvalidArgument, rankPrefix(rank) + "argument 'newcomm' is NULL");
    *newcomm = nullptr;
    if (color < 0 && color != NCCL_SPLIT_NOCOLOR)
      fail(ncclInvalidArgument, rankPrefix(rank) + "argument 'color' is " + std::to_string(color) +
                                    "; it must be 0 or more, or NCCL_SPLIT_NOCOLOR");
    CommOptions options = readConfig(config, &parent->options, rank);
    ncclComm* child = nullptr;
    if (color != NCCL_SPLIT_NOCOLOR) child = new ncclComm(-1, 0, parent->cudaDevice, std::move(options));
    auto p = std::make_shared<CommRef>(std::move(parent));
    return createInto(newcomm, child, [p, color, key] { return splitExchange(**p, color, key); });
  });
}
BRAID_NCCL_TWIN(ncclCommSplit)

ncclResult_t ncclCommShrink(ncclComm_t comm, int* excludeRanksList, int excludeRanksCount, ncclComm_t* newcomm,
                            ncclConfig_t* config, int shrinkFlags) {
  return guardedInGroup("ncclCommShrink", [&] {
    CommRef parent = acquire(comm);
    const int rank = parent->rank;
    const std::string who = rankPrefix(rank);
    if (!newcomm) fail(ncclInvalidArgument, who + "argument 'newcomm' is NULL");
    *newcomm = nullptr;
    if (!excludeRanksList) fail(ncclInvalidArgument, who + "argument 'excludeRanksList' is NULL");
    if (excludeRanksCount <= 0)
      fail(ncclInvalidArgument, who + "argument 'excludeRanksCount' is " + std::to_string(excludeRanksCount) +
                                    "; at least 1");
    if (shrinkFlags != NCCL_SHRINK_DEFAULT && shrinkFlags != NCCL_SHRINK_ABORT)
      fail(ncclInvalidArgument, who + "argument 'shrinkFlags' is " + std::to_string(shrinkFlags) +
                                    "; NCCL_SHRINK_DEFAULT or NCCL_SHRINK_ABORT");
    std::set<int> excluded;
    for (int i = 0; i < excludeRanksCount; ++i) {
      int r = excludeRanksList[i];
      if (r < 0 || r >= parent->nranks)
        fail(ncclInvalidArgument, who + "excludeRanksList[" + std::to_string(i) + "] is " + std::to_string(r) +
                                      ", outside [0, " + std::to_string(parent->nranks) + ")");
      excluded.insert(r);
    }
    if (excluded.count(rank))
      fail(ncclInvalidArgument, who + "this rank is in excludeRanksList; only the remaining ranks call ncclCommShrink");
    std::vector<int> survivors;
    for (int r = 0; r < parent->nranks; ++r)
      if (!excluded.count(r)) survivors.push_back(r);
    // NCCL_SHRINK_ABORT ends the parent's operations in flight first. Braid's calls on
    // host memory have completed when they return, so none is in flight; the flag
    // changes nothing here.
    CommOptions options = readConfig(config, &parent->options, rank);
    auto* child = new ncclComm(-1, 0, parent->cudaDevice, std::move(options));
    auto p = std::make_shared<CommRef>(std::move(parent));
    return createInto(newcomm, child, [p, survivors] { return shrinkExchange(**p, survivors); });
  });
}
BRAID_NCCL_TWIN(ncclCommShrink)
