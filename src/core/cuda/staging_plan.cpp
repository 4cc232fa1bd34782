#include "core/cuda/staging_plan.h"

#include <algorithm>
#include <cstdint>

namespace braid {
namespace {

struct Bytes {
  std::size_t send, recv;
};

Bytes collectiveBytes(Collective c, std::size_t count, std::size_t elem, int size) {
  const std::size_t block = count * elem, all = block * static_cast<std::size_t>(size);
  switch (c) {
    case Collective::AllGather: return {block, all};
    case Collective::ReduceScatter: return {all, block};
    case Collective::AllToAll: return {all, all};
    default: return {block, block};  // all-reduce, broadcast, reduce
  }
}

bool inside(const void* inner, std::size_t innerBytes, const void* outer, std::size_t outerBytes) {
  auto i = reinterpret_cast<std::uintptr_t>(inner), o = reinterpret_cast<std::uintptr_t>(outer);
  return i >= o && i + innerBytes <= o + outerBytes;
}

}  // namespace

std::pair<int, int> addCollectiveRegions(std::vector<StagedRegion>& regions, Collective collective,
                                         const void* send, const void* recv, std::size_t count,
                                         std::size_t elemSize, int rank, int size, int root) {
  const Bytes bytes = collectiveBytes(collective, count, elemSize, size);
  const bool readsSend = collective != Collective::Broadcast || rank == root;
  const bool writesRecv = collective != Collective::Reduce || rank == root;
  StagedRegion in{send, bytes.send, readsSend, false};
  StagedRegion out{recv, bytes.recv, false, writesRecv};
  const int base = static_cast<int>(regions.size());
  int sendIndex = -1, recvIndex = -1;
  if (send && recv && inside(send, bytes.send, recv, bytes.recv)) {
    regions.push_back(out);
    in.within = base;
    in.offset = static_cast<std::size_t>(static_cast<const char*>(send) - static_cast<const char*>(recv));
    regions.push_back(in);
    return {base + 1, base};
  }
  if (send && recv && inside(recv, bytes.recv, send, bytes.send)) {
    regions.push_back(in);
    out.within = base;
    out.offset = static_cast<std::size_t>(static_cast<const char*>(recv) - static_cast<const char*>(send));
    regions.push_back(out);
    return {base, base + 1};
  }
  if (send) {
    sendIndex = static_cast<int>(regions.size());
    regions.push_back(in);
  }
  if (recv) {
    recvIndex = static_cast<int>(regions.size());
    regions.push_back(out);
  }
  return {sendIndex, recvIndex};
}

int addPointToPointRegion(std::vector<StagedRegion>& regions, bool isSend, const void* buffer, std::size_t bytes) {
  regions.push_back(StagedRegion{buffer, bytes, isSend, !isSend, -1, 0, true});
  return static_cast<int>(regions.size()) - 1;
}

std::vector<StagedPiece> stagingPieces(Collective collective, std::size_t count, std::size_t elemSize) {
  const bool elementwise = collective == Collective::AllReduce || collective == Collective::Broadcast ||
                           collective == Collective::Reduce;
  const std::size_t total = count * elemSize;
  if (!elementwise || total < 2 * kStagingPieceBytes) return {};
  // Aligned pieces hold whole elements (sizes are powers of two up to 8) and keep every
  // copy on whole cache lines.
  std::size_t piece = std::max(kStagingPieceBytes, (total + kMaxStagingPieces - 1) / kMaxStagingPieces);
  piece = (piece + kStagingAlign - 1) / kStagingAlign * kStagingAlign;
  std::vector<StagedPiece> pieces;
  for (std::size_t first = 0; first < total; first += piece) pieces.push_back({first, std::min(piece, total - first)});
  return pieces;
}

std::size_t layOut(std::vector<StagedRegion>& regions) {
  std::size_t total = 0;
  for (auto& r : regions) {
    if (r.within >= 0) continue;
    r.offset = total;
    total += (r.bytes + kStagingAlign - 1) / kStagingAlign * kStagingAlign;
  }
  return total;
}

unsigned char* stagedAddress(const std::vector<StagedRegion>& regions, int index, unsigned char* base) {
  if (index < 0) return nullptr;
  const StagedRegion& r = regions[static_cast<std::size_t>(index)];
  if (r.within < 0) return base + r.offset;
  return stagedAddress(regions, r.within, base) + r.offset;
}

}  // namespace braid
