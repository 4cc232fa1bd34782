#include "compat/nccl/group.h"

#include <thread>
#include <vector>

namespace braid::nccl {
namespace {

struct PendingCreation {
  CommRef handle;
  Prepare prepare;
};

struct Batch {
  CommRef comm;
  std::vector<Task> tasks;
};

struct GroupState {
  int depth = 0;
  Outcome failure;  // the first call in the group that failed
  std::vector<PendingCreation> creations;
  std::vector<Batch> batches;  // in order of each communicator's first call
};

thread_local GroupState tGroup;

// Runs job(i) for i in [0, n), on n threads when there are several, and joins them.
template <class Job>
void runConcurrently(std::size_t n, Job job) {
  if (n == 1) {
    job(0);
    return;
  }
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (std::size_t i = 0; i < n; ++i) threads.emplace_back(job, i);
  for (auto& t : threads) t.join();
}

bool live(const CommRef& h) { return h && h->magic.load() == ncclComm::kLive; }

// Prepares every creation, then builds each on its handle's thread. Blocking ones are
// joined; returns whether a non-blocking one is still building.
bool runCreations(std::vector<PendingCreation>& creations, Outcome& first) {
  std::vector<std::optional<Recipe>> recipes(creations.size());
  std::vector<Outcome> prepared(creations.size());
  runConcurrently(creations.size(), [&](std::size_t i) {
    prepared[i] = capture("ncclGroupEnd", [&] { recipes[i] = creations[i].prepare(); });
  });
  bool building = false;
  for (std::size_t i = 0; i < creations.size(); ++i) {
    const CommRef& h = creations[i].handle;
    if (prepared[i].failed()) {
      if (!first.failed()) first = prepared[i];
      if (h) failCreation(*h, prepared[i].code, prepared[i].text);
      continue;
    }
    if (!live(h) || !recipes[i]) continue;  // aborted before the group ended, or no new communicator
    buildInBackground(*h, *recipes[i]);
    building = building || !h->options.blocking;
  }
  for (auto& c : creations) {
    if (!live(c.handle) || !c.handle->options.blocking) continue;
    joinBuild(*c.handle);
    Outcome o = capture("ncclGroupEnd", [&] { throwIfFailed(*c.handle); });
    if (o.failed() && !first.failed()) first = o;
  }
  return building;
}

void runBatches(std::vector<Batch>& batches, Outcome& first) {
  std::vector<Outcome> outcomes(batches.size());
  runConcurrently(batches.size(), [&](std::size_t i) {
    outcomes[i] = capture("ncclGroupEnd", [&] {
      runTasks(ready(*batches[i].comm), batches[i].tasks.data(), batches[i].tasks.size());
    });
  });
  for (const Outcome& o : outcomes)
    if (o.failed() && !first.failed()) first = o;
}

// A group that does not run: its creations fail with the reason, its tasks are dropped.
void discard(GroupState& g, ncclResult_t code, const std::string& why) {
  for (auto& c : g.creations)
    if (live(c.handle)) failCreation(*c.handle, code, why);
}

}  // namespace

bool inGroup() { return tGroup.depth > 0; }

void noteGroupFailure(ncclResult_t code) {
  if (tGroup.depth > 0 && !tGroup.failure.failed()) tGroup.failure = Outcome{code, lastError()};
}

ncclResult_t submit(CommRef comm, const Task& task) {
  checkTask(*comm, task);
  if (!inGroup()) {
    runTasks(ready(*comm), &task, 1);
    return ncclSuccess;
  }
  for (Batch& b : tGroup.batches) {
    if (b.comm.get() == comm.get()) {
      b.tasks.push_back(task);
      return ncclSuccess;
    }
  }
  tGroup.batches.push_back(Batch{std::move(comm), {task}});
  return ncclSuccess;
}

namespace {

ncclResult_t create(CommRef handle, Prepare prepare) {
  if (inGroup()) {
    tGroup.creations.push_back(PendingCreation{std::move(handle), std::move(prepare)});
    return ncclSuccess;
  }
  std::optional<Recipe> recipe = prepare();
  if (!handle || !recipe) return ncclSuccess;
  if (!handle->options.blocking) {
    buildInBackground(*handle, *recipe);
    return ncclInProgress;
  }
  if (!buildNow(*handle, *recipe)) throwIfFailed(*handle);
  return ncclSuccess;
}

}  // namespace

ncclResult_t createInto(ncclComm_t* out, ncclComm* handle, Prepare prepare) {
  *out = handle;
  try {
    return create(handle ? acquire(handle) : CommRef(), std::move(prepare));
  } catch (...) {
    if (handle && !inGroup()) {
      *out = nullptr;
      handle->magic.store(0);
      release(handle);
    }
    throw;
  }
}

ncclResult_t groupStart() {
  ++tGroup.depth;
  return ncclSuccess;
}

ncclResult_t groupEnd() {
  if (tGroup.depth == 0) fail(ncclInvalidUsage, "ncclGroupEnd without a matching ncclGroupStart on this thread");
  if (--tGroup.depth > 0) return ncclSuccess;
  // The group is closed whatever happens below: a failure must not leave it open.
  GroupState g = std::move(tGroup);
  tGroup = GroupState{};
  if (g.failure.failed()) {
    discard(g, g.failure.code, "the group was not run because a call in it failed: " + g.failure.text);
    fail(g.failure.code, "a call in the group failed, so nothing in it ran: " + g.failure.text);
  }
  Outcome first;
  bool building = runCreations(g.creations, first);
  runBatches(g.batches, first);
  if (first.failed()) return report(first);
  return building ? ncclInProgress : ncclSuccess;
}

}  // namespace braid::nccl

using namespace braid::nccl;

ncclResult_t ncclGroupStart() { return groupStart(); }
BRAID_NCCL_TWIN(ncclGroupStart)

ncclResult_t ncclGroupEnd() {
  return guarded("ncclGroupEnd", [] { return groupEnd(); });
}
BRAID_NCCL_TWIN(ncclGroupEnd)

ncclResult_t ncclGroupSimulateEnd(ncclSimInfo_t* simInfo) {
  return guarded("ncclGroupSimulateEnd", [&]() -> ncclResult_t {
    if (!simInfo) fail(ncclInvalidArgument, "argument 'simInfo' is NULL");
    if (simInfo->magic != 0x74685283)
      fail(ncclInvalidArgument, "argument 'simInfo' was not initialized with NCCL_SIM_INFO_INITIALIZER");
    if (tGroup.depth == 0)
      fail(ncclInvalidUsage, "ncclGroupSimulateEnd without a matching ncclGroupStart on this thread");
    // NCCL ends the group without running it and estimates its time. Braid's tuner has
    // the numbers but no estimate of a whole group yet: the group ends unrun, unestimated.
    const char* why = "not supported by Braid yet: no time estimate for a group; ";
    if (--tGroup.depth > 0) fail(ncclInvalidUsage, std::string(why) + "an inner group level was closed");
    GroupState g = std::move(tGroup);
    tGroup = GroupState{};
    std::size_t tasks = 0;
    for (const auto& b : g.batches) tasks += b.tasks.size();
    discard(g, ncclInvalidUsage, "the group was ended by ncclGroupSimulateEnd, which does not run it");
    fail(ncclInvalidUsage, std::string(why) + "the group ended without running its " + std::to_string(tasks) +
                               " operations");
  });
}
BRAID_NCCL_TWIN(ncclGroupSimulateEnd)
