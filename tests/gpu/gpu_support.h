#pragma once
// What every GPU test needs: the skip when no GPU is usable, owned device memory and
// streams, CUDA error checks, and a bounded wait for a stream.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <string>

namespace braid::gpu_test {

// Why no GPU can be used here (CUDA's own words), or nothing when one can.
std::optional<std::string> noGpuReason();

// Throws std::runtime_error naming `what` and CUDA's error unless status is success.
void check(cudaError_t status, const std::string& what);

// Waits for the stream's work, at most `seconds`; throws on a CUDA error or a timeout.
void waitFor(cudaStream_t stream, const std::string& what, int seconds = 120);

class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  unsigned char* get() const { return data_; }
  std::size_t size() const { return bytes_; }

 private:
  unsigned char* data_ = nullptr;
  std::size_t bytes_;
};

// A stream that does not synchronise with the legacy default stream, so that a kernel
// enqueued elsewhere than on it would race with its copies and be caught.
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

}  // namespace braid::gpu_test

// Skips the current test, saying why, where no GPU is usable. For SetUp() or a test body.
#define BRAID_SKIP_WITHOUT_GPU()                                         \
  do {                                                                   \
    if (const auto braidNoGpu = ::braid::gpu_test::noGpuReason())        \
      GTEST_SKIP() << "no GPU: " << *braidNoGpu;                         \
  } while (0)
