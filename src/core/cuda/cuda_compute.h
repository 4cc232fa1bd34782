#pragma once
// DeviceCompute on one GPU: the kernels of reduce/cuda/ on a stream of the rank's own
// (the worker's, never the caller's), and an event per piece of work for its ticket.
// While work is outstanding the wake descriptor stays readable, so the executor polls
// the events instead of sleeping: no host function follows the work. A host function is
// reported to serialise other streams' kernels (NCCL issue 1742), and on an H200 with four ranks' processes sharing
// the GPU the first cuLaunchHostFunc after GPU work, while the caller's stream waited
// for the collective, did not return in 10 s on any rank.
//
// Exports use legacy CUDA IPC handles of whole allocations (cuIpcGetMemHandle), which
// every allocation of cuMemAlloc supports; only staging and scratch are exported, and
// neither is freed before the communicator ends, so a cached handle never goes stale.
// A peer in the same process (thread ranks) uses the address as is.
#include "core/cuda/cuda_driver.h"
#include "transport/device_compute.h"

#include <array>
#include <map>
#include <vector>

namespace braid {

class CudaCompute final : public DeviceCompute {
 public:
  // With `ctx` current. SystemError when CUDA refuses the stream or the events.
  CudaCompute(const cuda::Driver& driver, CUcontext ctx, int rank);
  ~CudaCompute() override;  // waits for the stream, at most a few seconds, before freeing
  CudaCompute(const CudaCompute&) = delete;
  CudaCompute& operator=(const CudaCompute&) = delete;

  void setReduction(DataType type, ReduceOp op) override;
  std::uint64_t copy(void* dst, const void* src, std::size_t bytes) override;
  std::uint64_t combine(void* dst, const void* a, const void* b, std::size_t count) override;
  std::uint64_t preMultiply(void* dst, const void* src, std::size_t count, const void* hostScalar) override;
  std::uint64_t finishAvg(void* data, std::size_t count, std::uint64_t divisor) override;
  bool done(std::uint64_t ticket) override;
  void wait(std::uint64_t ticket, const Deadline& deadline) override;
  std::uint64_t last() const override { return issued_; }
  int wakeFd() const override { return wakeFd_; }
  void* scratch(int which, std::size_t bytes) override;
  ExportedRange exportRange(const void* ptr) override;
  const void* map(const ExportedRange& range) override;

 private:
  std::uint64_t issue(const char* what);  // records the ticket of what was just enqueued
  void keepAwake() const;                   // makes wakeFd_ readable
  void release();  // once the stream is idle (a few seconds at most), frees what was made
  [[noreturn]] void fail(CUresult r, const std::string& what) const;

  static constexpr std::size_t kEvents = 256;  // tickets in flight before one is reused
  const cuda::Driver& d_;
  CUcontext ctx_;
  int rank_;
  int wakeFd_ = -1;  // eventfd, readable while work may be outstanding
  CUstream stream_ = nullptr;
  std::array<CUevent, kEvents> events_{};
  std::uint64_t issued_ = 0, completed_ = 0;
  DataType type_ = DataType::Int8;
  ReduceOp op_ = ReduceOp::Sum;
  struct Scratch {
    CUdeviceptr ptr = 0;
    std::size_t bytes = 0;
  };
  std::array<Scratch, 2> scratch_{};
  std::vector<CUdeviceptr> outgrown_;  // scratch a peer may still have mapped
  std::map<CUdeviceptr, CUipcMemHandle> exported_;                // by allocation base
  std::map<std::array<unsigned char, 64>, CUdeviceptr> mapped_;   // peers' allocations, by handle
};

}  // namespace braid
