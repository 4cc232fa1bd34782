#pragma once
// A Plan is what an algorithm produces for one rank: an ordered list of steps over
// regions of buffers, with the dependencies between them. It moves no bytes; the
// Executor runs it over Connections (and a simulator can run it without any).
//
// Regions are in elements, on numbered buffers: 0 = the call's input, 1 = its output,
// 2 = scratch the executor provides, 3.. = extra buffers (grouped send/recv).
// Dependencies are inferred by PlanBuilder from which regions each step reads and
// writes, so an algorithm only states what moves where, in order.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace braid {

enum class StepKind : std::uint8_t {
  Send,        // send src to peer
  Recv,        // receive from peer into dst
  RecvReduce,  // receive from peer; dst = src (op) incoming
  Copy,        // dst = src
  Reduce,      // dst = dst (op) src
};

using BufferId = std::uint16_t;
inline constexpr BufferId kInput = 0, kOutput = 1, kScratch = 2;

struct Region {
  BufferId buffer = kInput;
  std::size_t offset = 0;  // elements
  std::size_t count = 0;   // elements
};

struct Step {
  StepKind kind;
  int peer;    // Send/Recv/RecvReduce; -1 for local steps
  Region src;  // read by Send, RecvReduce, Copy, Reduce
  Region dst;  // written by Recv, RecvReduce, Copy, Reduce
  std::uint32_t firstDep = 0, numDeps = 0;  // into Plan::deps
};

struct Plan {
  std::vector<Step> steps;
  std::vector<std::uint32_t> deps;  // step indices each step waits for
  std::size_t scratchCount = 0;     // elements of scratch the plan needs
  std::size_t bufferCount = 3;      // number of buffer ids used

  // Derived by finalize(): the reverse edges and per-peer queues the executor walks.
  std::vector<std::uint32_t> firstDependent, dependents;  // CSR: step -> steps waiting on it
  std::vector<int> peers;                                 // peers touched, ascending
  std::vector<std::vector<std::uint32_t>> sendsTo, recvsFrom;  // per entry of `peers`, in plan order
  void finalize();
};

}  // namespace braid
