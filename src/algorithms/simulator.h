#pragma once
// Runs the plans of every rank in one process, with a FIFO of messages per ordered
// pair of ranks instead of transports. It checks what the executor relies on: sizes
// of matching sends and receives agree, and the plans cannot deadlock.
//
// It is event-driven: a step runs when the last thing it waits for is done (see
// SimProgress), so the cost is linear in the number of steps of all ranks, and a
// 4096-rank ring all-reduce (67M steps) runs in seconds.
#include "algorithms/plan.h"
#include "algorithms/sim_plan.h"
#include "reduce/reduce.h"

#include <string>
#include <vector>

namespace braid {

struct SimRank {
  const Plan* plan = nullptr;
  std::vector<void*> buffers;  // indexed by BufferId (scratch included)
};

// When a send is done, so that the sender may go on to steps that wait for it (and
// write its buffer again).
enum class SendCompletion {
  // As soon as it is posted: the transport keeps a copy (a shm or verbs ring with room,
  // socket buffers), so sends never wait for their receivers.
  Buffered,
  // Once its receive has taken it, reading the sender's buffer only then: how a pull
  // transport works (cudaipc), and what any transport becomes for a message larger than
  // its buffering. A plan that runs under this runs under any buffering. Up to a few
  // million steps in all, receives also run as late as the plans allow and a step that
  // writes bytes a send of its rank still offers is reported (a missing dependency).
  WhenPulled,
};

// Throws std::runtime_error describing the first mismatched message, the first write to
// bytes a send still offers (pulled), the first pair of ranks with a message that
// nobody received, or the first rank that is stuck.
void simulate(std::vector<SimRank>& ranks, std::size_t elemSize, reduce::BinaryFn combine,
              SendCompletion sends = SendCompletion::WhenPulled);

// The same on compact plans; buffers[rank] is indexed by BufferId.
void simulate(const std::vector<SimPlan>& plans, const std::vector<std::vector<void*>>& buffers, std::size_t elemSize,
              reduce::BinaryFn combine, SendCompletion sends = SendCompletion::WhenPulled);

}  // namespace braid
