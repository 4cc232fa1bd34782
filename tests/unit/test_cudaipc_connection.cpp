// The cudaipc connection's protocol (offers, pulls, dones) under the executor, with
// ranks as threads, host memory standing in for GPU memory (a fake DeviceCompute whose
// work completes only when asked twice, as GPU work is not done at once), and an
// in-memory control link. The GPU half runs in tests/gpu.
#include "algorithms/algorithms.h"
#include "algorithms/plan_builder.h"
#include "core/executor.h"
#include "reduce/reduce.h"
#include "transport/cudaipc/cudaipc_connection.h"

#include <braid/error.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace braid {
namespace {

constexpr std::uint64_t kFakeProcess = 7;  // never this process: map() must go through the export

struct Mailbox {
  std::mutex mutex;
  std::deque<std::vector<unsigned char>> messages;
};

// A control link between two threads: a send lands in the peer's mailbox at once.
class Loopback final : public Connection {
 public:
  Loopback(int self, int peer, Mailbox& in, Mailbox& out) : Connection(self, peer, "host-a"), in_(in), out_(out) {}
  void postSend(const void* data, std::size_t bytes) override {
    const auto* p = static_cast<const unsigned char*>(data);
    std::lock_guard<std::mutex> lock(out_.mutex);
    out_.messages.emplace_back(p, p + bytes);
    ++sendsPosted_;  // done at the next progress(), as a real connection's would be
  }
  void postRecv(const RecvTarget& target) override {
    targets_.push_back(target);
    ++recvsPosted_;
  }
  bool progress() override {
    std::lock_guard<std::mutex> lock(in_.mutex);
    bool moved = sendsDone_ != sendsPosted_;
    sendsDone_ = sendsPosted_;
    while (!targets_.empty() && !in_.messages.empty()) {
      const auto& m = in_.messages.front();
      const RecvTarget& t = targets_.front();
      if (m.size() != t.bytes) throw RemoteError("loopback: wrong size", ErrorContext{self_, peer_, "host-a", "loop"});
      if (t.combine) t.combine(t.dst, t.src, m.data(), t.bytes / t.elemSize);
      else std::memcpy(t.dst, m.data(), t.bytes);
      in_.messages.pop_front();
      targets_.pop_front();
      ++recvsDone_;
      moved = true;
    }
    return moved;
  }
  const char* transportName() const override { return "loopback"; }

 private:
  Mailbox& in_;
  Mailbox& out_;
  std::deque<RecvTarget> targets_;
};

class FakeGpu final : public DeviceCompute {
 public:
  void setReduction(DataType type, ReduceOp op) override { combine_ = reduce::binary(type, op); }
  std::uint64_t copy(void* dst, const void* src, std::size_t bytes) override {
    std::memcpy(dst, src, bytes);
    return issue();
  }
  std::uint64_t combine(void* dst, const void* a, const void* b, std::size_t count) override {
    combine_(dst, a, b, count);
    return issue();
  }
  std::uint64_t preMultiply(void*, const void*, std::size_t, const void*) override { return issue(); }
  std::uint64_t finishAvg(void*, std::size_t, std::uint64_t) override { return issue(); }
  bool done(std::uint64_t ticket) override {
    if (ticket <= completed_) return true;
    if (!askedOnce_) return askedOnce_ = true, false;  // still "on the GPU"
    askedOnce_ = false;
    completed_ = ticket;
    return true;
  }
  void wait(std::uint64_t ticket, const Deadline&) override {
    while (!done(ticket)) {
    }
  }
  std::uint64_t last() const override { return issued_; }
  int wakeFd() const override { return -1; }
  void* scratch(int which, std::size_t bytes) override {
    auto& s = scratch_[static_cast<std::size_t>(which)];
    if (s.size() < bytes) s.resize(bytes);
    return s.data();
  }
  ExportedRange exportRange(const void* ptr) override {
    ExportedRange r;
    r.process = kFakeProcess;
    r.address = reinterpret_cast<std::uint64_t>(ptr);
    return r;
  }
  const void* map(const ExportedRange& range) override {
    EXPECT_EQ(range.process, kFakeProcess);
    ++maps;
    return reinterpret_cast<const void*>(range.address);
  }
  int maps = 0;

 private:
  std::uint64_t issue() { return ++issued_; }
  reduce::BinaryFn combine_ = nullptr;
  std::uint64_t issued_ = 0, completed_ = 0;
  bool askedOnce_ = false;
  std::vector<unsigned char> scratch_[2];
};

// N thread ranks, fully connected by loopbacks, each with a cudaipc connection over
// each loopback.
struct Ranks {
  explicit Ranks(int n) : n(n), boxes(static_cast<std::size_t>(n * n)), gpus(static_cast<std::size_t>(n)) {
    control.resize(static_cast<std::size_t>(n));
    ipc.resize(static_cast<std::size_t>(n));
    for (int r = 0; r < n; ++r) {
      control[r].resize(static_cast<std::size_t>(n));
      ipc[r].resize(static_cast<std::size_t>(n));
      for (int p = 0; p < n; ++p) {
        if (p == r) continue;
        control[r][p] = std::make_unique<Loopback>(r, p, box(p, r), box(r, p));
        ipc[r][p] = std::make_unique<CudaIpcConnection>(*control[r][p], gpus[r]);
      }
    }
  }
  Mailbox& box(int from, int to) { return boxes[static_cast<std::size_t>(from * n + to)]; }
  std::vector<Connection*> links(int r, bool device) {
    std::vector<Connection*> out(static_cast<std::size_t>(n), nullptr);
    for (int p = 0; p < n; ++p)
      if (p != r) out[p] = device ? static_cast<Connection*>(ipc[r][p].get()) : control[r][p].get();
    return out;
  }
  void settle(int r) {
    for (int p = 0; p < n; ++p)
      while (p != r && !ipc[r][p]->settle()) {
      }
  }

  int n;
  std::deque<Mailbox> boxes;
  std::deque<FakeGpu> gpus;
  std::vector<std::vector<std::unique_ptr<Loopback>>> control;
  std::vector<std::vector<std::unique_ptr<CudaIpcConnection>>> ipc;
};

Plan planFor(Collective c, int rank, int size, std::size_t count, Algorithm algorithm, int root = 0,
             bool inPlace = false, std::size_t sliceElems = 64) {
  CollectiveShape s;
  s.collective = c;
  s.rank = rank;
  s.size = size;
  s.count = count;
  s.root = root;
  s.algorithm = algorithm;
  s.sliceElems = sliceElems;
  s.inPlace = inPlace;
  return buildPlan(s);
}

// Each rank: an all-reduce on "GPU memory" (ring, then tree), then an all-gather on
// the bare control links, which must find them quiet.
void runRank(Ranks& ranks, int r, std::size_t count, std::vector<std::int32_t>& sum, std::vector<std::int32_t>& gathered) {
  Executor device(r, ranks.links(r, true), nullptr, /*oversubscribed=*/true);
  Executor host(r, ranks.links(r, false), nullptr, /*oversubscribed=*/true);
  std::vector<std::int32_t> in(count);
  for (std::size_t i = 0; i < count; ++i) in[i] = static_cast<std::int32_t>(i * 7 + static_cast<std::size_t>(r) * 1000);
  std::vector<std::int32_t> scratch(count * 4);
  ranks.gpus[r].setReduction(DataType::Int32, ReduceOp::Sum);
  for (Algorithm a : {Algorithm::Ring, Algorithm::Tree}) {
    const Plan plan = planFor(Collective::AllReduce, r, ranks.n, count, a);
    ExecutionBuffers b;
    b.base = {in.data(), sum.data(), ranks.gpus[r].scratch(0, plan.scratchCount * 4)};
    b.elemSize = 4;
    b.combine = reduce::binary(DataType::Int32, ReduceOp::Sum);
    b.device = &ranks.gpus[r];
    device.run(plan, b, Deadline(std::chrono::seconds(30)), "all-reduce");
    ranks.settle(r);
  }
  const Plan gather = planFor(Collective::AllGather, r, ranks.n, count, Algorithm::Ring);
  ExecutionBuffers b;
  b.base = {in.data(), gathered.data(), scratch.data()};
  b.elemSize = 4;
  host.run(gather, b, Deadline(std::chrono::seconds(30)), "all-gather");
}

TEST(CudaIpcConnection, RunsPlansByPullingFromPeersAndLeavesTheControlLinksQuiet) {
  for (int n : {2, 3, 4}) {
    const std::size_t count = 1000;
    Ranks ranks(n);
    std::vector<std::vector<std::int32_t>> sums(n, std::vector<std::int32_t>(count, -1));
    std::vector<std::vector<std::int32_t>> gathered(n, std::vector<std::int32_t>(count * n, -1));
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> errors(n);
    for (int r = 0; r < n; ++r)
      threads.emplace_back([&, r] {
        try {
          runRank(ranks, r, count, sums[r], gathered[r]);
        } catch (...) {
          errors[r] = std::current_exception();
        }
      });
    for (auto& t : threads) t.join();
    for (int r = 0; r < n; ++r) {
      try {
        if (errors[r]) std::rethrow_exception(errors[r]);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "n " << n << " rank " << r << ": " << e.what();
      }
    }
    if (HasFailure()) return;
    for (int r = 0; r < n; ++r) {
      EXPECT_GT(ranks.gpus[r].maps, 0) << "rank " << r << " never read a peer's buffer";
      for (std::size_t i = 0; i < count; ++i) {
        std::int32_t want = 0;
        for (int p = 0; p < n; ++p) want += static_cast<std::int32_t>(i * 7 + static_cast<std::size_t>(p) * 1000);
        ASSERT_EQ(sums[r][i], want) << "n " << n << " rank " << r << " element " << i;
        for (int p = 0; p < n; ++p)
          ASSERT_EQ(gathered[r][static_cast<std::size_t>(p) * count + i], static_cast<std::int32_t>(i * 7 + p * 1000))
              << "n " << n << " rank " << r << " block " << p << " element " << i;
      }
    }
  }
}

// One collective on n thread ranks, over cudaipc (device) or the bare control links
// (host); returns every rank's output buffer. A deadlock under cudaipc's rendezvous
// sends (a send completes only once the peer has read it) ends in TimeoutError.
std::vector<std::vector<std::int32_t>> runOnce(int n, Collective c, Algorithm a, std::size_t count, int root, bool inPlace,
                                               bool device) {
  Ranks ranks(n);
  const std::size_t elems = count * static_cast<std::size_t>(n);  // enough for every collective's buffers
  std::vector<std::vector<std::int32_t>> in(n), out(n, std::vector<std::int32_t>(elems, -1));
  std::vector<std::exception_ptr> errors(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    in[r].resize(elems);
    for (std::size_t i = 0; i < elems; ++i) in[r][i] = static_cast<std::int32_t>(i * 31 + static_cast<std::size_t>(r) * 7919);
    threads.emplace_back([&, r] {
      try {
        const Plan plan = planFor(c, r, n, count, a, root, inPlace, /*sliceElems=*/16);
        // NCCL's in-place layouts, as the staging keeps them: the input inside the output
        // (all-gather at the rank's block, others at 0), or the output inside the input.
        void* input = in[r].data();
        void* output = out[r].data();
        if (inPlace) {
          const std::size_t block = count * static_cast<std::size_t>(r);
          const std::size_t at = c == Collective::AllGather ? block : 0;
          const std::size_t length = c == Collective::ReduceScatter ? elems : count;
          std::copy_n(in[r].begin(), length, out[r].begin() + static_cast<std::ptrdiff_t>(at));
          input = out[r].data() + at;
          if (c == Collective::ReduceScatter) output = out[r].data() + block;
        }
        std::vector<std::int32_t> hostScratch(plan.scratchCount);
        ExecutionBuffers b;
        b.elemSize = 4;
        b.combine = reduce::binary(DataType::Int32, ReduceOp::Sum);
        b.device = device ? &ranks.gpus[r] : nullptr;
        if (device) ranks.gpus[r].setReduction(DataType::Int32, ReduceOp::Sum);
        void* scratch = device ? ranks.gpus[r].scratch(0, plan.scratchCount * 4) : hostScratch.data();
        b.base = {input, output, scratch};
        Executor e(r, ranks.links(r, device), nullptr, /*oversubscribed=*/true);
        e.run(plan, b, Deadline(std::chrono::seconds(20)), toString(c));
        if (device) ranks.settle(r);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < n; ++r)
    if (errors[r]) std::rethrow_exception(errors[r]);
  return out;
}

// Every plan the executor runs, over cudaipc, gives what it gives over a host link.
TEST(CudaIpcConnection, EveryCollectiveAndAlgorithmMatchesTheHostLinks) {
  const Collective all[] = {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
                            Collective::Broadcast, Collective::Reduce,    Collective::AllToAll};
  int runs = 0;
  for (int n : {2, 3, 5})
    for (Collective c : all)
      for (Algorithm a : algorithmsFor(c)) {
        if (a == Algorithm::Hierarchical) continue;  // needs a node layout; the same steps as the others
        for (std::size_t count : {std::size_t{1}, std::size_t{100}})
          for (bool inPlace : {false, true}) {
            if (inPlace && c == Collective::AllToAll) continue;  // NCCL has no in-place all-to-all layout
            const int root = n - 1;
            const std::string what = std::string(toString(c)) + " " + toString(a) + " n " + std::to_string(n) +
                                     " count " + std::to_string(count) + (inPlace ? " in place" : "");
            std::vector<std::vector<std::int32_t>> host, device;
            ASSERT_NO_THROW(host = runOnce(n, c, a, count, root, inPlace, false)) << what;
            try {
              device = runOnce(n, c, a, count, root, inPlace, true);
            } catch (const std::exception& e) {
              FAIL() << what << " over cudaipc: " << e.what();
            }
            ASSERT_EQ(device, host) << what;
            ++runs;
          }
      }
  EXPECT_GT(runs, 80);
}

TEST(CudaIpcConnection, AnOfferOfTheWrongSizeNamesThePeer) {
  Ranks ranks(2);
  std::vector<unsigned char> a(16, 1), b(16, 0);
  std::exception_ptr receiverError;
  std::thread sender([&] {
    PlanBuilder p;
    p.send(1, Region{kInput, 0, 8});
    ExecutionBuffers eb;
    eb.base = {a.data(), nullptr, nullptr};
    eb.device = &ranks.gpus[0];
    Executor e(0, ranks.links(0, true), nullptr, true);
    try {
      e.run(p.finish(), eb, Deadline(std::chrono::milliseconds(500)), "send");
    } catch (const Error&) {
      // never read: the receiver refuses it; the sender times out
    }
  });
  PlanBuilder p;
  p.recv(0, Region{kOutput, 0, 16});
  ExecutionBuffers eb;
  eb.base = {nullptr, b.data(), nullptr};
  eb.device = &ranks.gpus[1];
  Executor e(1, ranks.links(1, true), nullptr, true);
  try {
    e.run(p.finish(), eb, Deadline(std::chrono::seconds(10)), "recv");
    ADD_FAILURE() << "a message of the wrong size was taken";
  } catch (const RemoteError& err) {
    EXPECT_NE(std::string(err.what()).find("rank 0 (host-a) sent a message of 8 bytes where 16 were expected"),
              std::string::npos)
        << err.what();
  }
  sender.join();
  EXPECT_EQ(b, std::vector<unsigned char>(16, 0)) << "the receive buffer was written";
}

}  // namespace
}  // namespace braid
