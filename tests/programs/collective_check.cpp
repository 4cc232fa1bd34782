// Run under braidrun: every collective x datatype x op x size, in and out of place,
// checked element by element against values computed independently on each rank.
// Exits non-zero (and names the first mismatches) if anything is wrong.
#include "core/byte_size.h"
#include <braid/braid.h>

#include "algorithms/collective.h"
#include "expected_values.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace braid;
using braid::testing::expectedReduction;
using braid::testing::inputValue;
using braid::testing::store;

namespace {

struct Options {
  std::vector<std::size_t> sizes{0, 1, 7, 1031, 4099};
  std::size_t large = 0;  // bytes; when set, each case also runs once at this size (out of place)
  bool allTypes = true;
  int posedHosts = 0;  // when set, ranks pose as this many hosts (contiguous blocks of ranks)
};

// Gives this rank a host id of its block, so that one machine looks like several hosts
// to the topology (hierarchical plans) and to the transports (shm only within a block).
void poseAsHost(int hosts) {
  const char* rank = std::getenv("BRAID_RANK");
  const char* size = std::getenv("BRAID_SIZE");
  if (!rank || !size) return;
  int host = std::atoi(rank) * hosts / std::atoi(size);
  setenv("BRAID_HOST_ID", ("posed-host-" + std::to_string(host)).c_str(), 1);
}

struct Checker {
  Communicator& comm;
  long checks = 0, failures = 0;

  void report(const std::string& what, std::size_t i, const void* got, const void* want, std::size_t elem) {
    if (++failures > 10) return;
    std::uint64_t g = 0, w = 0;
    std::memcpy(&g, got, elem);
    std::memcpy(&w, want, elem);
    std::fprintf(stderr, "rank %d: %s: element %zu is 0x%llx, expected 0x%llx\n", comm.rank(), what.c_str(), i,
                 static_cast<unsigned long long>(g), static_cast<unsigned long long>(w));
  }

  // Compares `n` elements; `want(i, out)` writes the expected element i.
  template <class F>
  void compare(const std::string& what, const unsigned char* got, std::size_t n, DataType t, F want) {
    const std::size_t e = sizeOf(t);
    unsigned char w[8];
    ++checks;
    for (std::size_t i = 0; i < n; ++i) {
      want(i, w);
      if (std::memcmp(got + i * e, w, e) != 0) {
        report(what, i, got + i * e, w, e);
        return;
      }
    }
  }

  // Expected reductions of one (type, op, seed), computed once per period of the inputs
  // and only as far as the largest index asked for.
  std::vector<unsigned char> table{};
  std::size_t tableKey = ~std::size_t{0}, tableFilled = 0;
  const unsigned char* reduction(DataType t, ReduceOp op, std::size_t globalIndex, unsigned seed) {
    const std::size_t e = sizeOf(t), key = seed * 1000 + static_cast<std::size_t>(t) * 10 + static_cast<std::size_t>(op);
    const std::size_t i = globalIndex % braid::testing::kPeriod;
    if (tableKey != key) {
      table.assign(braid::testing::kPeriod * e, 0);
      tableKey = key;
      tableFilled = 0;
    }
    for (; tableFilled <= i; ++tableFilled) expectedReduction(t, op, comm.size(), tableFilled, seed, &table[tableFilled * e]);
    return &table[i * e];
  }

  // Inputs of every rank for one (type, op, seed), one period each, computed lazily.
  std::vector<std::vector<unsigned char>> inputs{};
  std::size_t inputsKey = ~std::size_t{0};
  const unsigned char* input(DataType t, ReduceOp op, int rank, std::size_t index, unsigned seed) {
    const std::size_t e = sizeOf(t), key = seed * 1000 + static_cast<std::size_t>(t) * 10 + static_cast<std::size_t>(op);
    if (inputsKey != key) {
      inputs.assign(static_cast<std::size_t>(comm.size()), {});
      inputsKey = key;
    }
    auto& v = inputs[static_cast<std::size_t>(rank)];
    const std::size_t i = index % braid::testing::kPeriod;
    for (std::size_t k = v.size() / e; k <= i; ++k) {
      v.resize((k + 1) * e);
      store(t, inputValue(t, op, rank, k, seed), &v[k * e]);
    }
    return &v[i * e];
  }

  void fill(std::vector<unsigned char>& buf, DataType t, ReduceOp op, int rank, std::size_t n, std::size_t from, unsigned seed) {
    const std::size_t e = sizeOf(t);
    for (std::size_t i = 0; i < n; ++i) std::memcpy(buf.data() + i * e, input(t, op, rank, from + i, seed), e);
  }

  void run(Collective coll, DataType t, ReduceOp op, std::size_t count, bool inPlace, unsigned seed) {
    const int n = comm.size(), r = comm.rank(), root = n > 1 ? 1 : 0;
    const std::size_t e = sizeOf(t), N = static_cast<std::size_t>(n);
    Reduction red = op;
    if (op == ReduceOp::PreMulSum) {
      unsigned char s[8];
      store(t, braid::testing::preMulScalar(t), s);
      red = Reduction::preMulSum(s, t);
    }
    std::string what = std::string(braid::toString(t)) + " " + std::string(braid::toString(op)) + " count " +
                       std::to_string(count) + (inPlace ? " in-place " : " ");
    // Copies below use std::copy: at count 0 `in` is empty and in.data() may be null,
    // which memcpy may not be given even for zero bytes.
    std::vector<unsigned char> in, out;
    auto guard = [&](std::vector<unsigned char>& v, std::size_t bytes) { v.assign(bytes + 16, 0xA5); };
    switch (coll) {
      case Collective::AllReduce: {
        what = "allReduce " + what;
        guard(out, count * e);
        in.resize(count * e);
        fill(in, t, op, r, count, 0, seed);
        if (inPlace) std::copy(in.begin(), in.end(), out.begin());
        comm.allReduce(inPlace ? out.data() : in.data(), out.data(), count, t, red);
        compare(what, out.data(), count, t, [&](std::size_t i, void* w) { std::memcpy(w, reduction(t, op, i, seed), e); });
        break;
      }
      case Collective::Reduce: {
        what = "reduce " + what;
        guard(out, count * e);
        in.resize(count * e);
        fill(in, t, op, r, count, 0, seed);
        if (inPlace) std::copy(in.begin(), in.end(), out.begin());
        comm.reduce(inPlace ? out.data() : in.data(), out.data(), count, t, red, root);
        if (r == root)
          compare(what, out.data(), count, t, [&](std::size_t i, void* w) { std::memcpy(w, reduction(t, op, i, seed), e); });
        else if (!inPlace)
          compare(what + "(non-root recv untouched)", out.data(), count, t, [&](std::size_t, void* w) { std::memset(w, 0xA5, e); });
        break;
      }
      case Collective::ReduceScatter: {
        what = "reduceScatter " + what;
        in.resize(count * N * e);
        fill(in, t, op, r, count * N, 0, seed);
        unsigned char* recv;
        if (inPlace) {
          out = in;
          out.resize(out.size() + 16, 0xA5);
          recv = out.data() + static_cast<std::size_t>(r) * count * e;
          comm.reduceScatter(out.data(), recv, count, t, red);
        } else {
          guard(out, count * e);
          recv = out.data();
          comm.reduceScatter(in.data(), recv, count, t, red);
        }
        compare(what, recv, count, t, [&](std::size_t i, void* w) { std::memcpy(w, reduction(t, op, r * count + i, seed), e); });
        break;
      }
      case Collective::AllGather: {
        what = "allGather " + what;
        guard(out, count * N * e);
        in.resize(count * e);
        fill(in, t, ReduceOp::Sum, r, count, 0, seed);
        unsigned char* send = in.data();
        if (inPlace) {
          send = out.data() + static_cast<std::size_t>(r) * count * e;
          std::copy(in.begin(), in.end(), send);
        }
        comm.allGather(send, out.data(), count, t);
        compare(what, out.data(), count * N, t, [&](std::size_t i, void* w) {
          std::memcpy(w, input(t, ReduceOp::Sum, static_cast<int>(i / count), i % count, seed), e);
        });
        break;
      }
      case Collective::Broadcast: {
        what = "broadcast " + what;
        guard(out, count * e);
        in.resize(count * e);
        fill(in, t, ReduceOp::Sum, r, count, 0, seed);
        if (inPlace && r == root) std::copy(in.begin(), in.end(), out.begin());
        comm.broadcast(inPlace ? out.data() : in.data(), out.data(), count, t, root);
        compare(what, out.data(), count, t, [&](std::size_t i, void* w) { std::memcpy(w, input(t, ReduceOp::Sum, root, i, seed), e); });
        break;
      }
      case Collective::AllToAll: {
        what = "allToAll " + what;
        guard(out, count * N * e);
        in.resize(count * N * e);
        fill(in, t, ReduceOp::Sum, r, count * N, 0, seed);
        if (inPlace) std::copy(in.begin(), in.end(), out.begin());
        comm.allToAll(inPlace ? out.data() : in.data(), out.data(), count, t);
        compare(what, out.data(), count * N, t, [&](std::size_t i, void* w) {
          std::memcpy(w, input(t, ReduceOp::Sum, static_cast<int>(i / count), r * count + i % count, seed), e);
        });
        break;
      }
    }
    // The bytes after the result must be untouched.
    std::size_t resultBytes = (coll == Collective::AllGather || coll == Collective::AllToAll ? count * N : count) * e;
    if (coll == Collective::ReduceScatter && inPlace) resultBytes = count * N * e;
    if (!(coll == Collective::Reduce && r != root && inPlace))
      compare(what + "(guard after the buffer)", out.data() + resultBytes, 16, DataType::Uint8,
              [&](std::size_t, void* w) { std::memset(w, 0xA5, 1); });
  }

  void pointToPoint(std::size_t count, unsigned seed) {
    // A ring of grouped send/recv (deadlocks unless the group runs them together).
    const int n = comm.size(), r = comm.rank();
    const DataType t = DataType::Int32;
    std::vector<unsigned char> in(count * 4), out(count * 4 + 16, 0xA5);
    fill(in, t, ReduceOp::Sum, r, count, 0, seed);
    comm.groupStart();
    comm.send(in.data(), count, t, (r + 1) % n);
    comm.recv(out.data(), count, t, (r + n - 1) % n);
    comm.groupEnd();
    compare("grouped send/recv ring count " + std::to_string(count), out.data(), count, t,
            [&](std::size_t i, void* w) { store(t, inputValue(t, ReduceOp::Sum, (r + n - 1) % n, i, seed), w); });
  }
};

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--large" && i + 1 < argc && parseByteSize(argv[i + 1])) opt.large = *parseByteSize(argv[++i]);
    else if (a == "--quick") opt.allTypes = false;
    else if (a == "--hosts" && i + 1 < argc) opt.posedHosts = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: collective_check [--large BYTES] [--quick] [--hosts N]\n");
      return 2;
    }
  }
  if (opt.posedHosts > 0) poseAsHost(opt.posedHosts);
  try {
    Communicator comm = Communicator::fromEnvironment();
    Checker c{comm};
    const Collective colls[] = {Collective::AllReduce, Collective::ReduceScatter, Collective::Reduce,
                                Collective::AllGather, Collective::Broadcast, Collective::AllToAll};
    unsigned seed = 1;
    for (Collective coll : colls) {
      bool reduces = coll == Collective::AllReduce || coll == Collective::ReduceScatter || coll == Collective::Reduce;
      for (int ti = 0; ti < kNumDataTypes; ++ti) {
        auto t = static_cast<DataType>(ti);
        if (!opt.allTypes && t != DataType::Float32 && t != DataType::Bfloat16 && t != DataType::Int8) continue;
        for (int oi = 0; oi < (reduces ? kNumReduceOps : 1); ++oi) {
          auto op = static_cast<ReduceOp>(oi);
          for (std::size_t count : opt.sizes)
            for (bool inPlace : {false, true}) c.run(coll, t, op, count, inPlace, ++seed);
          if (opt.large) c.run(coll, t, op, opt.large / sizeOf(t), false, ++seed);
        }
      }
    }
    for (std::size_t count : opt.sizes) c.pointToPoint(count, ++seed);
    comm.barrier();
    std::printf("rank %d: %ld checks, %ld failed\n", comm.rank(), c.checks, c.failures);
    return c.failures ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "collective_check: %s\n", e.what());
    return 3;
  }
}
