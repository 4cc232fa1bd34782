// Every collective on GPU buffers, enqueued on each rank's own stream, with 1, 2, 4 and
// 8 ranks as threads sharing GPU 0: every datatype and op, in place and not, exact and
// identical to the same call on host memory.
#include "../unit/rank_threads.h"
#include "core/cuda/staging_plan.h"
#include "device_cases.h"

#include <algorithm>
#include <cstdlib>

namespace braid::gpu_test {
namespace {

// Ranks as threads share one CUDA context and its hardware queues (8 by default). A
// stream waiting for its collective holds up whatever is queued behind it on the same
// queue, another rank's copies included, which would stall that collective until
// BRAID_TIMEOUT. One queue per stream avoids it; CUDA reads this when it starts.
const bool kQueuePerStream = [] { return setenv("CUDA_DEVICE_MAX_CONNECTIONS", "32", 0) == 0; }();

void runEveryCase(int ranks, const std::vector<Case>& cases) {
  std::size_t bytes = 1;
  for (const auto& c : cases) bytes = std::max(bytes, caseBytes(c, ranks));
  auto outcomes = braid::testing::runRanks(ranks, [&](Communicator& comm) {
    check(cudaSetDevice(0), "cudaSetDevice");
    RankDevice device(bytes);
    // Every rank's buffers exist before any stream waits for a peer, and none is freed
    // (which may wait for the whole GPU) while a peer's stream still runs.
    comm.barrier();
    unsigned seed = 1;
    for (const auto& c : cases) runCase(comm, device, c, seed++);
    comm.barrier();
  });
  for (std::size_t r = 0; r < outcomes.size(); ++r)
    EXPECT_FALSE(outcomes[r].error) << "rank " << r << ": " << outcomes[r].message();
}

class DeviceCollectives : public ::testing::TestWithParam<int> {};

TEST_P(DeviceCollectives, EveryCollectiveTypeAndOpIsExactAndMatchesTheHost) {
  BRAID_SKIP_WITHOUT_GPU();
  ASSERT_TRUE(kQueuePerStream);
  runEveryCase(GetParam(), everyCase(1031));  // a prime: blocks split unevenly
}

TEST_P(DeviceCollectives, CountZeroMovesNothing) {
  BRAID_SKIP_WITHOUT_GPU();
  runEveryCase(GetParam(), everyCase(0));
}

TEST_P(DeviceCollectives, LargeBuffersArePipelinedExactly) {
  BRAID_SKIP_WITHOUT_GPU();
  const std::size_t count = (std::size_t{1} << 20) + 3;
  runEveryCase(GetParam(), {{CaseOp::AllReduce, DataType::Float32, ReduceOp::Sum, false, count},
                            {CaseOp::AllReduce, DataType::Bfloat16, ReduceOp::Max, true, count},
                            {CaseOp::AllGather, DataType::Int32, ReduceOp::Sum, false, count},
                            {CaseOp::ReduceScatter, DataType::Float16, ReduceOp::Sum, false, count},
                            {CaseOp::Broadcast, DataType::Uint8, ReduceOp::Sum, false, count},
                            {CaseOp::AllToAll, DataType::Int64, ReduceOp::Sum, false, count / 8},
                            {CaseOp::SendRecv, DataType::Float64, ReduceOp::Sum, false, count}});
}

// Past two staging pieces (kStagingPieceBytes), a lone elementwise call is cut: each
// piece's copies overlap the collective on another. Odd counts leave a short last piece.
TEST_P(DeviceCollectives, CallsCutIntoStagingPiecesAreExact) {
  BRAID_SKIP_WITHOUT_GPU();
  const std::size_t pieceBytes = kStagingPieceBytes;
  runEveryCase(GetParam(), {{CaseOp::AllReduce, DataType::Float32, ReduceOp::Sum, false, 2 * pieceBytes / 4 + 3},
                            {CaseOp::AllReduce, DataType::Uint8, ReduceOp::Max, true, 3 * pieceBytes + 5},
                            {CaseOp::Broadcast, DataType::Float64, ReduceOp::Sum, false, 2 * pieceBytes / 8 + 7},
                            {CaseOp::Reduce, DataType::Int32, ReduceOp::Sum, true, 2 * pieceBytes / 4 + 1}});
}

INSTANTIATE_TEST_SUITE_P(RanksOnOneGpu, DeviceCollectives, ::testing::Values(1, 2, 4, 8),
                         [](const ::testing::TestParamInfo<int>& info) { return std::to_string(info.param) + "ranks"; });

}  // namespace
}  // namespace braid::gpu_test
