// Run under braidrun: a job in which one rank misbehaves, for tests that read what
// every rank was told. Each rank writes DIR/result.<rank> (lines "key: text") and exits
// 0, so that braidrun lets the others finish.
//   skip DIR       the last rank skips the second all-reduce (alive, idle) and waits,
//                  bounded, until it hears in the background that the others failed
//   idle-exit DIR  rank 1 ends its process right after the first all-reduce without
//                  destroying its communicator; the others wait (bounded) until
//                  asyncError() names it, then time abort() with that dead peer
//   mismatch DIR   rank 1 calls all-gather as its second collective, the others all-reduce
#include <braid/braid.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::string kindName(braid::ErrorKind k) {
  switch (k) {
    case braid::ErrorKind::Timeout: return "TimeoutError";
    case braid::ErrorKind::Remote: return "RemoteError";
    case braid::ErrorKind::Aborted: return "AbortedError";
    default: return "other error";
  }
}

std::string describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const braid::Error& err) {
    return kindName(err.kind()) + ": " + err.what();
  } catch (const std::exception& err) {
    return std::string("std::exception: ") + err.what();
  }
}

// Bounded: polls for a background error for at most `limit`.
std::exception_ptr waitForAsyncError(const braid::Communicator& c, std::chrono::seconds limit) {
  const auto until = Clock::now() + limit;
  while (!c.asyncError() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return c.asyncError();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fault_job skip|idle-exit|mismatch DIR\n");
    return 2;
  }
  const std::string scenario = argv[1], dir = argv[2];
  std::string result;
  int rank = -1;
  try {
    braid::Communicator comm = braid::Communicator::fromEnvironment();
    rank = comm.rank();
    std::vector<float> a(1024, 1.0f), b(a.size());
    comm.allReduce(a.data(), b.data(), a.size(), braid::DataType::Float32, braid::ReduceOp::Sum);
    if (scenario == "skip" && rank == comm.size() - 1) {
      auto e = waitForAsyncError(comm, std::chrono::seconds(30));
      result = "async: " + (e ? describe(e) : "none");
    } else if (scenario == "skip") {
      try {
        comm.allReduce(a.data(), b.data(), a.size(), braid::DataType::Float32, braid::ReduceOp::Sum);
        result = "call: no error";
      } catch (...) {
        result = "call: " + describe(std::current_exception());
      }
    } else if (scenario == "mismatch") {
      std::vector<float> all(a.size() * static_cast<std::size_t>(comm.size()));
      try {
        if (rank == 1) comm.allGather(a.data(), all.data(), a.size(), braid::DataType::Float32);
        else comm.allReduce(a.data(), b.data(), a.size(), braid::DataType::Float32, braid::ReduceOp::Sum);
        result = "call: no error";
      } catch (...) {
        result = "call: " + describe(std::current_exception());
      }
    } else if (scenario == "idle-exit" && rank == 1) {
      ::_exit(0);  // no destructor: to its peers this is a process that died
    } else if (scenario == "idle-exit") {
      auto e = waitForAsyncError(comm, std::chrono::seconds(10));
      result = "async: " + (e ? describe(e) : "none") + "\n";
      auto t0 = Clock::now();
      comm.abort();
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
      result += "abort-ms: " + std::to_string(ms) + "\n";
      try {
        comm.allReduce(a.data(), b.data(), a.size(), braid::DataType::Float32, braid::ReduceOp::Sum);
        result += "after-abort: no error";
      } catch (...) {
        result += "after-abort: " + describe(std::current_exception());
      }
    } else {
      result = "unknown scenario " + scenario;
    }
  } catch (...) {
    result = "setup: " + describe(std::current_exception());
  }
  const std::string name = dir + "/result." + std::to_string(rank < 0 ? 99 : rank);
  std::ofstream(name + ".tmp") << result << "\n";
  std::rename((name + ".tmp").c_str(), name.c_str());
  return 0;
}
