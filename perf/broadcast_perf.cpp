// broadcast_perf: every rank ends with the root's buffer.
#include "common/runner.h"

namespace {

class Broadcast : public perf::Collective {
 public:
  const char* name() const override { return "broadcast_perf"; }
  bool rooted() const override { return true; }
  perf::Shape shape(std::size_t elements, int) const override { return {elements, elements, elements, 0, 0}; }
  double busFactor(int) const override { return 1.0; }
  double memoryTraffic(int n) const override { return n + 1.0; }
  void run(braid::Communicator& comm, const void* send, void* recv, const perf::Shape& s, braid::DataType type,
           const braid::Reduction&, int root, braid::Stream stream) const override {
    comm.broadcast(send, recv, s.count, type, root, stream);
  }
  // Only the root's send buffer is read. Elsewhere nothing is written: in place it is
  // the receive buffer, which must keep its poison until the broadcast overwrites it.
  void input(const perf::CheckContext& c, void* send) const override {
    if (c.rank == c.root) perf::fillPattern(c.spec, c.root, 0, c.shape.count, send);
  }
  void expected(const perf::CheckContext& c, void* want) const override {
    perf::fillPattern(c.spec, c.root, 0, c.shape.count, want);
  }
};

}  // namespace

int main(int argc, char** argv) { return perf::benchmarkMain(argc, argv, Broadcast()); }
