// sendrecv_perf: in one group, each rank sends to rank+1 and receives from rank-1 (a
// ring shift), so every link carries one buffer in each direction at once.
#include "common/runner.h"

namespace {

int next(int rank, int n) { return (rank + 1) % n; }
int prev(int rank, int n) { return (rank + n - 1) % n; }

class SendRecv : public perf::Collective {
 public:
  const char* name() const override { return "sendrecv_perf"; }
  perf::Shape shape(std::size_t elements, int) const override { return {elements, elements, elements, 0, 0}; }
  double busFactor(int) const override { return 1.0; }
  double memoryTraffic(int n) const override { return 2.0 * n; }
  void run(braid::Communicator& comm, const void* send, void* recv, const perf::Shape& s, braid::DataType type,
           const braid::Reduction&, int, braid::Stream stream) const override {
    // Grouped, so that the ring of blocking sends cannot deadlock.
    comm.groupStart();
    comm.send(send, s.count, type, next(comm.rank(), comm.size()), stream);
    comm.recv(recv, s.count, type, prev(comm.rank(), comm.size()), stream);
    comm.groupEnd();
  }
  // In place (nccl-tests' layout: send and recv the same buffer) is checked too:
  // Braid sends the buffer's old contents (it stages a send that a receive overwrites).
  void input(const perf::CheckContext& c, void* send) const override {
    perf::fillPattern(c.spec, c.rank, 0, c.shape.count, send);
  }
  void expected(const perf::CheckContext& c, void* want) const override {
    perf::fillPattern(c.spec, prev(c.rank, c.spec.nranks), 0, c.shape.count, want);
  }
};

}  // namespace

int main(int argc, char** argv) { return perf::benchmarkMain(argc, argv, SendRecv()); }
