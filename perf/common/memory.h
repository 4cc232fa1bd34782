#pragma once
// Where a benchmark's buffers live. nccl-tests always uses GPU memory; the Braid tools
// use the rank's GPU when the build has CUDA and a GPU is present (`-M auto`, the
// default), host memory otherwise, and `-M host` / `-M device` force either. Checks
// always run on the host: inputs are written to a host mirror and uploaded, results
// are downloaded into it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace perf {

// Copies timed inside one memory, on the host's monotonic clock (the same for every
// process of a host), so that the windows of ranks sharing that memory can be joined.
struct CopyWindow {
  double bytes = 0;  // read + written
  std::int64_t startNs = 0, endNs = 0;
};

inline std::int64_t monotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

enum class MemoryChoice { Auto, Host, Device };

class Memory {
 public:
  virtual ~Memory() = default;
  // Device memory on GPU (localRank mod GPUs) for Auto with a GPU, or Device (which
  // throws, naming the reason, without one); host memory otherwise.
  static std::unique_ptr<Memory> choose(MemoryChoice choice, int localRank);

  virtual bool onDevice() const = 0;
  virtual std::string describe() const = 0;  // "host", or the GPU's name
  virtual int device() const = 0;            // the GPU's index (device memory only)
  // The stream collectives are issued on (nullptr for host memory).
  virtual void* stream() const = 0;
  // Zero-filled, 4 KiB aligned, never null; freed with release().
  virtual unsigned char* allocate(std::size_t bytes) = 0;
  virtual void release(unsigned char* p) = 0;
  virtual void zero(unsigned char* p, std::size_t bytes) = 0;
  // Copies between a host mirror and this memory; no-ops when the memory is the host.
  virtual void upload(unsigned char* dst, const unsigned char* hostSrc, std::size_t bytes) = 0;
  virtual void download(unsigned char* hostDst, const unsigned char* src, std::size_t bytes) = 0;
  // Waits until everything issued on stream() is done (host: nothing to wait for).
  virtual void sync() = 0;
  // `reps` back-to-back copies of `bytes` between two buffers of this memory, allocated
  // for the purpose (memory_bound.h): the bytes read plus written, and when.
  virtual CopyWindow timeCopies(std::size_t bytes, int reps) = 0;
};

// A buffer of a Memory, freed by it.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Memory& m, std::size_t bytes) : memory_(&m), data_(m.allocate(bytes)) {}
  ~Buffer() { if (data_) memory_->release(data_); }
  Buffer(Buffer&& o) noexcept : memory_(o.memory_), data_(o.data_) { o.data_ = nullptr; }
  Buffer& operator=(Buffer&& o) noexcept {
    std::swap(memory_, o.memory_);
    std::swap(data_, o.data_);
    return *this;
  }
  unsigned char* get() const { return data_; }

 private:
  Memory* memory_ = nullptr;
  unsigned char* data_ = nullptr;
};

}  // namespace perf
