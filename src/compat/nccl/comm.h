#pragma once
// The object behind ncclComm_t: the C++ communicator once it exists, the state of its
// creation (which may run on another thread), the options, and the pre-multiplied-sum
// ops made for it. Every API call holds a reference for its duration, so that
// ncclCommAbort on one thread cannot free what a call on another thread still uses.
#include <braid/communicator.h>
#include <braid/unique_id.h>
#include <nccl.h>

#include "compat/nccl/config.h"
#include "compat/nccl/premulsum.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace braid::nccl {

// What building a communicator needs once its rank, size and rendezvous are known.
struct Recipe {
  UniqueId id;
  int rank = 0;
  int size = 1;
  bool hostsRoot = false;  // NCCL_COMM_ID: this rank starts the rendezvous root itself
};

// Shared by the handle and the thread building the communicator, which may outlive
// the handle (ncclCommAbort during a non-blocking init leaves it to finish alone).
struct Creation {
  std::mutex mutex;
  std::atomic<ncclResult_t> state{ncclInProgress};
  std::string error;  // why, once state is an error
  std::unique_ptr<Communicator> communicator;
  bool abandoned = false;
};

}  // namespace braid::nccl

struct ncclComm {
  static constexpr std::uint64_t kLive = 0x4272616964434f4dULL;  // "BraidCOM"

  ncclComm(int rank, int nranks, int cudaDevice, braid::nccl::CommOptions options);
  ~ncclComm();

  std::atomic<std::uint64_t> magic{kLive};  // cleared by destroy/abort: later calls are refused
  // A split or shrink child learns its place at the group's end, before it is built.
  int rank, nranks;
  const int cudaDevice;  // -1: no CUDA driver was loaded when it was made (host memory only)
  const braid::nccl::CommOptions options;
  std::shared_ptr<braid::nccl::Creation> creation = std::make_shared<braid::nccl::Creation>();
  std::thread builder;  // runs a non-blocking or grouped creation
  std::atomic<int> refs{1};  // the handle's own, plus one per call in progress
  std::atomic<bool> finalized{false}, revoked{false};
  braid::nccl::PreMulSumTable preMulSums;
};

namespace braid::nccl {

// Drops one reference; the last one frees the handle (and the communicator).
void release(ncclComm* comm);

// A counted reference to a live handle, for the duration of a call or a queued group.
class CommRef {
 public:
  CommRef() = default;
  explicit CommRef(ncclComm* c) : comm_(c) {}
  CommRef(CommRef&& o) noexcept : comm_(o.comm_) { o.comm_ = nullptr; }
  CommRef& operator=(CommRef&& o) noexcept;
  CommRef(const CommRef&) = delete;
  CommRef& operator=(const CommRef&) = delete;
  ~CommRef() { if (comm_) release(comm_); }
  ncclComm* get() const { return comm_; }
  ncclComm* operator->() const { return comm_; }
  ncclComm& operator*() const { return *comm_; }
  explicit operator bool() const { return comm_ != nullptr; }

 private:
  ncclComm* comm_ = nullptr;
};

// Takes a reference after checking that `comm` is a live handle; throws
// ncclInvalidArgument for NULL or a destroyed one.
CommRef acquire(ncclComm_t comm);

// The C++ communicator of a handle ready for work. Throws ncclInvalidArgument while a
// non-blocking creation is in flight (as NCCL does), its error if creation failed, and
// ncclInvalidUsage after ncclCommFinalize or ncclCommRevoke.
Communicator& ready(ncclComm& comm);

// Builds the communicator on the calling thread; true if it succeeded (else the
// handle holds the error).
bool buildNow(ncclComm& comm, const Recipe& recipe);
// Builds it on the handle's own thread.
void buildInBackground(ncclComm& comm, const Recipe& recipe);
// Waits for a background build (bounded by the build's own BRAID_TIMEOUT).
void joinBuild(ncclComm& comm);
// Marks the creation failed without building (a group that did not run).
void failCreation(ncclComm& comm, ncclResult_t code, const std::string& why);
// Throws the creation's error, if it failed.
void throwIfFailed(const ncclComm& comm);

// The CUDA device current on the calling thread, or -1 where the CUDA driver is not loaded.
int currentCudaDevice();

}  // namespace braid::nccl
