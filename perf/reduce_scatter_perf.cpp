// reduce_scatter_perf: rank i ends with block i of the reduction of all ranks' buffers.
#include "common/runner.h"

namespace {

class ReduceScatter : public perf::Collective {
 public:
  const char* name() const override { return "reduce_scatter_perf"; }
  bool reduces() const override { return true; }
  // nccl-tests' convention: the size is the whole send buffer, count is per rank.
  // In place, rank i's result lies at block i of its send buffer (NCCL's layout).
  perf::Shape shape(std::size_t elements, int n) const override {
    const std::size_t per = elements / static_cast<std::size_t>(n);
    return {per, per * static_cast<std::size_t>(n), per, 0, per};
  }
  double busFactor(int n) const override { return static_cast<double>(n - 1) / n; }
  double memoryTraffic(int n) const override { return n + 1.0; }
  void run(braid::Communicator& comm, const void* send, void* recv, const perf::Shape& s, braid::DataType type,
           const braid::Reduction& op, int, braid::Stream stream) const override {
    comm.reduceScatter(send, recv, s.count, type, op, stream);
  }
  void input(const perf::CheckContext& c, void* send) const override {
    perf::fillReduceInput(c.spec, c.rank, 0, c.shape.sendCount, send);
  }
  void expected(const perf::CheckContext& c, void* want) const override {
    perf::fillReduceExpected(c.spec, static_cast<std::size_t>(c.rank) * c.shape.count, c.shape.count, want);
  }
};

}  // namespace

int main(int argc, char** argv) { return perf::benchmarkMain(argc, argv, ReduceScatter()); }
