// A build without CUDA (BRAID_WITH_CUDA=OFF): every buffer is host memory, and a stream
// is refused with the reason.
#include "core/cuda/device_side.h"

namespace braid {

struct DeviceSide::State {};

DeviceSide::DeviceSide(int rank) : rank_(rank) {}
DeviceSide::~DeviceSide() = default;

CallPath DeviceSide::route(const char* call, Stream stream, std::initializer_list<BufferArg>) {
  if (stream)
    throw UnsupportedError("rank " + std::to_string(rank_) + ": " + call + ": argument 'stream' is a CUDA stream, but "
                           "this build of Braid has no CUDA (BRAID_WITH_CUDA=OFF): host memory only",
                           ErrorContext{rank_, -1, "", ""});
  return CallPath::Host;
}

std::string DeviceSide::currentGpuBusId() const { return ""; }
bool DeviceSide::isCudaMemory(const char*, const BufferArg&) const { return false; }

std::unique_ptr<StagedBatch> DeviceSide::enqueue(const char* call, Stream, std::vector<StagedRegion>&,
                                                 std::vector<StagedPiece>) {
  throw Error(ErrorKind::Internal, "rank " + std::to_string(rank_) + ": " + call + ": staged without CUDA",
              ErrorContext{rank_, -1, "", ""});
}

void DeviceSide::stageOnDevice() {}
void DeviceSide::shareStreamsWith(std::string) {}
DeviceCompute* DeviceSide::compute() { return nullptr; }
void DeviceSide::shutdown(std::chrono::milliseconds) {}

}  // namespace braid
