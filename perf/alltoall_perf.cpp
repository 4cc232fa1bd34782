// alltoall_perf: block j of rank i's buffer ends as block i of rank j's.
#include "common/runner.h"

namespace {

class AllToAll : public perf::Collective {
 public:
  const char* name() const override { return "alltoall_perf"; }
  // nccl-tests' convention: the size is the whole buffer, count is per peer.
  perf::Shape shape(std::size_t elements, int n) const override {
    const std::size_t per = elements / static_cast<std::size_t>(n);
    const std::size_t total = per * static_cast<std::size_t>(n);
    return {per, total, total, 0, 0};
  }
  // All but the block a rank keeps crosses a link.
  double busFactor(int n) const override { return static_cast<double>(n - 1) / n; }
  double memoryTraffic(int n) const override { return 2.0 * n; }
  void run(braid::Communicator& comm, const void* send, void* recv, const perf::Shape& s, braid::DataType type,
           const braid::Reduction&, int, braid::Stream stream) const override {
    comm.allToAll(send, recv, s.count, type, stream);
  }
  void input(const perf::CheckContext& c, void* send) const override {
    perf::fillPattern(c.spec, c.rank, 0, c.shape.sendCount, send);
  }
  // Block j of the result is rank j's block number `rank`.
  void expected(const perf::CheckContext& c, void* want) const override {
    const std::size_t block = c.shape.count * braid::sizeOf(c.spec.type);
    for (int r = 0; r < c.spec.nranks; ++r)
      perf::fillPattern(c.spec, r, static_cast<std::size_t>(c.rank) * c.shape.count, c.shape.count,
                        static_cast<unsigned char*>(want) + block * static_cast<std::size_t>(r));
  }
};

}  // namespace

int main(int argc, char** argv) { return perf::benchmarkMain(argc, argv, AllToAll()); }
