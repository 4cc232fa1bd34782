#include "common/runner.h"

#include "common/memory.h"
#include "common/memory_bound.h"
#include "common/options.h"
#include "common/report.h"

#include <sched.h>

#include <braid/error.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace perf {
namespace {

using braid::DataType;
using braid::ReduceOp;

// The CPUs this process may run on: its affinity mask, which a launcher's binding or a
// container's cpuset narrows, not the machine's count.
int cpusOfThisProcess() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

class Bench {
 public:
  Bench(const Collective& coll, const Options& o, braid::Communicator& comm)
      : coll_(coll), o_(o), comm_(comm), rank_(comm.rank()), n_(comm.size()),
        mem_(Memory::choose(o.memory, comm.localRank())), host_(Memory::choose(MemoryChoice::Host, 0)) {
    setFillThreads(cpusOfThisProcess() / std::max(1, comm.localSize()));
    const char* c = std::getenv("PERF_CORRUPT_FOR_TEST");
    corrupt_ = c && *c && std::strcmp(c, "0") != 0;
    bytes_ = std::max<std::size_t>(o.maxBytes, 1);
    send_ = Buffer(*mem_, bytes_);
    recv_ = Buffer(*mem_, bytes_);
    if (o.check > 0) {
      want_ = Buffer(*host_, bytes_);
      if (mem_->onDevice()) {
        hostSend_ = Buffer(*host_, bytes_);
        hostRecv_ = Buffer(*host_, bytes_);
      }
    }
  }

  int run() {
    const auto ranks = gatherRankInfo(comm_, mem_->onDevice() ? mem_->device() : comm_.localRank(), mem_->describe(),
                                      timeCopies());
    if (rank_ == 0) printHeader(stdout, o_, ranks);
    const std::vector<ReduceOp> noOp{ReduceOp::Sum};  // collectives without one run once
    std::vector<int> roots{-1};
    if (coll_.rooted()) {
      roots.clear();
      for (int r = (o_.root < 0 ? 0 : o_.root); r <= (o_.root < 0 ? n_ - 1 : o_.root); ++r) roots.push_back(r);
    }
    for (DataType type : o_.types)
      for (ReduceOp op : coll_.reduces() ? o_.ops : noOp)
        for (int root : roots) sweep(type, op, root);
    const double avgBw = bwCount_ ? bwSum_ / bwCount_ : 0.0;
    int status = failed_ ? 1 : 0;
    if (rank_ == 0) {
      const MemoryBound bound = memoryBound(ranks, coll_.memoryTraffic(n_), coll_.busFactor(n_));
      printFooter(stdout, failed_, avgBw, bound.busBw > 0 ? describeBound(bound, avgBw) : "");
      if (!o_.jsonPath.empty() &&
          !writeJson(o_.jsonPath, coll_.name(), o_, n_, ranks, rows_, failed_, avgBw, bound.busBw)) {
        std::fprintf(stderr, "%s: rank 0: cannot write %s: %s\n", coll_.name(), o_.jsonPath.c_str(), std::strerror(errno));
        status = 1;
      }
    }
    // A launcher stops the other ranks as soon as one exits non-zero; hold everyone
    // until rank 0 has written the whole report, so a failing run is still complete.
    comm_.barrier();
    return status;
  }

 private:
  // Every rank copies at the same time, after a barrier, so that ranks sharing a memory
  // share it as they do in the sweep (memory_bound.h). Large enough to leave the caches
  // (a 32 MiB L3, a 50 MiB L2 on an H100). A memory with no room for the copies leaves
  // the bound out, not the run. The barrier is an all-gather: comm.barrier() is an
  // all-reduce, and the log (BRAID_DEBUG=INFO) would show its algorithm choice in place
  // of the sweep's first.
  CopyWindow timeCopies() {
    const std::size_t bytes = std::size_t{mem_->onDevice() ? 256u : 64u} << 20;
    const unsigned char mine = 0;
    std::vector<unsigned char> all(static_cast<std::size_t>(n_));
    comm_.allGather(&mine, all.data(), 1, DataType::Uint8);
    try {
      return mem_->timeCopies(bytes, mem_->onDevice() ? 20 : 3);
    } catch (const std::exception&) {
      return CopyWindow{};
    }
  }

  struct Ptrs {
    unsigned char* send;
    unsigned char* recv;
  };

  // Successive iterations use successive slices of the buffers (as nccl-tests does),
  // so that one size's timing does not ride on caches warmed by the previous call.
  Ptrs pointers(const Shape& s, std::size_t elem, bool inPlace, int iter) const {
    const std::size_t total = std::max(s.sendCount, s.recvCount) * elem;
    const std::size_t steps = total ? bytes_ / total : 1;
    const std::size_t shift = total * (static_cast<std::size_t>(iter) % std::max<std::size_t>(steps, 1));
    if (!inPlace) return {send_.get() + shift, recv_.get() + shift};
    unsigned char* base = recv_.get() + shift;
    const auto r = static_cast<std::size_t>(rank_);
    return {base + s.sendInPlace * r * elem, base + s.recvInPlace * r * elem};
  }

  void call(const Shape& s, DataType type, const braid::Reduction& red, int root, bool inPlace, int iter) {
    const Ptrs p = pointers(s, braid::sizeOf(type), inPlace, iter);
    coll_.run(comm_, p.send, p.recv, s, type, red, root, mem_->stream());
  }

  // The host copy of a place in send_ or recv_: the place itself for host memory.
  unsigned char* mirrorOf(unsigned char* p) const {
    if (!mem_->onDevice()) return p;
    if (p >= recv_.get() && p < recv_.get() + bytes_) return hostRecv_.get() + (p - recv_.get());
    return hostSend_.get() + (p - send_.get());
  }

  void sweep(DataType type, ReduceOp op, int root) {
    const std::size_t elem = braid::sizeOf(type);
    // Start every type from zeros: the previous type's bits read as this type could be
    // denormals or NaNs, which would slow float reductions and skew the timings.
    mem_->zero(send_.get(), bytes_);
    mem_->zero(recv_.get(), bytes_);
    const braid::Reduction red = makeReduction(type, op);
    for (std::size_t warm : {o_.maxBytes, o_.minBytes}) {
      const Shape s = coll_.shape(warm / elem, n_);
      for (int i = 0; i < o_.warmupIters; ++i) call(s, type, red, root, false, i);
    }
    for (int cycle = 0; o_.runCycles == 0 || cycle < o_.runCycles; ++cycle) {
      for (std::size_t size = o_.minBytes; size <= o_.maxBytes;) {
        const Shape s = coll_.shape(size / elem, n_);
        Row row;
        row.bytes = std::max(s.sendCount, s.recvCount) * elem;
        row.count = s.count;
        row.type = std::string(braid::toString(type));
        row.redop = coll_.reduces() ? opName(op) : "none";
        row.root = coll_.rooted() ? root : -1;
        if (rank_ == 0) printRowStart(stdout, row);
        row.outOfPlace = measure(s, type, op, red, root, false, row.bytes);
        row.inPlace = measure(s, type, op, red, root, true, row.bytes);
        if (rank_ == 0) std::printf("\n");
        rows_.push_back(row);
        if (o_.stepFactor > 1) {
          if (size > o_.maxBytes / o_.stepFactor) break;  // the next size would overflow
          size *= o_.stepFactor;
        } else {
          if (o_.stepBytes == 0 || size > o_.maxBytes - o_.stepBytes) break;
          size += o_.stepBytes;
        }
      }
    }
  }

  Result measure(const Shape& s, DataType type, ReduceOp op, const braid::Reduction& red, int root, bool inPlace,
                 std::size_t bytes) {
    call(s, type, red, root, inPlace, 0);  // untimed: the first call of a size may set up
    mem_->sync();
    comm_.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < o_.iters; ++i) {
      if (o_.aggIters > 1) comm_.groupStart();
      for (int a = 0; a < o_.aggIters; ++a) call(s, type, red, root, inPlace, i * o_.aggIters + a);
      if (o_.aggIters > 1) comm_.groupEnd();
      if (o_.blocking) {
        mem_->sync();
        comm_.barrier();
      }
    }
    mem_->sync();  // device calls return once queued; the time is until their results are in
    const auto t1 = std::chrono::steady_clock::now();
    double sec = std::chrono::duration<double>(t1 - t0).count() / (static_cast<double>(o_.iters) * o_.aggIters);
    sec = combineTimes(sec);
    Result r;
    r.timeUs = sec * 1e6;
    r.algBw = sec > 0 ? static_cast<double>(bytes) / 1e9 / sec : 0.0;
    r.busBw = r.algBw * coll_.busFactor(n_);
    bwSum_ += r.busBw;
    ++bwCount_;
    r.checked = o_.check > 0 && (!inPlace || coll_.checksInPlace());
    for (int c = 0; r.checked && c < o_.check; ++c) {
      r.wrong = checkOnce(s, type, op, red, root, inPlace);
      if (r.wrong) break;
    }
    if (r.wrong) ++failed_;
    if (rank_ == 0) printResult(stdout, r);
    return r;
  }

  // Each rank timed its own loop; -a picks how the ranks' times become one number.
  double combineTimes(double sec) {
    double v = sec;
    switch (o_.average) {
      case 0: comm_.broadcast(&v, &v, 1, DataType::Float64, 0); break;
      case 1:
        comm_.allReduce(&v, &v, 1, DataType::Float64, ReduceOp::Sum);
        v /= n_;
        break;
      case 2: comm_.allReduce(&v, &v, 1, DataType::Float64, ReduceOp::Min); break;
      default: comm_.allReduce(&v, &v, 1, DataType::Float64, ReduceOp::Max); break;
    }
    return v;
  }

  // One run on fresh data (a new seed each time, so results left by an earlier run
  // cannot pass), with every element of the receive area poisoned beforehand.
  // Returns the wrong elements summed over all ranks.
  long long checkOnce(const Shape& s, DataType type, ReduceOp op, const braid::Reduction& red, int root, bool inPlace) {
    const std::size_t elem = braid::sizeOf(type);
    CheckContext c;
    c.spec = DataSpec{type, op, n_, 0x243f6a8885a308d3ULL * (++rep_) + 0x13198a2e03707344ULL};
    c.rank = rank_;
    c.root = root;
    c.shape = s;
    c.inPlace = inPlace;
    const Ptrs p = pointers(s, elem, inPlace, 0);
    unsigned char* hostSend = mirrorOf(p.send);
    unsigned char* hostRecv = mirrorOf(p.recv);
    const std::size_t recvBytes = s.recvCount * elem;
    unsigned char* want = want_.get();
    coll_.expected(c, want);
    fillComplement(want, recvBytes, hostRecv);
    coll_.input(c, hostSend);  // in place, this overwrites part of the poison
    if (coll_.leavesRecv(c)) std::memcpy(want, hostRecv, recvBytes);
    // Send first: in place the areas overlap, and the recv area's mirror holds both.
    mem_->upload(p.send, hostSend, s.sendCount * elem);
    mem_->upload(p.recv, hostRecv, recvBytes);
    coll_.run(comm_, p.send, p.recv, s, type, red, root, mem_->stream());
    mem_->download(hostRecv, p.recv, recvBytes);
    if (corrupt_ && rank_ == 0 && s.recvCount > 0) hostRecv[(s.recvCount / 2) * elem] ^= 0xff;  // the check must see it
    char what[160];
    std::snprintf(what, sizeof what, "%s: rank %d: %s %s %s, %zu B, root %d", coll_.name(), rank_,
                  std::string(braid::toString(type)).c_str(), coll_.reduces() ? opName(op) : "none",
                  inPlace ? "in-place" : "out-of-place", std::max(s.sendCount, s.recvCount) * elem,
                  coll_.rooted() ? root : -1);
    std::uint64_t wrong = countWrong(hostRecv, want, s.recvCount, type, what);
    comm_.allReduce(&wrong, &wrong, 1, DataType::Uint64, ReduceOp::Sum);
    return static_cast<long long>(wrong);
  }

  const Collective& coll_;
  const Options& o_;
  braid::Communicator& comm_;
  int rank_, n_;
  bool corrupt_ = false;
  std::size_t bytes_ = 0;
  std::unique_ptr<Memory> mem_, host_;
  Buffer send_, recv_;               // where the calls run: mem_
  Buffer want_, hostSend_, hostRecv_;  // host: expected results; mirrors of device buffers
  std::vector<Row> rows_;
  int failed_ = 0;
  double bwSum_ = 0;
  long bwCount_ = 0;
  std::uint64_t rep_ = 0;
};

}  // namespace

int benchmarkMain(int argc, char** argv, const Collective& coll) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // rows appear as they complete
  const Options o = parseOptions(argc, argv);
  int rank = launcherRank();
  try {
    // The communicator reads BRAID_TIMEOUT when it is created; -T must be in place first.
    if (o.timeoutSec > 0) ::setenv("BRAID_TIMEOUT", (std::to_string(o.timeoutSec) + "s").c_str(), 1);
    braid::Communicator comm = braid::Communicator::fromEnvironment();
    rank = comm.rank();
    if (coll.rooted() && o.root >= comm.size()) {
      if (rank == 0)
        std::fprintf(stderr, "%s: invalid root %d for %d ranks (try -h)\n", coll.name(), o.root, comm.size());
      return 2;
    }
    Bench bench(coll, o, comm);
    return bench.run();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: rank %d: error: %s\n", coll.name(), rank, e.what());
    return 1;
  }
}

}  // namespace perf
