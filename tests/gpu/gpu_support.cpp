#include "gpu_support.h"

#include <chrono>
#include <stdexcept>
#include <thread>

namespace braid::gpu_test {

std::optional<std::string> noGpuReason() {
  static const std::optional<std::string> reason = []() -> std::optional<std::string> {
    int devices = 0;
    const cudaError_t status = cudaGetDeviceCount(&devices);
    if (status != cudaSuccess) {
      (void)cudaGetLastError();
      return std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
    }
    if (devices == 0) return std::string("cudaGetDeviceCount found no device");
    return std::nullopt;
  }();
  return reason;
}

void check(cudaError_t status, const std::string& what) {
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();
  throw std::runtime_error(what + ": " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

void waitFor(cudaStream_t stream, const std::string& what, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  for (;;) {
    const cudaError_t status = cudaStreamQuery(stream);
    if (status == cudaSuccess) return;
    if (status != cudaErrorNotReady) check(status, what);
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error(what + ": not finished after " + std::to_string(seconds) + " s");
    std::this_thread::sleep_for(std::chrono::microseconds(50));  // polling interval, not ordering
  }
}

DeviceBuffer::DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
  check(cudaMalloc(reinterpret_cast<void**>(&data_), bytes == 0 ? 1 : bytes),
        "cudaMalloc(" + std::to_string(bytes) + ")");
}

DeviceBuffer::~DeviceBuffer() { (void)cudaFree(data_); }

Stream::Stream() { check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags"); }

Stream::~Stream() { (void)cudaStreamDestroy(stream_); }

}  // namespace braid::gpu_test
