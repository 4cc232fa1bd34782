#include "device_cases.h"

#include "../programs/expected_values.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace braid::gpu_test {
namespace {

using braid::testing::expectedReduction;
using braid::testing::inputValue;

constexpr unsigned char kUntouched = 0xA5;  // what the parts a call must not write hold

bool reduces(CaseOp op) { return op == CaseOp::AllReduce || op == CaseOp::ReduceScatter || op == CaseOp::Reduce; }

const char* opName(CaseOp op) {
  switch (op) {
    case CaseOp::AllReduce: return "allReduce";
    case CaseOp::AllGather: return "allGather";
    case CaseOp::ReduceScatter: return "reduceScatter";
    case CaseOp::Broadcast: return "broadcast";
    case CaseOp::Reduce: return "reduce";
    case CaseOp::AllToAll: return "allToAll";
    case CaseOp::SendRecv: return "send/recv ring";
  }
  return "?";
}

// Where send and recv sit: two buffers, or one in place with NCCL's layouts.
struct Layout {
  std::size_t sendBytes, recvBytes, aBytes, bBytes;
  std::size_t sendOffset, recvOffset;  // in buffer a, or recv in b when not in place
};

Layout layoutOf(const Case& c, int rank, int size) {
  const std::size_t block = c.count * sizeOf(c.type), all = block * static_cast<std::size_t>(size);
  const std::size_t mine = block * static_cast<std::size_t>(rank);
  std::size_t send = block, recv = block;
  if (c.op == CaseOp::AllGather) recv = all;
  if (c.op == CaseOp::ReduceScatter) send = all;
  if (c.op == CaseOp::AllToAll) send = recv = all;
  if (!c.inPlace) return {send, recv, send, recv, 0, 0};
  if (c.op == CaseOp::AllGather) return {send, recv, recv, 0, mine, 0};
  if (c.op == CaseOp::ReduceScatter) return {send, recv, send, 0, 0, mine};
  return {send, recv, send, 0, 0, 0};
}

int rootOf(int size) { return size - 1; }

Reduction reductionOf(const Case& c) {
  if (c.red != ReduceOp::PreMulSum) return c.red;
  unsigned char scalar[8];
  braid::testing::store(c.type, braid::testing::preMulScalar(c.type), scalar);
  return Reduction::preMulSum(scalar, c.type);
}

// Issues the case's call on buffers a and b (host or device) and `stream`.
void issue(Communicator& comm, const Case& c, const Layout& l, unsigned char* a, unsigned char* b, braid::Stream stream) {
  const unsigned char* send = a + l.sendOffset;
  unsigned char* recv = c.inPlace ? a + l.recvOffset : b;
  const int size = comm.size(), rank = comm.rank();
  switch (c.op) {
    case CaseOp::AllReduce: comm.allReduce(send, recv, c.count, c.type, reductionOf(c), stream); break;
    case CaseOp::AllGather: comm.allGather(send, recv, c.count, c.type, stream); break;
    case CaseOp::ReduceScatter: comm.reduceScatter(send, recv, c.count, c.type, reductionOf(c), stream); break;
    case CaseOp::Broadcast: comm.broadcast(send, recv, c.count, c.type, rootOf(size), stream); break;
    case CaseOp::Reduce: comm.reduce(send, recv, c.count, c.type, reductionOf(c), rootOf(size), stream); break;
    case CaseOp::AllToAll: comm.allToAll(send, recv, c.count, c.type, stream); break;
    case CaseOp::SendRecv:
      comm.groupStart();
      comm.send(send, c.count, c.type, (rank + 1) % size, stream);
      comm.recv(recv, c.count, c.type, (rank + size - 1) % size, stream);
      comm.groupEnd();
      break;
  }
}

// The exact bytes the receive region must hold on this rank afterwards.
std::vector<unsigned char> expectedRecv(const Case& c, const Layout& l, int rank, int size, unsigned seed) {
  const std::size_t e = sizeOf(c.type), n = c.count;
  std::vector<unsigned char> out(l.recvBytes, kUntouched);
  auto input = [&](int from, std::size_t i, unsigned char* at) {
    braid::testing::store(c.type, inputValue(c.type, reduces(c.op) ? c.red : ReduceOp::Sum, from, i, seed), at);
  };
  for (std::size_t k = 0; k < l.recvBytes / (e ? e : 1); ++k) {
    unsigned char* at = out.data() + k * e;
    const int block = static_cast<int>(k / (n ? n : 1));
    const std::size_t i = k % (n ? n : 1);
    switch (c.op) {
      case CaseOp::AllReduce: expectedReduction(c.type, c.red, size, k, seed, at); break;
      case CaseOp::ReduceScatter: expectedReduction(c.type, c.red, size, static_cast<std::size_t>(rank) * n + k, seed, at); break;
      case CaseOp::Reduce:
        if (rank == rootOf(size)) expectedReduction(c.type, c.red, size, k, seed, at);
        else if (c.inPlace) input(rank, k, at);  // not written: still this rank's input
        break;
      case CaseOp::AllGather: input(block, i, at); break;
      case CaseOp::Broadcast: input(rootOf(size), k, at); break;
      case CaseOp::AllToAll: input(block, static_cast<std::size_t>(rank) * n + i, at); break;
      case CaseOp::SendRecv: input((rank + size - 1) % size, k, at); break;
    }
  }
  return out;
}

// Index of the first differing element, or -1.
long firstDifference(const unsigned char* x, const unsigned char* y, std::size_t bytes, std::size_t elem) {
  for (std::size_t k = 0; k < bytes; ++k)
    if (x[k] != y[k]) return static_cast<long>(k / elem);
  return -1;
}

}  // namespace

std::string Case::name() const {
  std::string s = std::string(opName(op)) + " " + std::string(toString(type));
  if (reduces(op)) s += " " + std::string(toString(red));
  return s + (inPlace ? " in place" : "") + " count " + std::to_string(count);
}

std::vector<Case> everyCase(std::size_t count) {
  std::vector<Case> cases;
  for (int t = 0; t < kNumDataTypes; ++t) {
    const auto type = static_cast<DataType>(t);
    for (int o = 0; o < kNumReduceOps; ++o)
      for (CaseOp op : {CaseOp::AllReduce, CaseOp::ReduceScatter, CaseOp::Reduce})
        cases.push_back({op, type, static_cast<ReduceOp>(o), false, count});
    for (CaseOp op : {CaseOp::AllGather, CaseOp::Broadcast, CaseOp::AllToAll, CaseOp::SendRecv})
      cases.push_back({op, type, ReduceOp::Sum, false, count});
    for (CaseOp op : {CaseOp::AllReduce, CaseOp::AllGather, CaseOp::ReduceScatter, CaseOp::Broadcast, CaseOp::Reduce,
                      CaseOp::AllToAll})
      cases.push_back({op, type, ReduceOp::Sum, true, count});
  }
  return cases;
}

std::size_t caseBytes(const Case& c, int size) {
  const Layout l = layoutOf(c, 0, size);
  return std::max(l.aBytes, l.bBytes);
}

PinnedBuffer::PinnedBuffer(std::size_t bytes) {
  check(cudaMallocHost(reinterpret_cast<void**>(&data_), bytes == 0 ? 1 : bytes), "cudaMallocHost");
}

PinnedBuffer::~PinnedBuffer() { (void)cudaFreeHost(data_); }

RankDevice::RankDevice(std::size_t bytes)
    : maxBytes(bytes), a(bytes), b(bytes), upA(bytes), upB(bytes), downA(bytes), downB(bytes) {}

void runCase(Communicator& comm, RankDevice& dev, const Case& c, unsigned seed) {
  const int rank = comm.rank(), size = comm.size();
  const Layout l = layoutOf(c, rank, size);
  const std::size_t e = sizeOf(c.type);
  const std::string who = "rank " + std::to_string(rank) + "/" + std::to_string(size) + " " + c.name() + ": ";
  ASSERT_LE(std::max(l.aBytes, l.bBytes), dev.maxBytes) << who;

  // Initial images: the input at the send offset, kUntouched everywhere else.
  std::vector<unsigned char> imageA(l.aBytes, kUntouched), imageB(l.bBytes, kUntouched);
  const ReduceOp inputOp = reduces(c.op) ? c.red : ReduceOp::Sum;
  for (std::size_t k = 0; k < l.sendBytes / e; ++k)
    braid::testing::store(c.type, inputValue(c.type, inputOp, rank, k, seed), imageA.data() + l.sendOffset + k * e);

  // On the GPU: upload, call, download, all on the stream with no host wait between, so
  // the call must read what the upload wrote and the download must see what it wrote.
  cudaStream_t s = dev.stream.get();
  std::copy(imageA.begin(), imageA.end(), dev.upA.get());
  std::copy(imageB.begin(), imageB.end(), dev.upB.get());
  check(cudaMemcpyAsync(dev.a.get(), dev.upA.get(), l.aBytes, cudaMemcpyHostToDevice, s), who + "upload a");
  check(cudaMemcpyAsync(dev.b.get(), dev.upB.get(), l.bBytes, cudaMemcpyHostToDevice, s), who + "upload b");
  try {
    issue(comm, c, l, dev.a.get(), dev.b.get(), s);
  } catch (const std::exception& ex) {
    ADD_FAILURE() << who << "device call threw: " << ex.what();
    return;
  }
  check(cudaMemcpyAsync(dev.downA.get(), dev.a.get(), l.aBytes, cudaMemcpyDeviceToHost, s), who + "download a");
  check(cudaMemcpyAsync(dev.downB.get(), dev.b.get(), l.bBytes, cudaMemcpyDeviceToHost, s), who + "download b");
  waitFor(s, who + "the stream");
  if (auto error = comm.asyncError()) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& ex) {
      ADD_FAILURE() << who << "the communicator broke: " << ex.what();
      return;
    }
  }

  // On the host: the same call on the same images.
  std::vector<unsigned char> hostA = imageA, hostB = imageB;
  issue(comm, c, l, hostA.data(), hostB.data(), nullptr);

  // The receive region: exact, and the same as on the host.
  const unsigned char* devRecv = c.inPlace ? dev.downA.get() + l.recvOffset : dev.downB.get();
  const unsigned char* hostRecv = c.inPlace ? hostA.data() + l.recvOffset : hostB.data();
  const auto expected = expectedRecv(c, l, rank, size, seed);
  long at = firstDifference(devRecv, expected.data(), l.recvBytes, e);
  EXPECT_EQ(at, -1) << who << "device result differs from the expected value at element " << at;
  at = firstDifference(hostRecv, expected.data(), l.recvBytes, e);
  EXPECT_EQ(at, -1) << who << "host result differs from the expected value at element " << at;
  // Everything else the same on both paths: inputs unchanged, untouched parts untouched.
  // (In-place reduce-scatter leaves the rest of the send buffer unspecified.)
  if (!(c.inPlace && c.op == CaseOp::ReduceScatter)) {
    at = firstDifference(dev.downA.get(), hostA.data(), l.aBytes, e);
    EXPECT_EQ(at, -1) << who << "buffer a differs between the device and host paths at element " << at;
  }
  at = firstDifference(dev.downB.get(), hostB.data(), l.bBytes, e);
  EXPECT_EQ(at, -1) << who << "buffer b differs between the device and host paths at element " << at;
}

}  // namespace braid::gpu_test
