// stream_copy: the machine's memory bandwidth, measured as STREAM measures it (copy and
// triad over arrays far larger than the caches, best of several repetitions, bytes
// counted as read + write), with 1, 2, ... threads. perf/compare turns the copy figure
// into the bound that no one-host all-reduce can beat, since every collective here is,
// underneath, loads and stores to the same DRAM.
//
// Also times memcpy over the same arrays: it is what shared-memory transports (Braid's
// shm, Open MPI's vader) copy with, and glibc may use non-temporal stores for large
// copies, which skip the read-for-ownership that the plain loop pays.
//
//   build/perf/baselines/stream_copy -t 1,2 -s 1G -n 10 -J stream.json
#include <unistd.h>

#include "core/byte_size.h"

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <getopt.h>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

enum Kernel { kCopy, kTriad, kMemcpy, kNumKernels };
const char* const kKernelNames[kNumKernels] = {"copy", "triad", "memcpy"};
// Arrays each kernel touches per element: copy and memcpy read one and write one; triad
// reads two and writes one. STREAM counts exactly these, not the extra read that a
// write-allocate cache does for every stored line.
const int kArraysTouched[kNumKernels] = {2, 3, 2};

// The plain loops are kept out of line (so their stores into the caller's arrays cannot
// be dropped as dead) and must not become calls to memcpy: the copy
// figure is meant to be ordinary vector loads and stores (CMake builds this file with
// -fno-tree-loop-distribute-patterns under GCC for that).
__attribute__((noinline)) void copyKernel(double* __restrict c, const double* __restrict a, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) c[i] = a[i];
}

__attribute__((noinline)) void triadKernel(double* __restrict a, const double* __restrict b,
                                           const double* __restrict c, double q, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) a[i] = b[i] + q * c[i];
}

struct Stats {
  double best = 0, median = 0, worst = 0;  // GB/s
};

Stats summarize(std::vector<double> rates) {
  std::sort(rates.begin(), rates.end());
  Stats s;
  if (rates.empty()) return s;
  s.worst = rates.front();
  s.best = rates.back();
  const std::size_t m = rates.size() / 2;
  s.median = rates.size() % 2 ? rates[m] : 0.5 * (rates[m - 1] + rates[m]);
  return s;
}

// Runs every kernel `reps` times with `threads` threads, each thread on its own slice of
// the arrays. Returns GB/s per kernel per repetition.
std::vector<std::vector<double>> measure(int threads, std::size_t elements, int reps) {
  const std::size_t bytes = elements * sizeof(double);
  // Page-aligned, allocated but not touched here: each thread faults in its own slice
  // below, so the pages land on its NUMA node, as STREAM's OpenMP first touch does.
  auto alloc = [&] {
    void* p = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    if (!p) {
      std::fprintf(stderr, "stream_copy: cannot allocate %zu bytes\n", bytes);
      std::exit(1);
    }
    return std::unique_ptr<double, decltype(&std::free)>(static_cast<double*>(p), &std::free);
  };
  auto a = alloc(), b = alloc(), c = alloc();

  std::vector<std::vector<double>> rates(kNumKernels);
  std::barrier sync(threads);
  Clock::time_point start;
  auto worker = [&](int t) {
    const std::size_t lo = elements * t / threads, hi = elements * (t + 1) / threads, n = hi - lo;
    double *pa = a.get() + lo, *pb = b.get() + lo, *pc = c.get() + lo;
    for (std::size_t i = 0; i < n; ++i) {
      pa[i] = 1.0;
      pb[i] = 2.0;
      pc[i] = 0.0;
    }
    for (int r = 0; r < reps; ++r) {
      for (int k = 0; k < kNumKernels; ++k) {
        // Everyone starts together and the clock stops when the last one is done: the
        // rate is the machine's, not one fast thread's.
        sync.arrive_and_wait();
        if (t == 0) start = Clock::now();
        sync.arrive_and_wait();
        if (k == kCopy) copyKernel(pc, pa, n);
        else if (k == kTriad) triadKernel(pa, pb, pc, 3.0, n);
        else std::memcpy(pb, pc, n * sizeof(double));
        sync.arrive_and_wait();
        if (t == 0) {
          const double sec = std::chrono::duration<double>(Clock::now() - start).count();
          rates[k].push_back(sec > 0 ? static_cast<double>(kArraysTouched[k]) * bytes / sec / 1e9 : 0);
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& th : pool) th.join();

  return rates;
}

}  // namespace

int main(int argc, char** argv) {
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  const long llc = ::sysconf(_SC_LEVEL3_CACHE_SIZE) > 0 ? ::sysconf(_SC_LEVEL3_CACHE_SIZE) : 0;
  // STREAM's rule is arrays of at least four times the last-level cache. Virtual machines
  // often report an L3 that is not there (this project's report ~500 MiB while the rate
  // drops to DRAM's past 32 MiB arrays), so the default is a fixed 256 MiB per array:
  // beyond any real per-socket cache of a small VM, quick to fault in, and -s overrides.
  std::size_t arrayBytes = 256u << 20;
  int reps = 10;
  std::vector<int> threadCounts;
  std::string json;
  static const option longOpts[] = {{"size", required_argument, nullptr, 's'},
                                    {"ntimes", required_argument, nullptr, 'n'},
                                    {"threads", required_argument, nullptr, 't'},
                                    {"json", required_argument, nullptr, 'J'},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  for (int c; (c = getopt_long(argc, argv, "s:n:t:J:h", longOpts, nullptr)) != -1;) {
    switch (c) {
      case 's':
        if (const auto bytes = braid::parseByteSize(optarg); bytes && *bytes > 0) {
          arrayBytes = *bytes;
        } else {
          std::fprintf(stderr, "stream_copy: bad size '%s'\n", optarg);
          return 2;
        }
        break;
      case 'n':
        reps = std::atoi(optarg);
        if (reps < 1) {
          std::fprintf(stderr, "stream_copy: -n must be >= 1\n");
          return 2;
        }
        break;
      case 't': {
        threadCounts.clear();
        for (char* p = optarg; *p;) {
          char* end = nullptr;
          long t = std::strtol(p, &end, 10);
          if (end == p || t < 1 || t > 1024) {
            std::fprintf(stderr, "stream_copy: bad thread list '%s'\n", optarg);
            return 2;
          }
          threadCounts.push_back(static_cast<int>(t));
          p = *end == ',' ? end + 1 : end;
          if (*end && *end != ',') {
            std::fprintf(stderr, "stream_copy: bad thread list '%s'\n", optarg);
            return 2;
          }
        }
        break;
      }
      case 'J': json = optarg; break;
      case 'h':
        std::printf(
            "usage: %s [-s BYTES per array] [-n REPS] [-t 1,2,...] [-J FILE]\n"
            "  STREAM copy (c=a), triad (a=b+q*c) and memcpy; GB/s = bytes read + written / time.\n"
            "  Defaults: -s 256M, -n 10, -t 1,2,..,online CPUs.\n",
            argv[0]);
        return 0;
      default: return 2;
    }
  }
  if (threadCounts.empty())
    for (int t = 1; t <= std::max<long>(1, cpus); ++t) threadCounts.push_back(t);

  const std::size_t elements = arrayBytes / sizeof(double);
  std::printf("# stream_copy: %zu MiB per array, %d reps, L3 reported %ld KiB, %ld online CPUs\n",
              (elements * sizeof(double)) >> 20, reps, llc >> 10, cpus);
  std::printf("# GB/s (1e9 B/s), bytes counted read + write as STREAM does: copy/memcpy 16 B, triad 24 B per element\n");
  std::printf("# %7s  %8s  %10s  %10s  %10s\n", "threads", "kernel", "best", "median", "worst");

  std::string rows;
  for (int threads : threadCounts) {
    auto rates = measure(threads, elements, reps);
    for (int k = 0; k < kNumKernels; ++k) {
      const Stats s = summarize(rates[k]);
      std::printf("  %7d  %8s  %10.2f  %10.2f  %10.2f\n", threads, kKernelNames[k], s.best, s.median, s.worst);
      char row[256];
      std::snprintf(row, sizeof row,
                    "%s\n    {\"threads\": %d, \"kernel\": \"%s\", \"best_GBps\": %.6g, \"median_GBps\": %.6g, "
                    "\"worst_GBps\": %.6g}",
                    rows.empty() ? "" : ",", threads, kKernelNames[k], s.best, s.median, s.worst);
      rows += row;
    }
    std::fflush(stdout);
  }
  if (!json.empty()) {
    std::FILE* f = std::fopen(json.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "stream_copy: cannot write %s\n", json.c_str());
      return 1;
    }
    std::fprintf(f,
                 "{\n  \"tool\": \"stream_copy\",\n  \"array_bytes\": %zu,\n  \"reps\": %d,\n  \"l3_bytes\": %ld,\n"
                 "  \"cpus\": %ld,\n  \"bytes_counted\": \"read + write (STREAM): copy and memcpy 2 x 8 B, triad 3 x 8 B "
                 "per element\",\n  \"results\": [%s\n  ]\n}\n",
                 elements * sizeof(double), reps, llc, cpus, rows.c_str());
    if (std::fclose(f) != 0) return 1;
  }
  return 0;
}
