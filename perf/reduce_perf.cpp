// reduce_perf: the root ends with the reduction of all ranks' buffers.
#include "common/runner.h"

namespace {

class Reduce : public perf::Collective {
 public:
  const char* name() const override { return "reduce_perf"; }
  bool reduces() const override { return true; }
  bool rooted() const override { return true; }
  perf::Shape shape(std::size_t elements, int) const override { return {elements, elements, elements, 0, 0}; }
  // Each rank's link carries the data once along the chain to the root.
  double busFactor(int) const override { return 1.0; }
  double memoryTraffic(int n) const override { return n + 1.0; }
  void run(braid::Communicator& comm, const void* send, void* recv, const perf::Shape& s, braid::DataType type,
           const braid::Reduction& op, int root, braid::Stream stream) const override {
    comm.reduce(send, recv, s.count, type, op, root, stream);
  }
  void input(const perf::CheckContext& c, void* send) const override {
    perf::fillReduceInput(c.spec, c.rank, 0, c.shape.count, send);
  }
  void expected(const perf::CheckContext& c, void* want) const override {
    perf::fillReduceExpected(c.spec, 0, c.shape.count, want);
  }
  // Braid promises that the other ranks' recv is not touched: the check holds it to that.
  bool leavesRecv(const perf::CheckContext& c) const override { return c.rank != c.root; }
};

}  // namespace

int main(int argc, char** argv) { return perf::benchmarkMain(argc, argv, Reduce()); }
