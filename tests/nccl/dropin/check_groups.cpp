// Group semantics through the NCCL API: point-to-point rings that only complete when
// the sends and receives of a group run together (one rank sends to itself on a ring
// of one), the same inside nested groups, a lone ncclSend/ncclRecv pair, and three
// different collectives fused into one group.
#include "checks.h"

namespace dropin {
namespace {

const size_t kCounts[] = {0, 1, 7, 1031};
// Offsets into the pattern, so that data sent each way differs.
constexpr size_t kRightwards = 0;
constexpr size_t kLeftwards = 1 << 20;

void fillPattern(void* destination, size_t bytes, int rank, size_t firstByte) {
  unsigned char* out = static_cast<unsigned char*>(destination);
  for (size_t i = 0; i < bytes; ++i) out[i] = patternByte(rank, firstByte + i);
}

// Each rank sends to both neighbours and receives from both, all in one group. On two
// ranks both neighbours are the same peer, and on one rank the peer is the rank itself:
// NCCL matches sends and receives between a pair in the order they were issued, so the
// rightward send always lands in the receive from the left.
void ring(const RankContext& ctx, const TypeInfo& type, size_t count, bool nested) {
  const std::string what = describeCall("grouped ncclSend/ncclRecv ring %s count %zu%s", type.name, count,
                                        nested ? " (nested groups)" : "");
  const int right = (ctx.rank + 1) % ctx.nranks;
  const int left = (ctx.rank + ctx.nranks - 1) % ctx.nranks;
  const size_t bytes = count * type.size;
  GuardedBuffer toRight(type, count), toLeft(type, count), fromLeft(type, count), fromRight(type, count);
  fillPattern(toRight.data(), bytes, ctx.rank, kRightwards);
  fillPattern(toLeft.data(), bytes, ctx.rank, kLeftwards);

  requireSuccess(ncclGroupStart(), "ncclGroupStart", ctx.comm);
  if (nested) requireSuccess(ncclGroupStart(), "nested ncclGroupStart", ctx.comm);
  requireSuccess(ncclSend(toRight.data(), count, type.type, right, ctx.comm, nullptr), what.c_str(), ctx.comm);
  requireSuccess(ncclSend(toLeft.data(), count, type.type, left, ctx.comm, nullptr), what.c_str(), ctx.comm);
  if (nested) requireSuccess(ncclGroupEnd(), "nested ncclGroupEnd", ctx.comm);
  requireSuccess(ncclRecv(fromLeft.data(), count, type.type, left, ctx.comm, nullptr), what.c_str(), ctx.comm);
  requireSuccess(ncclRecv(fromRight.data(), count, type.type, right, ctx.comm, nullptr), what.c_str(), ctx.comm);
  requireSuccess(ncclGroupEnd(), what.c_str(), ctx.comm);

  checkBytes(fromLeft.data(), bytes, what + " (from the left)",
             [&](size_t i) { return patternByte(left, kRightwards + i); });
  checkBytes(fromRight.data(), bytes, what + " (from the right)",
             [&](size_t i) { return patternByte(right, kLeftwards + i); });
  for (const GuardedBuffer* buffer : {&toRight, &toLeft, &fromLeft, &fromRight}) buffer->checkGuard(what);
}

// Rank 0 sends to rank 1 outside any group; a single send meets a single receive.
void lonePair(const RankContext& ctx) {
  if (ctx.nranks < 2 || ctx.rank > 1) return;
  const TypeInfo& type = typeInfo(ncclInt32);
  const size_t count = 257;
  GuardedBuffer buffer(type, count);
  if (ctx.rank == 0) {
    fillPattern(buffer.data(), count * type.size, 0, 0);
    requireSuccess(ncclSend(buffer.data(), count, type.type, 1, ctx.comm, nullptr), "ungrouped ncclSend", ctx.comm);
  } else {
    requireSuccess(ncclRecv(buffer.data(), count, type.type, 0, ctx.comm, nullptr), "ungrouped ncclRecv", ctx.comm);
    checkBytes(buffer.data(), count * type.size, "ungrouped ncclSend -> ncclRecv",
               [&](size_t i) { return patternByte(0, i); });
  }
  buffer.checkGuard("ungrouped send/recv");
}

// An all-reduce, an all-gather and a broadcast issued inside one group: each must
// finish with its own exact result when ncclGroupEnd returns.
void fusedCollectives(const RankContext& ctx) {
  const TypeInfo& int64 = typeInfo(ncclInt64);
  const TypeInfo& float64 = typeInfo(ncclFloat64);
  const TypeInfo& uint8 = typeInfo(ncclUint8);
  const size_t count = 5;
  const int root = ctx.nranks - 1;
  GuardedBuffer sumIn(int64, count), sumOut(int64, count);
  GuardedBuffer gatherIn(float64, count), gatherOut(float64, count * ctx.nranks);
  GuardedBuffer broadcastBuffer(uint8, count);
  for (size_t i = 0; i < count; ++i) store(int64, sumIn.data(), i, fromInteger(int64, ctx.rank + 1 + i));
  fillPattern(gatherIn.data(), count * float64.size, ctx.rank, 0);
  fillPattern(broadcastBuffer.data(), count, ctx.rank, 0);

  requireSuccess(ncclGroupStart(), "ncclGroupStart (fused collectives)", ctx.comm);
  requireSuccess(ncclAllReduce(sumIn.data(), sumOut.data(), count, ncclInt64, ncclSum, ctx.comm, nullptr),
                 "ncclAllReduce in a group", ctx.comm);
  requireSuccess(ncclAllGather(gatherIn.data(), gatherOut.data(), count, ncclFloat64, ctx.comm, nullptr),
                 "ncclAllGather in a group", ctx.comm);
  requireSuccess(ncclBroadcast(broadcastBuffer.data(), broadcastBuffer.data(), count, ncclUint8, root, ctx.comm,
                               nullptr),
                 "ncclBroadcast in a group", ctx.comm);
  requireSuccess(ncclGroupEnd(), "ncclGroupEnd (fused collectives)", ctx.comm);

  const int64_t n = ctx.nranks;
  checkElements(int64, sumOut.data(), count, "fused group: ncclAllReduce int64 sum", [&](size_t i) {
    return fromInteger(int64, static_cast<uint64_t>(n * (n + 1) / 2 + n * static_cast<int64_t>(i)));
  });
  const size_t blockBytes = count * float64.size;
  checkBytes(gatherOut.data(), blockBytes * ctx.nranks, "fused group: ncclAllGather float64",
             [&](size_t i) { return patternByte(static_cast<int>(i / blockBytes), i % blockBytes); });
  checkBytes(broadcastBuffer.data(), count, "fused group: ncclBroadcast uint8",
             [&](size_t i) { return patternByte(root, i); });
}

}  // namespace

void checkGroups(const RankContext& ctx) {
  for (const TypeInfo& type : allTypes())
    for (size_t count : kCounts) ring(ctx, type, count, false);
  ring(ctx, typeInfo(ncclFloat32), 1031, true);
  ring(ctx, typeInfo(ncclUint8), (size_t{1} << 20) + 1, false);
  lonePair(ctx);
  fusedCollectives(ctx);
}

}  // namespace dropin
