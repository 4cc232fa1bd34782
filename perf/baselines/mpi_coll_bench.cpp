// mpi_coll_bench: MPI_Allreduce, MPI_Allgather and MPI_Reduce_scatter_block on float32
// over an nccl-tests size sweep, timed the way nccl-tests times, so that its busbw
// stands next to Braid's. Which of the MPI's transports carries the data is chosen on
// the mpirun command line (e.g. --mca btl self,vader); --label records that choice.
//
//   mpirun -np 2 --mca pml ob1 --mca btl self,vader build/perf/baselines/mpi_coll_bench
//          -b 1M -e 256M -f 16 -n 20 -w 5 -J out.json --label ompi-vader
#include "sweep.h"

#include <mpi.h>

#include <climits>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using baseline::Coll;

int callCollective(Coll c, const float* send, float* recv, const baseline::Shape& s) {
  // The counts are ints in MPI's C API; run() refuses sizes that would not fit.
  switch (c) {
    case Coll::AllReduce:
      return MPI_Allreduce(send, recv, static_cast<int>(s.sendCount), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    case Coll::AllGather:
      return MPI_Allgather(send, static_cast<int>(s.chunk), MPI_FLOAT, recv, static_cast<int>(s.chunk), MPI_FLOAT,
                           MPI_COMM_WORLD);
    case Coll::ReduceScatter:
      return MPI_Reduce_scatter_block(send, recv, static_cast<int>(s.chunk), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  }
  return MPI_ERR_OTHER;
}

// A failed collective leaves the ranks out of step; there is no measurement to save.
void callOrAbort(Coll c, const float* send, float* recv, const baseline::Shape& s) {
  const int rc = callCollective(c, send, recv, s);
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  std::fprintf(stderr, "mpi_coll_bench: %s of %zu B failed: %.*s\n", baseline::collName(c), s.bytes, len, text);
  MPI_Abort(MPI_COMM_WORLD, 1);
}

// Counts the elements of recv that differ from what the collective must produce.
long long countWrong(Coll c, const float* recv, const baseline::Shape& s, int rank, int n) {
  long long wrong = 0;
  for (std::size_t i = 0; i < s.recvCount; ++i) {
    float want = 0;
    if (c == Coll::AllReduce) {
      for (int q = 0; q < n; ++q) want += baseline::inputValue(q, i);
    } else if (c == Coll::AllGather) {
      want = baseline::inputValue(static_cast<int>(i / s.chunk), i % s.chunk);
    } else {
      // Rank r keeps block r of the element-wise sum of every rank's n blocks.
      for (int q = 0; q < n; ++q) want += baseline::inputValue(q, static_cast<std::size_t>(rank) * s.chunk + i);
    }
    if (recv[i] != want) ++wrong;
  }
  return wrong;
}

bool run(Coll c, std::size_t requested, const baseline::SweepOptions& o, int rank, int n, baseline::Result& out) {
  const baseline::Shape s = baseline::shapeFor(c, requested, n);
  if (s.sendCount > INT_MAX || s.recvCount > INT_MAX) return false;
  // Allocated and written per size (first touch by this process, as a real user's
  // buffers would be), not reused across sizes where a larger one would be warm.
  std::vector<float> send(s.sendCount ? s.sendCount : 1), recv(s.recvCount ? s.recvCount : 1, 0.0f);
  for (std::size_t i = 0; i < s.sendCount; ++i) send[i] = baseline::inputValue(rank, i);

  out = {};
  out.coll = c;
  out.shape = s;
  if (o.check) {
    callOrAbort(c, send.data(), recv.data(), s);
    long long mine = countWrong(c, recv.data(), s, rank, n), total = 0;
    MPI_Allreduce(&mine, &total, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    out.wrong = total;
    out.checked = true;
  }
  for (int i = 0; i < o.warmupIters; ++i) callOrAbort(c, send.data(), recv.data(), s);
  // Start together, so that no rank's time includes waiting for a late peer to arrive.
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = MPI_Wtime();
  for (int i = 0; i < o.iters; ++i) callOrAbort(c, send.data(), recv.data(), s);
  const double perCall = (MPI_Wtime() - t0) / o.iters;
  // nccl-tests' default (-a 1): the mean over ranks of each rank's time.
  double sum = 0;
  MPI_Allreduce(&perCall, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  const double sec = sum / n;
  out.timeUs = sec * 1e6;
  out.algBw = sec > 0 ? static_cast<double>(s.bytes) / sec / 1e9 : 0;
  out.busBw = out.algBw * baseline::busFactor(c, n);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, n = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  // Errors should come back as codes we can report rather than abort deep inside MPI.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);

  baseline::SweepOptions o = baseline::parseSweep(
      argc, argv, rank, {"label"},
      "      --label TEXT        what the mpirun command selected (e.g. ompi-vader), kept in the JSON\n");
  if (o.colls.empty()) o.colls = {Coll::AllReduce, Coll::AllGather, Coll::ReduceScatter};

  char version[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  MPI_Get_library_version(version, &len);
  std::string library(version, static_cast<std::size_t>(len));
  if (auto cut = library.find_first_of(",\n"); cut != std::string::npos) library.resize(cut);

  baseline::RunInfo info{"mpi_coll_bench", library, o.extra.count("label") ? o.extra["label"] : "", n};
  if (rank == 0) baseline::printTableHeader(stdout, "mpi_coll_bench: " + library + " " + info.transport, o, n);

  std::vector<baseline::Result> rows;
  int status = 0;
  for (Coll c : o.colls) {
    for (std::size_t size : baseline::sweepSizes(o)) {
      baseline::Result r;
      if (!run(c, size, o, rank, n, r)) {
        if (rank == 0) std::printf("# %s %zu B: count exceeds MPI's int range, skipped\n", baseline::collName(c), size);
        continue;
      }
      if (r.wrong) status = 1;
      rows.push_back(r);
      if (rank == 0) baseline::printRow(stdout, r);
    }
  }
  if (rank == 0) {
    long long wrong = 0;
    for (const auto& r : rows) wrong += r.wrong;
    std::printf("# Out of bounds values : %lld %s\n", wrong, wrong ? "FAILED" : "OK");
    if (!o.jsonPath.empty() && !baseline::writeJson(o.jsonPath, info, o, rows)) {
      std::fprintf(stderr, "mpi_coll_bench: cannot write %s\n", o.jsonPath.c_str());
      status = 1;
    }
  }
  MPI_Finalize();
  return status;
}
