#include "common/memory.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#ifdef PERF_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace perf {
namespace {

class HostMemory final : public Memory {
 public:
  bool onDevice() const override { return false; }
  std::string describe() const override { return "host"; }
  int device() const override { return -1; }
  void* stream() const override { return nullptr; }
  unsigned char* allocate(std::size_t bytes) override {
    const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 4095) / 4096 * 4096;
    auto* p = static_cast<unsigned char*>(std::aligned_alloc(4096, rounded));
    if (!p) throw std::runtime_error("cannot allocate " + std::to_string(rounded) + " bytes (lower -e)");
    std::memset(p, 0, rounded);  // fault the pages in now rather than in a timed loop
    return p;
  }
  void release(unsigned char* p) override { std::free(p); }
  void zero(unsigned char* p, std::size_t bytes) override { std::memset(p, 0, bytes); }
  void upload(unsigned char* dst, const unsigned char* src, std::size_t bytes) override {
    if (dst != src) std::memmove(dst, src, bytes);
  }
  void download(unsigned char* dst, const unsigned char* src, std::size_t bytes) override {
    if (dst != src) std::memmove(dst, src, bytes);
  }
  void sync() override {}
  CopyWindow timeCopies(std::size_t bytes, int reps) override {
    unsigned char* a = allocate(bytes);
    unsigned char* b = allocate(bytes);
    std::memcpy(b, a, bytes);  // the first touch of the pages is not the memory's speed
    CopyWindow w;
    w.startNs = monotonicNs();
    for (int i = 0; i < reps; ++i) {
      std::memcpy(i % 2 ? a : b, i % 2 ? b : a, bytes);
      // Nothing reads the copies: keep the compiler from dropping them as dead stores.
      asm volatile("" : : "r"(a), "r"(b) : "memory");
    }
    w.endNs = monotonicNs();
    w.bytes = 2.0 * static_cast<double>(bytes) * reps;
    release(a);
    release(b);
    return w;
  }
};

#ifdef PERF_WITH_CUDA
void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

class DeviceMemory final : public Memory {
 public:
  explicit DeviceMemory(int device) : device_(device) {
    check(cudaSetDevice(device), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    name_ = prop.name;
  }
  ~DeviceMemory() override { cudaStreamDestroy(stream_); }
  bool onDevice() const override { return true; }
  std::string describe() const override { return name_; }
  int device() const override { return device_; }
  void* stream() const override { return stream_; }
  unsigned char* allocate(std::size_t bytes) override {
    void* p = nullptr;
    check(cudaMalloc(&p, std::max<std::size_t>(bytes, 1)), "cudaMalloc (lower -e)");
    check(cudaMemset(p, 0, std::max<std::size_t>(bytes, 1)), "cudaMemset");
    return static_cast<unsigned char*>(p);
  }
  void release(unsigned char* p) override { cudaFree(p); }
  void zero(unsigned char* p, std::size_t bytes) override {
    check(cudaMemsetAsync(p, 0, bytes, stream_), "cudaMemsetAsync");
    sync();
  }
  void upload(unsigned char* dst, const unsigned char* src, std::size_t bytes) override {
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpy to the GPU");
    sync();
  }
  void download(unsigned char* dst, const unsigned char* src, std::size_t bytes) override {
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpy from the GPU");
    sync();
  }
  void sync() override { check(cudaStreamSynchronize(stream_), "the benchmark's stream"); }
  CopyWindow timeCopies(std::size_t bytes, int reps) override {
    unsigned char* a = allocate(bytes);
    unsigned char* b = allocate(bytes);
    check(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream_), "cudaMemcpy on the GPU");
    sync();
    // Timed on the host, from before the first copy is issued to after the last has
    // finished: GPU events of different processes share no clock. Launch latency is
    // microseconds against the copies' tens of milliseconds.
    CopyWindow w;
    w.startNs = monotonicNs();
    for (int i = 0; i < reps; ++i)
      check(cudaMemcpyAsync(i % 2 ? a : b, i % 2 ? b : a, bytes, cudaMemcpyDeviceToDevice, stream_),
            "cudaMemcpy on the GPU");
    sync();
    w.endNs = monotonicNs();
    w.bytes = 2.0 * static_cast<double>(bytes) * reps;
    release(a);
    release(b);
    return w;
  }

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
  std::string name_;
};

// The number of GPUs, or 0 with the reason when CUDA has none to offer.
int countGpus(std::string& why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    why = cudaGetErrorString(e);
    return 0;
  }
  if (n == 0) why = "no CUDA device";
  return n;
}
#endif

}  // namespace

std::unique_ptr<Memory> Memory::choose(MemoryChoice choice, int localRank) {
  if (choice == MemoryChoice::Host) return std::make_unique<HostMemory>();
#ifdef PERF_WITH_CUDA
  std::string why;
  const int gpus = countGpus(why);
  if (gpus > 0) return std::make_unique<DeviceMemory>(localRank % gpus);
  if (choice == MemoryChoice::Device) throw std::runtime_error("--memory device: " + why);
#else
  if (choice == MemoryChoice::Device) throw std::runtime_error("--memory device: this build has no CUDA");
#endif
  return std::make_unique<HostMemory>();
}

}  // namespace perf
