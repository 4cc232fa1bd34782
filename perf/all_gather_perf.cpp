// all_gather_perf: every rank ends with all ranks' buffers, rank i's at block i.
#include "common/runner.h"

namespace {

class AllGather : public perf::Collective {
 public:
  const char* name() const override { return "all_gather_perf"; }
  // nccl-tests' convention: the size is the whole gathered buffer, count is per rank.
  // In place, rank i's contribution sits at block i of its receive buffer.
  perf::Shape shape(std::size_t elements, int n) const override {
    const std::size_t per = elements / static_cast<std::size_t>(n);
    return {per, per, per * static_cast<std::size_t>(n), per, 0};
  }
  double busFactor(int n) const override { return static_cast<double>(n - 1) / n; }
  double memoryTraffic(int n) const override { return n + 1.0; }
  void run(braid::Communicator& comm, const void* send, void* recv, const perf::Shape& s, braid::DataType type,
           const braid::Reduction&, int, braid::Stream stream) const override {
    comm.allGather(send, recv, s.count, type, stream);
  }
  void input(const perf::CheckContext& c, void* send) const override {
    perf::fillPattern(c.spec, c.rank, 0, c.shape.count, send);
  }
  void expected(const perf::CheckContext& c, void* want) const override {
    const std::size_t block = c.shape.count * braid::sizeOf(c.spec.type);
    for (int r = 0; r < c.spec.nranks; ++r)
      perf::fillPattern(c.spec, r, 0, c.shape.count, static_cast<unsigned char*>(want) + block * static_cast<std::size_t>(r));
  }
};

}  // namespace

int main(int argc, char** argv) { return perf::benchmarkMain(argc, argv, AllGather()); }
