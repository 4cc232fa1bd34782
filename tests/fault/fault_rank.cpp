// One rank of a fault test, started by test_killed_rank with the launcher variables
// set: runs one large collective in a loop until it fails, reports on a pipe, and then
// stays alive until released, so that the other survivors' errors cannot owe anything
// to this process exiting.
//
//   fault_rank COLLECTIVE COUNT STATUS_FD RELEASE_FD
//
// COLLECTIVE is allreduce, allgather, reducescatter or broadcast (root 0). Lines on
// STATUS_FD, each written with one write() shorter than PIPE_BUF so they never mix:
//   ready <rank> <pid>                                  after the first call succeeded
//   error <rank> <steady ns> <peer> <host>\t<message>   when a call failed
// The steady clock is CLOCK_MONOTONIC, the same in every process of the machine.
#include <braid/braid.h>

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace {

void writeLine(int fd, std::string line) {
  // Keep it atomic: a pipe write of at most PIPE_BUF bytes is never interleaved.
  if (line.size() > 3800) line.resize(3800);
  for (char& c : line)
    if (c == '\n') c = ' ';
  line += '\n';
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::_Exit(3);
}

// Runs until the launcher closes its end (or a minute passes: never outlive the test).
void waitForRelease(int fd) {
  pollfd p{fd, POLLIN, 0};
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < limit) {
    if (::poll(&p, 1, 1000) > 0) {
      char c;
      if (::read(fd, &c, 1) <= 0) return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: fault_rank COLLECTIVE COUNT STATUS_FD RELEASE_FD\n");
    return 2;
  }
  const std::string collective = argv[1];
  const std::size_t count = std::strtoull(argv[2], nullptr, 10);
  const int statusFd = std::atoi(argv[3]), releaseFd = std::atoi(argv[4]);
  int rank = -1;
  // Outside the try: a failed communicator must stay alive (its connections open) while
  // this rank waits, or its peers could learn of the failure from its closed sockets.
  std::optional<braid::Communicator> keep;
  try {
    braid::Communicator& comm = keep.emplace(braid::Communicator::fromEnvironment());
    rank = comm.rank();
    const std::size_t n = static_cast<std::size_t>(comm.size());
    std::vector<float> in(count * n, 1.0f), out(count * n);
    const auto f32 = braid::DataType::Float32;
    std::function<void()> call;
    if (collective == "allreduce")
      call = [&] { comm.allReduce(in.data(), out.data(), count, f32, braid::ReduceOp::Sum); };
    else if (collective == "allgather")
      call = [&] { comm.allGather(in.data(), out.data(), count, f32); };
    else if (collective == "reducescatter")
      call = [&] { comm.reduceScatter(in.data(), out.data(), count, f32, braid::ReduceOp::Sum); };
    else if (collective == "broadcast")
      call = [&] { comm.broadcast(in.data(), out.data(), count, f32, 0); };
    else {
      std::fprintf(stderr, "fault_rank: unknown collective %s\n", collective.c_str());
      return 2;
    }
    call();
    writeLine(statusFd, "ready " + std::to_string(rank) + " " + std::to_string(getpid()));
    for (;;) call();
  } catch (const braid::Error& e) {
    const auto at = std::chrono::steady_clock::now().time_since_epoch();
    const long long ns = std::chrono::duration_cast<std::chrono::nanoseconds>(at).count();
    std::fprintf(stderr, "fault_rank %d: %s\n", rank, e.what());
    writeLine(statusFd, "error " + std::to_string(rank) + " " + std::to_string(ns) + " " +
                            std::to_string(e.context().peer) + " " +
                            (e.context().host.empty() ? "-" : e.context().host) + "\t" + e.what());
  } catch (const std::exception& e) {
    writeLine(statusFd, "error " + std::to_string(rank) + " 0 -1 -\t" + e.what());
  }
  waitForRelease(releaseFd);
  std::fflush(stderr);
  std::_Exit(0);  // the error is the result; tearing down a broken job is not under test here
}
