#include "soak_check.h"

#include "expected_values.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace braid::soak {
namespace {

using braid::testing::expectedReduction;
using braid::testing::inputValue;
using braid::testing::store;

constexpr std::size_t kGuardBytes = 16;
constexpr unsigned char kGuard = 0xA5;

bool isSignedInt(DataType t) { return t == DataType::Int8 || t == DataType::Int32 || t == DataType::Int64; }

// An element as a reader wants it: exact integers (a double cannot hold every 64-bit
// one), floats as values, and always the raw bits.
std::string elementText(DataType t, const unsigned char* at) {
  const std::size_t e = sizeOf(t);
  std::uint64_t bits = 0;
  std::memcpy(&bits, at, e);
  char text[96];
  if (isFloat(t)) {
    std::snprintf(text, sizeof text, "%.9g (0x%llx)", braid::testing::load(t, at), static_cast<unsigned long long>(bits));
  } else if (isSignedInt(t)) {
    const int shift = static_cast<int>(64 - 8 * e);
    const auto value = static_cast<long long>(static_cast<std::int64_t>(bits << shift) >> shift);
    std::snprintf(text, sizeof text, "%lld (0x%llx)", value, static_cast<unsigned long long>(bits));
  } else {
    std::snprintf(text, sizeof text, "%llu (0x%llx)", static_cast<unsigned long long>(bits),
                  static_cast<unsigned long long>(bits));
  }
  return text;
}

}  // namespace

template <class Want>
void CallChecker::expect(const char* region, const unsigned char* got, std::size_t n, std::size_t elemSize, Want want) {
  unsigned char w[8];
  for (std::size_t i = 0; i < n; ++i) {
    want(i, w);
    if (std::memcmp(got + i * elemSize, w, elemSize) == 0) continue;
    // Guard and untouched-buffer checks compare raw bytes, whatever the call's type.
    const DataType shown = elemSize == sizeOf(call_->type) ? call_->type : DataType::Uint8;
    throw Mismatch("rank " + std::to_string(rank_) + ": " + *description_ + ": " + region + " element " +
                   std::to_string(i) + " is " + elementText(shown, got + i * elemSize) + ", expected " +
                   elementText(shown, w));
  }
}

void CallChecker::issue(Communicator& comm, const Call& c, const void* send, void* recv) {
  Reduction red = c.op;
  if (c.op == ReduceOp::PreMulSum) {
    unsigned char scalar[8];
    store(c.type, braid::testing::preMulScalar(c.type), scalar);
    red = Reduction::preMulSum(scalar, c.type);
  }
  switch (c.collective) {
    case Collective::AllReduce:
      if (c.async) comm.allReduceAsync(send, recv, c.count, c.type, red).wait();
      else comm.allReduce(send, recv, c.count, c.type, red);
      break;
    case Collective::AllGather:
      if (c.async) comm.allGatherAsync(send, recv, c.count, c.type).wait();
      else comm.allGather(send, recv, c.count, c.type);
      break;
    case Collective::ReduceScatter:
      if (c.async) comm.reduceScatterAsync(send, recv, c.count, c.type, red).wait();
      else comm.reduceScatter(send, recv, c.count, c.type, red);
      break;
    case Collective::Broadcast: comm.broadcast(send, recv, c.count, c.type, c.root); break;
    case Collective::Reduce: comm.reduce(send, recv, c.count, c.type, red, c.root); break;
    case Collective::AllToAll: comm.allToAll(send, recv, c.count, c.type); break;
  }
}

void CallChecker::run(Communicator& comm, const Call& c, const std::string& description) {
  call_ = &c;
  description_ = &description;
  rank_ = comm.rank();
  const std::size_t e = sizeOf(c.type), n = static_cast<std::size_t>(comm.size()), r = static_cast<std::size_t>(rank_);
  const std::size_t block = c.count * e;
  const std::size_t sendElems = c.collective == Collective::ReduceScatter || c.collective == Collective::AllToAll
                                    ? c.count * n : c.count;
  const std::size_t recvElems = c.collective == Collective::AllGather || c.collective == Collective::AllToAll
                                    ? c.count * n : c.count;
  // Non-reducing collectives move values drawn as for a sum (any bit pattern).
  const ReduceOp valueOp = reduces(c.collective) ? c.op : ReduceOp::Sum;
  auto inputOf = [&](int rank, std::size_t i, void* out) { store(c.type, inputValue(c.type, valueOp, rank, i, c.seed), out); };

  send_.resize(sendElems * e);
  for (std::size_t i = 0; i < sendElems; ++i) inputOf(rank_, i, &send_[i * e]);
  // In-place reduce-scatter reads its input from the receive buffer's allocation.
  const std::size_t recvBytes = (c.inPlace && c.collective == Collective::ReduceScatter ? sendElems : recvElems) * e;
  recv_.assign(recvBytes + kGuardBytes, kGuard);

  unsigned char* recv = recv_.data();
  const unsigned char* send = send_.data();
  if (c.inPlace) {
    switch (c.collective) {
      // copy_n, not memcpy: a count-0 call leaves send_ empty, and memcpy from its null
      // data() is undefined even for 0 bytes (UBSan caught it in the soak).
      case Collective::AllGather: std::copy_n(send_.data(), block, recv + r * block); send = recv + r * block; break;
      case Collective::ReduceScatter: std::copy_n(send_.data(), send_.size(), recv); send = recv; recv += r * block; break;
      default: std::copy_n(send_.data(), send_.size(), recv); send = recv; break;
    }
  } else {
    sendCopy_ = send_;
  }

  issue(comm, c, send, recv);
  if (corrupt_ && c.count > 0) {
    recv[0] ^= 1;
    corrupt_ = false;
  }

  auto reduction = [&](std::size_t globalIndex, void* out) {
    expectedReduction(c.type, c.op, comm.size(), globalIndex, c.seed, out);
  };
  switch (c.collective) {
    case Collective::AllReduce: expect("result", recv, c.count, e, reduction); break;
    case Collective::ReduceScatter:
      expect("result", recv, c.count, e, [&](std::size_t i, void* w) { reduction(r * c.count + i, w); });
      break;
    case Collective::Reduce:
      if (c.root == rank_) expect("result at the root", recv, c.count, e, reduction);
      else if (c.inPlace) expect("non-root's own input (must be untouched)", recv, c.count, e, [&](std::size_t i, void* w) { inputOf(rank_, i, w); });
      else expect("non-root's receive buffer (must be untouched)", recv, block, 1, [](std::size_t, void* w) { std::memset(w, kGuard, 1); });
      break;
    case Collective::Broadcast:
      expect("result", recv, c.count, e, [&](std::size_t i, void* w) { inputOf(c.root, i, w); });
      break;
    case Collective::AllGather:
      expect("result", recv, c.count * n, e, [&](std::size_t i, void* w) { inputOf(static_cast<int>(i / c.count), i % c.count, w); });
      break;
    case Collective::AllToAll:
      expect("result", recv, c.count * n, e, [&](std::size_t i, void* w) {
        inputOf(static_cast<int>(i / c.count), r * c.count + i % c.count, w);
      });
      break;
  }
  expect("guard byte after the receive buffer", recv_.data() + recvBytes, kGuardBytes, 1,
         [](std::size_t, void* w) { std::memset(w, kGuard, 1); });
  if (!c.inPlace)
    expect("send buffer (must be untouched)", send_.data(), send_.size(), 1,
           [&](std::size_t i, void* w) { std::memcpy(w, &sendCopy_[i], 1); });
}

}  // namespace braid::soak
