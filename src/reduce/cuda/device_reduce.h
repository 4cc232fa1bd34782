#pragma once
// Reduction and copy kernels on GPU-accessible memory. Plain C++: no CUDA types appear
// here (a stream is an opaque cudaStream_t passed as void*), so any translation unit
// may include this header whether or not it is compiled by nvcc.
//
// The arithmetic is that of the CPU kernels in reduce/reduce.h, bit for bit (NaN
// payloads aside), as include/braid/types.h states it.
//
// Every function enqueues its work on `stream` (nullptr: the legacy default stream)
// and returns without waiting for it. Pointers must be accessible from the current
// device (device, managed or mapped host memory). They need no alignment at all:
// 16-byte vector loads and stores are used where the destination and the inputs share
// their alignment modulo 16, single elements (or single bytes) elsewhere. The
// destination may alias an input exactly, not partially.
//
// Errors: InvalidArgument for an invalid type, op or divisor, or a null pointer with
// a non-zero count, found before CUDA is touched; SystemError when CUDA refuses the
// launch, carrying CUDA's error name and text. A fault inside a kernel shows up later
// on the stream, as CUDA reports it.
#include <braid/types.h>

#include <cstddef>
#include <cstdint>

namespace braid::reduce {

// dst[i] = a[i] (op) b[i] for i < count. Avg and PreMulSum combine as Sum; their extra
// steps are finishAvgOnDevice and preMultiplyOnDevice.
void reduceOnDevice(void* dst, const void* a, const void* b, std::size_t count, DataType type, ReduceOp op,
                    void* stream);

// data[i] /= divisor, Avg's final step (as finishAvg). Throws for divisor 0.
void finishAvgOnDevice(void* data, std::size_t count, DataType type, std::uint64_t divisor, void* stream);

// dst[i] = src[i] * scalar, PreMulSum's first step (as preMultiply). The scalar is one
// value of `type` in host memory, read before this returns.
void preMultiplyOnDevice(void* dst, const void* src, std::size_t count, DataType type, const void* hostScalar,
                         void* stream);

// Copies `bytes` bytes from src to dst with a kernel (on the SMs, not a copy engine),
// like the reductions it sits between; either pointer may be a peer GPU's buffer mapped
// into this one. The widest unit that dst and src share the alignment of is used (16
// bytes down to 1). The ranges must not overlap unless dst == src.
void copyOnDevice(void* dst, const void* src, std::size_t bytes, void* stream);

// Loads every kernel above into the current context. CUDA loads kernels lazily, at
// their first launch, and loading may wait for the whole context to be idle: a first
// launch while a stream of the context waits for that launch's result (a staged call's
// stream waiting on the collective) would never return. Call it before any such wait.
void loadDeviceKernels();

}  // namespace braid::reduce
