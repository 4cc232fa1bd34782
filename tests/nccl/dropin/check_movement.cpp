// The collectives that move data without reducing it, for every data type (whose size
// sets the byte counts), compared byte for byte against patternByte(): all-gather,
// broadcast and ncclBcast from every root, all-to-all, gather and scatter to and from
// every root; in place where NCCL defines an in-place layout.
#include "checks.h"

namespace dropin {
namespace {

const size_t kCounts[] = {0, 1, 7, 1031};
constexpr size_t kLargeCount = (size_t{1} << 18) + 3;

const char* placement(bool inPlace) { return inPlace ? "in-place" : "out-of-place"; }

// Writes rank `rank`'s pattern, bytes [firstByte, firstByte + bytes), at `destination`.
void fillPattern(void* destination, size_t bytes, int rank, size_t firstByte = 0) {
  unsigned char* out = static_cast<unsigned char*>(destination);
  for (size_t i = 0; i < bytes; ++i) out[i] = patternByte(rank, firstByte + i);
}

// In place, rank r's contribution already sits at block r of the receive buffer.
void allGather(const RankContext& ctx, const TypeInfo& type, size_t count, bool inPlace) {
  const std::string what = describeCall("ncclAllGather %s sendcount %zu %s", type.name, count, placement(inPlace));
  const size_t blockBytes = count * type.size;
  GuardedBuffer send(type, count), recv(type, count * ctx.nranks);
  void* in = inPlace ? recv.element(ctx.rank * count) : send.data();
  fillPattern(in, blockBytes, ctx.rank);
  requireSuccess(ncclAllGather(in, recv.data(), count, type.type, ctx.comm, nullptr), what.c_str(), ctx.comm);
  checkBytes(recv.data(), blockBytes * ctx.nranks, what,
             [&](size_t i) { return patternByte(static_cast<int>(i / blockBytes), i % blockBytes); });
  send.checkGuard(what);
  recv.checkGuard(what);
}

void broadcast(const RankContext& ctx, const TypeInfo& type, size_t count, int root, bool inPlace) {
  const std::string what =
      describeCall("ncclBroadcast %s count %zu root %d %s", type.name, count, root, placement(inPlace));
  GuardedBuffer send(type, count), recv(type, count);
  fillPattern(send.data(), count * type.size, ctx.rank);
  void* out = inPlace ? send.data() : recv.data();
  requireSuccess(ncclBroadcast(send.data(), out, count, type.type, root, ctx.comm, nullptr), what.c_str(), ctx.comm);
  checkBytes(out, count * type.size, what, [&](size_t i) { return patternByte(root, i); });
  if (!inPlace) checkBytes(send.data(), count * type.size, what + " (send buffer changed)",
                           [&](size_t i) { return patternByte(ctx.rank, i); });
  send.checkGuard(what);
  recv.checkGuard(what);
}

void bcast(const RankContext& ctx, const TypeInfo& type, size_t count, int root) {
  const std::string what = describeCall("ncclBcast %s count %zu root %d", type.name, count, root);
  GuardedBuffer buffer(type, count);
  fillPattern(buffer.data(), count * type.size, ctx.rank);
  requireSuccess(ncclBcast(buffer.data(), count, type.type, root, ctx.comm, nullptr), what.c_str(), ctx.comm);
  checkBytes(buffer.data(), count * type.size, what, [&](size_t i) { return patternByte(root, i); });
  buffer.checkGuard(what);
}

// Block j of rank r's send buffer goes to rank j, and lands at block r there.
void allToAll(const RankContext& ctx, const TypeInfo& type, size_t count) {
  const std::string what = describeCall("ncclAlltoAll %s count %zu", type.name, count);
  const size_t blockBytes = count * type.size;
  GuardedBuffer send(type, count * ctx.nranks), recv(type, count * ctx.nranks);
  fillPattern(send.data(), blockBytes * ctx.nranks, ctx.rank);
  requireSuccess(ncclAlltoAll(send.data(), recv.data(), count, type.type, ctx.comm, nullptr), what.c_str(), ctx.comm);
  checkBytes(recv.data(), blockBytes * ctx.nranks, what, [&](size_t i) {
    const size_t source = i / blockBytes;
    return patternByte(static_cast<int>(source), ctx.rank * blockBytes + i % blockBytes);
  });
  send.checkGuard(what);
  recv.checkGuard(what);
}

#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 28, 0)
// Ranks other than the root pass a null receive buffer; in place, the root's own
// block already sits at block `root` of its receive buffer.
void gather(const RankContext& ctx, const TypeInfo& type, size_t count, int root, bool inPlace) {
  const std::string what =
      describeCall("ncclGather %s count %zu root %d %s", type.name, count, root, placement(inPlace));
  const size_t blockBytes = count * type.size;
  GuardedBuffer send(type, count), recv(type, count * ctx.nranks);
  const bool isRoot = ctx.rank == root;
  void* in = inPlace && isRoot ? recv.element(root * count) : send.data();
  fillPattern(in, blockBytes, ctx.rank);
  requireSuccess(ncclGather(in, isRoot ? recv.data() : nullptr, count, type.type, root, ctx.comm, nullptr),
                 what.c_str(), ctx.comm);
  if (isRoot)
    checkBytes(recv.data(), blockBytes * ctx.nranks, what,
               [&](size_t i) { return patternByte(static_cast<int>(i / blockBytes), i % blockBytes); });
  send.checkGuard(what);
  recv.checkGuard(what);
}

// Block j of the root's send buffer holds patternByte(j, ...), rank j's share. Other
// ranks pass a null send buffer; in place, the root keeps its block where it is.
void scatter(const RankContext& ctx, const TypeInfo& type, size_t count, int root, bool inPlace) {
  const std::string what =
      describeCall("ncclScatter %s count %zu root %d %s", type.name, count, root, placement(inPlace));
  const size_t blockBytes = count * type.size;
  GuardedBuffer send(type, count * ctx.nranks), recv(type, count);
  const bool isRoot = ctx.rank == root;
  if (isRoot)
    for (int j = 0; j < ctx.nranks; ++j) fillPattern(send.element(j * count), blockBytes, j);
  void* out = inPlace && isRoot ? send.element(root * count) : recv.data();
  requireSuccess(ncclScatter(isRoot ? send.data() : nullptr, out, count, type.type, root, ctx.comm, nullptr),
                 what.c_str(), ctx.comm);
  checkBytes(out, blockBytes, what, [&](size_t i) { return patternByte(ctx.rank, i); });
  send.checkGuard(what);
  recv.checkGuard(what);
}
#endif

void checkOneSize(const RankContext& ctx, const TypeInfo& type, size_t count) {
  for (bool inPlace : {false, true}) allGather(ctx, type, count, inPlace);
  allToAll(ctx, type, count);
  for (int root = 0; root < ctx.nranks; ++root) {
    for (bool inPlace : {false, true}) broadcast(ctx, type, count, root, inPlace);
    bcast(ctx, type, count, root);
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 28, 0)
    for (bool inPlace : {false, true}) {
      gather(ctx, type, count, root, inPlace);
      scatter(ctx, type, count, root, inPlace);
    }
#endif
  }
}

}  // namespace

void checkDataMovement(const RankContext& ctx) {
  for (const TypeInfo& type : allTypes())
    for (size_t count : kCounts) checkOneSize(ctx, type, count);
  checkOneSize(ctx, typeInfo(ncclUint8), kLargeCount);
  checkOneSize(ctx, typeInfo(ncclFloat64), kLargeCount);
}

}  // namespace dropin
