#pragma once
/// The C++ API. A Communicator is a group of `size` ranks, one per process (or thread),
/// created collectively by every rank with the same UniqueId.
///
/// Promises common to every collective:
/// - Counts are elements (64-bit), not bytes. Count 0 is allowed and moves nothing.
/// - Out-of-place (send != recv) and in-place (send == recv) both work, with the
///   in-place layouts NCCL defines (all-gather: send == recv + rank*count;
///   reduce-scatter: recv == send + rank*recvCount).
/// - Every rank must call the same collectives in the same order with matching
///   counts, types, ops and roots. Each collective call gets a sequence number (1, 2,
///   ... per communicator); every message carries a signature of its call, so a rank
///   whose peer is in a different call (or the same call with another count, type, op
///   or root) throws RemoteError instead of misreading data (BRAID_CHECK=on, the
///   default). BRAID_CHECK=full also swaps every call's description between the ranks
///   before any data moves, and every rank throws a RemoteError listing which ranks
///   called what. BRAID_CHECK=off checks message sizes only.
/// - Host memory (pageable or pinned) with a null `stream`: the call returns when the
///   result is in the receive buffer. CUDA memory (device or managed), or any non-null
///   `stream` (a cudaStream_t): the call is enqueued on the stream and returns at once;
///   it reads its inputs after the work before it on the stream, and work enqueued after
///   it sees its results. With CUDA memory a null stream is the legacy default stream.
///   Host memory, pageable or pinned, cannot be used with a stream (pinned: not yet), nor
///   device memory of another GPU than the rank's (the one of its first stream, or
///   current at its first CUDA call).
///   A failure after such a call returned breaks the communicator (asyncError() and every
///   later call report it), and its stream goes on within BRAID_TIMEOUT. Several ranks
///   may share a GPU, each with its own stream. Streams in CUDA graph capture are refused
///   (UnsupportedError) for now. A build without CUDA refuses streams.
/// - Arguments are checked before anything is sent; a bad one throws InvalidArgument
///   naming the argument and the rank. Failures of peers throw RemoteError, deadlines
///   (BRAID_TIMEOUT) TimeoutError. A TimeoutError also says what every other rank was
///   doing: which ranks never arrived at the call (by sequence number), the call each
///   last entered and whether it completed, and which did not answer (gone or hung).
/// - A rank whose call fails tells the other ranks at once: their calls in flight end
///   with an error naming that rank (and its reason) instead of waiting for
///   BRAID_TIMEOUT. A peer whose process ends without destroying its communicator is
///   noticed even between calls (see asyncError()).
/// - After a Remote or Timeout error the communicator is broken: every later call
///   throws that error again; destroy it (or abort() it) and make a new one.
/// - A Communicator is not thread-safe: one thread issues its calls (async handles may
///   be waited on from anywhere). abort() and asyncError() may be called from any
///   thread, at any time.
#include <braid/error.h>
#include <braid/types.h>
#include <braid/unique_id.h>

#include <cstddef>
#include <exception>
#include <memory>

namespace braid {

using Stream = void*;  ///< A cudaStream_t where CUDA is in use; nullptr for host memory.

class CommunicatorImpl;
struct WorkState;

/// A handle on an asynchronous operation. Waiting rethrows its error, if any.
class Work {
 public:
  Work() = default;
  explicit Work(std::shared_ptr<WorkState> s) : state_(std::move(s)) {}
  /// Blocks until the operation is done (bounded by BRAID_TIMEOUT); rethrows its error.
  void wait();
  /// True once the operation is done (successfully or not). Never blocks.
  bool test() const;

 private:
  std::shared_ptr<WorkState> state_;
};

class Communicator {
 public:
  /// Collective: every rank of `size` calls it with the same id and its own rank.
  Communicator(const UniqueId& id, int rank, int size);
  /// Reads the launcher's variables: braidrun (BRAID_UNIQUE_ID, BRAID_RANK, BRAID_SIZE),
  /// torchrun (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), Open MPI
  /// (OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK) or Slurm (SLURM_PROCID/NTASKS/LOCALID);
  /// the last three need a rendezvous address (MASTER_ADDR/MASTER_PORT or BRAID_ROOT).
  static Communicator fromEnvironment();
  ~Communicator();
  Communicator(Communicator&&) noexcept;
  Communicator& operator=(Communicator&&) noexcept;

  int rank() const;
  int size() const;
  /// Ranks on this host, and this rank's index among them.
  int localSize() const;
  int localRank() const;
  /// The transport this rank uses to reach `peer` ("self", "shm", "tcp").
  const char* transportTo(int peer) const;

  void allReduce(const void* send, void* recv, std::size_t count, DataType type, Reduction op,
                 Stream stream = nullptr);
  /// recv holds size()*sendCount elements, rank i's contribution at i*sendCount.
  void allGather(const void* send, void* recv, std::size_t sendCount, DataType type,
                 Stream stream = nullptr);
  /// send holds size()*recvCount elements; rank i receives the reduction of block i.
  void reduceScatter(const void* send, void* recv, std::size_t recvCount, DataType type,
                     Reduction op, Stream stream = nullptr);
  /// `send` is read on the root only; every rank's `recv` gets the root's data.
  void broadcast(const void* send, void* recv, std::size_t count, DataType type, int root,
                 Stream stream = nullptr);
  /// The reduction lands in the root's `recv`; other ranks' `recv` is not touched.
  void reduce(const void* send, void* recv, std::size_t count, DataType type, Reduction op,
              int root, Stream stream = nullptr);
  /// send and recv hold size()*count elements; block j of rank i goes to block i of rank j.
  void allToAll(const void* send, void* recv, std::size_t count, DataType type,
                Stream stream = nullptr);
  /// Point to point. Outside a group each call on host memory completes before returning
  /// (so a send waits for the matching recv); inside groupStart()/groupEnd() they run
  /// together. Every call of a group uses the same stream, or none with host memory.
  void send(const void* buf, std::size_t count, DataType type, int peer, Stream stream = nullptr);
  void recv(void* buf, std::size_t count, DataType type, int peer, Stream stream = nullptr);
  /// Collects the calls that follow (send/recv and collectives) and runs them together
  /// at groupEnd(), so a ring of sends and receives cannot deadlock. Groups nest.
  void groupStart();
  void groupEnd();
  void barrier();

  /// Asynchronous forms, on host memory: return at once; the buffers must stay valid
  /// until wait(). Operations run in the order they were issued.
  Work allReduceAsync(const void* send, void* recv, std::size_t count, DataType type, Reduction op);
  Work allGatherAsync(const void* send, void* recv, std::size_t sendCount, DataType type);
  Work reduceScatterAsync(const void* send, void* recv, std::size_t recvCount, DataType type,
                          Reduction op);

  /// Ends this rank's use of the communicator now, whatever the peers do (stuck, gone):
  /// returns within about a second. A call in flight on another thread, and every
  /// asynchronous operation not yet finished, ends with AbortedError. The connections,
  /// shared-memory segments and threads are freed; the peers are told, so their calls
  /// in flight end with a RemoteError naming this rank. Afterwards every call throws
  /// AbortedError naming the rank; destroying the object is still required and cheap.
  /// A new Communicator can be created in the same process at once. Calling it twice
  /// is harmless. Like ncclCommAbort.
  void abort();
  /// The error that broke this communicator, or null while it is healthy. Besides the
  /// error a call threw, it reports what was noticed in the background: a peer whose
  /// process ended (without destroying its communicator) while this rank was idle, a
  /// failure another rank reported (its message names it), AbortedError after abort().
  /// Never blocks. Like ncclCommGetAsyncError; rethrow it (std::rethrow_exception) to
  /// get the braid::Error with its kind, rank and peer.
  std::exception_ptr asyncError() const;

  CommunicatorImpl& impl() { return *impl_; }

 private:
  explicit Communicator(std::unique_ptr<CommunicatorImpl> impl);
  std::unique_ptr<CommunicatorImpl> impl_;
};

}  // namespace braid
