// Run under braidrun inside a Soft-RoCE guest (verbs_checks.sh compiles it against the
// build tree): a reduce of several MiB to rank 0, after which every other rank destroys
// its communicator and exits at once. A leaf's reduce ends as soon as its last chunk
// is handed to the NIC, so it tears its queue pairs down while the root is still
// reading chunks and returning credits to it; the root must still finish, exactly.
#include <braid/braid.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  const std::size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : (std::size_t{2} << 20);
  int rank = -1;
  try {
    braid::Communicator comm = braid::Communicator::fromEnvironment();
    rank = comm.rank();
    const int size = comm.size();
    std::vector<float> in(count, static_cast<float>(rank + 1)), out(rank == 0 ? count : 0);
    comm.reduce(in.data(), out.data(), count, braid::DataType::Float32, braid::ReduceOp::Sum, 0);
    if (rank != 0) return 0;  // the communicator goes away here, with the root still reading
    const float want = static_cast<float>(size * (size + 1) / 2);
    std::size_t wrong = 0;
    for (float v : out) wrong += v != want;
    std::printf("rank 0: 1 checks, %d failed\n", wrong ? 1 : 0);
    if (wrong) std::fprintf(stderr, "leaf_leaves_early: %zu of %zu elements are wrong\n", wrong, count);
    return wrong ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "leaf_leaves_early: rank %d: %s\n", rank, e.what());
    return 1;
  }
}
