// all_reduce_perf: every rank ends with the reduction of all ranks' buffers.
#include "common/runner.h"

namespace {

class AllReduce : public perf::Collective {
 public:
  const char* name() const override { return "all_reduce_perf"; }
  bool reduces() const override { return true; }
  perf::Shape shape(std::size_t elements, int) const override { return {elements, elements, elements, 0, 0}; }
  // A ring all-reduce is a reduce-scatter then an all-gather: each sends 2(n-1)/n of the data.
  double busFactor(int n) const override { return 2.0 * (n - 1) / n; }
  double memoryTraffic(int n) const override { return 2.0 * n; }
  void run(braid::Communicator& comm, const void* send, void* recv, const perf::Shape& s, braid::DataType type,
           const braid::Reduction& op, int, braid::Stream stream) const override {
    comm.allReduce(send, recv, s.count, type, op, stream);
  }
  void input(const perf::CheckContext& c, void* send) const override {
    perf::fillReduceInput(c.spec, c.rank, 0, c.shape.count, send);
  }
  void expected(const perf::CheckContext& c, void* want) const override {
    perf::fillReduceExpected(c.spec, 0, c.shape.count, want);
  }
};

}  // namespace

int main(int argc, char** argv) { return perf::benchmarkMain(argc, argv, AllReduce()); }
