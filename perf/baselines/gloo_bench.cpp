// gloo_bench: Gloo's ring all-reduce and its all-gather over Gloo's TCP transport, on
// float32, over an nccl-tests size sweep, timed as mpi_coll_bench times MPI. Gloo is what
// PyTorch's CPU process group runs on, so it is the TCP baseline that users know.
//
// Started as N processes by braidrun (BRAID_RANK / BRAID_SIZE; mpirun's OMPI_COMM_WORLD_*
// work too); the ranks meet through a Gloo FileStore in a directory under /tmp named
// after BRAID_UNIQUE_ID, which braidrun makes unique per job.
//
//   build/tools/braidrun -n 2 build/perf/baselines/gloo_bench -b 1M -e 256M -f 16 -J out.json
#include "sweep.h"

#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/config.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/transport/tcp/attr.h>
#include <gloo/transport/tcp/device.h>

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace {

using baseline::Coll;
using Clock = std::chrono::steady_clock;

int envInt(std::initializer_list<const char*> names, int fallback) {
  for (const char* name : names)
    if (const char* v = std::getenv(name); v && *v) return std::atoi(v);
  return fallback;
}

// braidrun's unique id is a long hex string; a short hash of it names the directory.
std::string storeDirFor(const char* uniqueId) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a: tiny and good enough for a name
  for (const char* p = uniqueId; *p; ++p) h = (h ^ static_cast<unsigned char>(*p)) * 1099511628211ull;
  char name[64];
  std::snprintf(name, sizeof name, "/tmp/braid-gloo-%016" PRIx64, h);
  return name;
}

class Bench {
 public:
  Bench(std::shared_ptr<gloo::Context> ctx) : ctx_(std::move(ctx)) {}

  void barrier() {
    gloo::BarrierOptions opts(ctx_);
    opts.setTag(nextTag());
    gloo::barrier(opts);
  }

  // Sum of one double over the ranks: the per-rank times and wrong counts.
  double sumOverRanks(double v) {
    double in = v, out = 0;
    gloo::AllreduceOptions opts(ctx_);
    opts.setInput(&in, 1);
    opts.setOutput(&out, 1);
    opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, std::size_t)>(&gloo::sum<double>));
    opts.setTag(nextTag());
    gloo::allreduce(opts);
    return out;
  }

  baseline::Result run(Coll c, std::size_t requested, const baseline::SweepOptions& o) {
    const int rank = ctx_->rank, n = ctx_->size;
    const baseline::Shape s = baseline::shapeFor(c, requested, n);
    std::vector<float> send(s.sendCount ? s.sendCount : 1), recv(s.recvCount ? s.recvCount : 1, 0.0f);
    for (std::size_t i = 0; i < s.sendCount; ++i) send[i] = baseline::inputValue(rank, i);

    // The options (and the buffers they register with the transport) are built once per
    // size and reused by every call, as a framework that caches them would; building them
    // per call would charge Gloo for setup that nccl-tests does not charge NCCL for.
    std::unique_ptr<gloo::AllreduceOptions> ar;
    std::unique_ptr<gloo::AllgatherOptions> ag;
    if (c == Coll::AllReduce) {
      ar = std::make_unique<gloo::AllreduceOptions>(ctx_);
      ar->setAlgorithm(gloo::AllreduceOptions::Algorithm::RING);
      ar->setInput(send.data(), s.sendCount);
      ar->setOutput(recv.data(), s.recvCount);
      ar->setReduceFunction(static_cast<void (*)(void*, const void*, const void*, std::size_t)>(&gloo::sum<float>));
      ar->setTag(nextTag());
    } else {
      ag = std::make_unique<gloo::AllgatherOptions>(ctx_);
      ag->setInput(send.data(), s.sendCount);
      ag->setOutput(recv.data(), s.recvCount);
      ag->setTag(nextTag());
    }
    auto call = [&] {
      if (ar) gloo::allreduce(*ar);
      else gloo::allgather(*ag);
    };

    baseline::Result r;
    r.coll = c;
    r.shape = s;
    if (o.check) {
      call();
      long long wrong = 0;
      for (std::size_t i = 0; i < s.recvCount; ++i) {
        float want = 0;
        if (c == Coll::AllReduce)
          for (int q = 0; q < n; ++q) want += baseline::inputValue(q, i);
        else
          want = baseline::inputValue(static_cast<int>(i / s.chunk), i % s.chunk);
        if (recv[i] != want) ++wrong;
      }
      r.wrong = static_cast<long long>(sumOverRanks(static_cast<double>(wrong)));
      r.checked = true;
    }
    for (int i = 0; i < o.warmupIters; ++i) call();
    barrier();
    const auto t0 = Clock::now();
    for (int i = 0; i < o.iters; ++i) call();
    const double perCall = std::chrono::duration<double>(Clock::now() - t0).count() / o.iters;
    const double sec = sumOverRanks(perCall) / n;
    r.timeUs = sec * 1e6;
    r.algBw = sec > 0 ? static_cast<double>(s.bytes) / sec / 1e9 : 0;
    r.busBw = r.algBw * baseline::busFactor(c, n);
    return r;
  }

 private:
  // Distinct tags keep one operation's messages from matching another's receive.
  std::uint32_t nextTag() { return tag_++; }

  std::shared_ptr<gloo::Context> ctx_;
  std::uint32_t tag_ = 1;
};

}  // namespace

int main(int argc, char** argv) {
  const int rank = envInt({"BRAID_RANK", "OMPI_COMM_WORLD_RANK"}, -1);
  const int size = envInt({"BRAID_SIZE", "OMPI_COMM_WORLD_SIZE"}, -1);
  baseline::SweepOptions o = baseline::parseSweep(
      argc, argv, rank < 0 ? 0 : rank, {"store", "host"},
      "      --store DIR         FileStore directory for the rendezvous (default /tmp/braid-gloo-<hash of\n"
      "                          BRAID_UNIQUE_ID>; must be fresh for every job)\n"
      "      --host ADDR         address Gloo's TCP device binds (default 127.0.0.1: one host)\n"
      "  collectives: all_reduce (ring) and all_gather; Gloo has no reduce-scatter in this API\n");
  if (rank < 0 || size < 1 || rank >= size) {
    std::fprintf(stderr, "gloo_bench: no rank/size in the environment; start it with braidrun -n N\n");
    return 2;
  }
  if (o.colls.empty()) o.colls = {Coll::AllReduce, Coll::AllGather};
  for (Coll c : o.colls)
    if (c == Coll::ReduceScatter) {
      if (rank == 0) std::fprintf(stderr, "gloo_bench: reduce_scatter is not measured for Gloo\n");
      return 2;
    }

  std::string storeDir;
  if (o.extra.count("store")) {
    storeDir = o.extra["store"];
  } else if (const char* id = std::getenv("BRAID_UNIQUE_ID"); id && *id) {
    storeDir = storeDirFor(id);
  } else {
    std::fprintf(stderr, "gloo_bench: no BRAID_UNIQUE_ID; pass --store DIR (a fresh directory per job)\n");
    return 2;
  }
  const std::string host = o.extra.count("host") ? o.extra["host"] : "127.0.0.1";

  int status = 0;
  try {
    // Every rank creates the directory; whoever is second finds it there.
    if (::mkdir(storeDir.c_str(), 0700) != 0 && errno != EEXIST)
      throw std::runtime_error("cannot create " + storeDir + ": " + std::strerror(errno));
    gloo::rendezvous::FileStore store(storeDir);
    gloo::transport::tcp::attr attr;
    attr.hostname = host;
    auto device = gloo::transport::tcp::CreateDevice(attr);
    auto ctx = std::make_shared<gloo::rendezvous::Context>(rank, size);
    // The default of 30 s is short for a 256 MiB all-gather on a busy two-core machine.
    ctx->setTimeout(std::chrono::seconds(300));
    ctx->connectFullMesh(store, device);

    Bench bench(ctx);
    baseline::RunInfo info{"gloo_bench",
                           "Gloo " + std::to_string(GLOO_VERSION_MAJOR) + "." + std::to_string(GLOO_VERSION_MINOR) +
                               "." + std::to_string(GLOO_VERSION_PATCH),
                           "gloo-tcp", size};
    if (rank == 0) baseline::printTableHeader(stdout, "gloo_bench: " + info.library + " tcp " + host, o, size);
    std::vector<baseline::Result> rows;
    for (Coll c : o.colls)
      for (std::size_t bytes : baseline::sweepSizes(o)) {
        rows.push_back(bench.run(c, bytes, o));
        if (rows.back().wrong) status = 1;
        if (rank == 0) baseline::printRow(stdout, rows.back());
      }
    // Everyone is done with the store once this returns; then it can go.
    bench.barrier();
    if (rank == 0) {
      long long wrong = 0;
      for (const auto& r : rows) wrong += r.wrong;
      std::printf("# Out of bounds values : %lld %s\n", wrong, wrong ? "FAILED" : "OK");
      std::error_code ec;
      std::filesystem::remove_all(storeDir, ec);
      if (!o.jsonPath.empty() && !baseline::writeJson(o.jsonPath, info, o, rows)) {
        std::fprintf(stderr, "gloo_bench: cannot write %s\n", o.jsonPath.c_str());
        status = 1;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gloo_bench: rank %d: %s\n", rank, e.what());
    return 1;
  }
  return status;
}
