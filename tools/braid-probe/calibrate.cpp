#include "calibrate.h"

#include "calibrate_algorithms.h"

#include "core/host_identity.h"
#include "reduce/reduce.h"
#include "topology/topology.h"
#include "topology/tuning_file.h"

#include <braid/communicator.h>
#include <braid/error.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace probe {
namespace {

constexpr std::size_t kSmallBytes = 8, kLargeBytes = 4 << 20, kReduceBytes = 16 << 20;
constexpr int kSmallRoundTrips = 200, kLargeRoundTrips = 20, kReduceRepeats = 10, kWarmup = 5;

double nowUs() {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median round trip between ranks 0 and 1 of `bytes`, in microseconds (rank 1 echoes).
double medianRoundTripUs(braid::Communicator& comm, std::size_t bytes, int roundTrips) {
  std::vector<unsigned char> buf(bytes, 1);
  std::vector<double> times;
  const int peer = 1 - comm.rank();
  for (int i = 0; i < kWarmup + roundTrips; ++i) {
    const double start = nowUs();
    if (comm.rank() == 0) {
      comm.send(buf.data(), bytes, braid::DataType::Uint8, peer);
      comm.recv(buf.data(), bytes, braid::DataType::Uint8, peer);
    } else {
      comm.recv(buf.data(), bytes, braid::DataType::Uint8, peer);
      comm.send(buf.data(), bytes, braid::DataType::Uint8, peer);
    }
    if (i >= kWarmup) times.push_back(nowUs() - start);
  }
  return median(times);
}

// Float32 sum through the same kernel the executor reduces with, one input consumed
// per element, as CostModel::reduceGBps counts.
double reduceGBps() {
  const std::size_t count = kReduceBytes / sizeof(float);
  std::vector<float> a(count, 1.0f), b(count, 2.0f);
  const braid::reduce::BinaryFn sum = braid::reduce::binary(braid::DataType::Float32, braid::ReduceOp::Sum);
  std::vector<double> times;
  for (int i = 0; i < kWarmup + kReduceRepeats; ++i) {
    const double start = nowUs();
    sum(a.data(), a.data(), b.data(), count);
    if (i >= kWarmup) times.push_back(nowUs() - start);
  }
  return static_cast<double>(kReduceBytes) / (median(times) * 1e3);
}

// Where a rank runs, exchanged so that rank 0 can name the link it measured and count
// the hosts of the job.
struct Where {
  char hostId[128];
  int package, numa;
};

struct JobShape {
  braid::LinkClass link01;  // between ranks 0 and 1, where the link costs are measured
  int nodes;
};

JobShape jobShape(braid::Communicator& comm) {
  Where mine{};
  std::strncpy(mine.hostId, braid::hostIdentity().c_str(), sizeof mine.hostId - 1);
  const braid::RankPlacement p = braid::placementOfThisProcess();
  mine.package = p.package;
  mine.numa = p.numa;
  std::vector<Where> all(static_cast<std::size_t>(comm.size()));
  comm.allGather(&mine, all.data(), sizeof(Where), braid::DataType::Uint8);
  std::set<std::string> hosts;
  for (const Where& w : all) hosts.emplace(w.hostId, strnlen(w.hostId, sizeof w.hostId));
  auto placement = [&](int r) {
    const bool sameHost = std::strncmp(all[0].hostId, all[static_cast<std::size_t>(r)].hostId, sizeof mine.hostId) == 0;
    return braid::RankPlacement{sameHost ? 0 : 1, all[static_cast<std::size_t>(r)].package,
                                all[static_cast<std::size_t>(r)].numa};
  };
  return {braid::linkBetween(placement(0), placement(1)), static_cast<int>(hosts.size())};
}

// What an earlier calibration measured for jobs of other shapes, kept so that one file
// can serve several rank counts.
std::vector<braid::MeasuredTime> otherShapes(const std::string& file, int ranks, int nodes) {
  std::vector<braid::MeasuredTime> kept;
  try {
    for (const braid::MeasuredTime& m : braid::loadTuning(file).measured)
      if (m.ranks != ranks || m.nodes != nodes) kept.push_back(m);
  } catch (const braid::Error&) {
    // No file yet, or not a tuning file: nothing to keep.
  }
  return kept;
}

}  // namespace

void calibrate(const std::string& tuningFile) {
  // BRAID_RANK is braidrun's launcher variable, not a setting: Env does not own it.
  if (!std::getenv("BRAID_RANK"))
    throw braid::InvalidArgument("--calibrate " + tuningFile +
                                 ": needs two or more ranks; run it as 'braidrun -n N braid-probe --calibrate " +
                                 tuningFile + "' with N the rank count of the jobs to tune");
  braid::Communicator comm = braid::Communicator::fromEnvironment();
  if (comm.size() < 2)
    throw braid::InvalidArgument("--calibrate " + tuningFile + ": needs two or more ranks, started with " +
                                 std::to_string(comm.size()) + " (braidrun -n N, N >= 2)");
  const JobShape shape = jobShape(comm);
  // Link costs between ranks 0 and 1 only; the others wait, so nothing competes.
  double latencyUs = 0, largeOneWayUs = 0;
  if (comm.rank() < 2) {
    latencyUs = medianRoundTripUs(comm, kSmallBytes, kSmallRoundTrips) / 2;
    largeOneWayUs = medianRoundTripUs(comm, kLargeBytes, kLargeRoundTrips) / 2;
  }
  comm.barrier();
  const std::vector<braid::MeasuredTime> measured = measureAlgorithms(comm, shape.nodes);
  if (comm.rank() != 0) {
    comm.barrier();  // while rank 0 measures the reduction and writes the file
    return;
  }
  const double reduce = reduceGBps();
  // The model's message time is latency + bytes / bandwidth: take the latency out.
  const double gbPerSec = static_cast<double>(kLargeBytes) / (std::max(largeOneWayUs - latencyUs, 1e-3) * 1e3);

  braid::Tuning tuning;
  tuning.model = braid::costModelFor(braid::linkSpeedsOf(braid::currentTopology()));
  tuning.model.links[static_cast<std::size_t>(shape.link01)] = {latencyUs, gbPerSec};
  tuning.model.reduceGBps = reduce;
  tuning.measured = otherShapes(tuningFile, comm.size(), shape.nodes);
  tuning.measured.insert(tuning.measured.end(), measured.begin(), measured.end());
  braid::saveTuning(tuningFile, tuning);
  comm.barrier();
  std::printf("calibrated between rank 0 and rank 1 over %s (link class %s):\n", comm.transportTo(1),
              braid::toString(shape.link01));
  std::printf("  latency    %.2f us one way (median of %d round trips of %zu bytes)\n", latencyUs, kSmallRoundTrips,
              kSmallBytes);
  std::printf("  bandwidth  %.2f GB/s (median of %d round trips of %zu MiB)\n", gbPerSec, kLargeRoundTrips,
              kLargeBytes >> 20);
  std::printf("  reduction  %.2f GB/s (float32 sum, %s kernel, %zu MiB)\n", reduce, braid::reduce::isaName(),
              kReduceBytes >> 20);
  std::printf("algorithms timed on this job: %d ranks on %d host(s)\n", comm.size(), shape.nodes);
  printMeasured(measured);
  std::printf("wrote %s; other link classes keep costModelFor(this machine)\n", tuningFile.c_str());
}

}  // namespace probe
