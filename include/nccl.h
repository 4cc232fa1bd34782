/* Braid's NCCL-compatible C API.
 *
 * Binary compatible with NCCL 2.28.9: the same type names, enum values, struct
 * layouts and function signatures, so that a program built against NVIDIA's header
 * runs on Braid's libnccl.so.2 and a program built against this one runs on NVIDIA's.
 * The version macros below therefore describe the NCCL API that Braid implements,
 * not Braid's own version (see <braid/version.h>).
 *
 * Braid's extension: besides CUDA device memory, buffers may be host memory when the
 * stream argument is NULL. What is not supported yet, and what each unsupported call
 * returns, is listed in the README ("Running an NCCL program on Braid").
 *
 * Every function also exists with a "p" prefix (pncclAllReduce, ...): the same code
 * under a second name, which profiling tools interpose on. */
/* NCCL's own guard name: whichever nccl.h a program includes first is the one it gets. */
#ifndef NCCL_H_
#define NCCL_H_

#include <limits.h>
#include <stddef.h>

/* The CUDA stream type. Taken from the CUDA runtime when a program included it first;
 * otherwise declared here as the same opaque pointer, which the CUDA runtime header
 * (included later) declares again identically, as C11 and C++ allow. */
#if !defined(__DRIVER_TYPES_H__) && !defined(BRAID_NCCL_CUDA_STREAM_DECLARED)
#define BRAID_NCCL_CUDA_STREAM_DECLARED
typedef struct CUstream_st* cudaStream_t;
#endif

#define NCCL_MAJOR 2
#define NCCL_MINOR 28
#define NCCL_PATCH 9
#define NCCL_SUFFIX ""
/* Versions up to 2.8 were encoded as X*1000 + Y*100 + Z; later ones as X*10000 + Y*100 + Z. */
#define NCCL_VERSION(X, Y, Z) \
  (((X) <= 2 && (Y) <= 8) ? (X) * 1000 + (Y) * 100 + (Z) : (X) * 10000 + (Y) * 100 + (Z))
#define NCCL_VERSION_CODE 22809

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ncclComm* ncclComm_t;
typedef struct ncclWindow_vidmem* ncclWindow_t;
#define NCCL_COMM_NULL NULL

#define NCCL_UNIQUE_ID_BYTES 128
typedef struct {
  char internal[NCCL_UNIQUE_ID_BYTES];
} ncclUniqueId;

typedef enum {
  ncclSuccess = 0,
  ncclUnhandledCudaError = 1,
  ncclSystemError = 2,
  ncclInternalError = 3,
  ncclInvalidArgument = 4,
  ncclInvalidUsage = 5,
  ncclRemoteError = 6,
  ncclInProgress = 7,
  ncclNumResults = 8
} ncclResult_t;

/* "Not set" markers in ncclConfig_t: the library then picks its default. */
#define NCCL_CONFIG_UNDEF_INT INT_MIN
#define NCCL_CONFIG_UNDEF_PTR NULL
#define NCCL_UNDEF_FLOAT -1.0f

/* ncclCommSplit: a rank passing this color joins no new communicator. */
#define NCCL_SPLIT_NOCOLOR -1

/* ncclCommWindowRegister flags and alignment. */
#define NCCL_WIN_DEFAULT 0x00
#define NCCL_WIN_COLL_SYMMETRIC 0x01
#define NCCL_WIN_REQUIRED_ALIGNMENT 4096

/* ncclConfig_t.CTAPolicy values. */
#define NCCL_CTA_POLICY_DEFAULT 0x00
#define NCCL_CTA_POLICY_EFFICIENCY 0x01
#define NCCL_CTA_POLICY_ZERO 0x02

/* ncclCommShrink flags: DEFAULT expects no operation in flight on the parent; ABORT
 * first ends the parent's operations in flight. */
#define NCCL_SHRINK_DEFAULT 0x00
#define NCCL_SHRINK_ABORT 0x01

/* ncclCommRevoke flags (only the default exists). */
#define NCCL_REVOKE_DEFAULT 0x00

/* Communicator options. Always start from NCCL_CONFIG_INITIALIZER: size, magic and
 * version let the library accept structs from programs built against older headers. */
typedef struct ncclConfig_v22800 {
  size_t size;
  unsigned int magic;
  unsigned int version;
  int blocking;
  int cgaClusterSize;
  int minCTAs;
  int maxCTAs;
  const char* netName;
  int splitShare;
  int trafficClass;
  const char* commName;
  int collnetEnable;
  int CTAPolicy;
  int shrinkShare;
  int nvlsCTAs;
  int nChannelsPerNetPeer;
  int nvlinkCentricSched;
} ncclConfig_t;

#define NCCL_CONFIG_INITIALIZER                                                      \
  {                                                                                  \
    sizeof(ncclConfig_t), 0xcafebeef, NCCL_VERSION(NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH), \
        NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_INT,          \
        NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_PTR, NCCL_CONFIG_UNDEF_INT,          \
        NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_PTR, NCCL_CONFIG_UNDEF_INT,          \
        NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_INT,          \
        NCCL_CONFIG_UNDEF_INT, NCCL_CONFIG_UNDEF_INT                                  \
  }

/* ncclGroupSimulateEnd's answer. */
typedef struct ncclSimInfo_v22200 {
  size_t size;
  unsigned int magic;
  unsigned int version;
  float estimatedTime;
} ncclSimInfo_t;

#define NCCL_SIM_INFO_INITIALIZER \
  { sizeof(ncclSimInfo_t), 0x74685283, NCCL_VERSION(NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH), NCCL_UNDEF_FLOAT }

/* Reduction operations. Values from ncclNumOps up are handles that
 * ncclRedOpCreatePreMulSum returns. The dummy enum sizes ncclMaxRedOp to the
 * compiler's enum width. */
typedef enum { ncclNumOps_dummy = 5 } ncclRedOp_dummy_t;
typedef enum {
  ncclSum = 0,
  ncclProd = 1,
  ncclMax = 2,
  ncclMin = 3,
  ncclAvg = 4,
  ncclNumOps = 5,
  ncclMaxRedOp = 0x7fffffff >> (32 - 8 * sizeof(ncclRedOp_dummy_t))
} ncclRedOp_t;

typedef enum {
  ncclInt8 = 0,
  ncclChar = 0,
  ncclUint8 = 1,
  ncclInt32 = 2,
  ncclInt = 2,
  ncclUint32 = 3,
  ncclInt64 = 4,
  ncclUint64 = 5,
  ncclFloat16 = 6,
  ncclHalf = 6,
  ncclFloat32 = 7,
  ncclFloat = 7,
  ncclFloat64 = 8,
  ncclDouble = 8,
  ncclBfloat16 = 9,
  ncclFloat8e4m3 = 10,
  ncclFloat8e5m2 = 11,
  ncclNumTypes = 12
} ncclDataType_t;

/* Where a pre-multiplied sum's scalar lives: read from device memory when the
 * collective runs, or copied from host memory when the op is created. */
typedef enum {
  ncclScalarDevice = 0,
  ncclScalarHostImmediate = 1
} ncclScalarResidence_t;

/* Declares a function under its name and its "p" twin. */
#define BRAID_NCCL_DECLARE(ret, name, params) \
  ret name params;                           \
  ret p##name params;

/* Memory for windows and zero-copy registration. */
BRAID_NCCL_DECLARE(ncclResult_t, ncclMemAlloc, (void** ptr, size_t size))
BRAID_NCCL_DECLARE(ncclResult_t, ncclMemFree, (void* ptr))

/* Version and rendezvous. */
BRAID_NCCL_DECLARE(ncclResult_t, ncclGetVersion, (int* version))
BRAID_NCCL_DECLARE(ncclResult_t, ncclGetUniqueId, (ncclUniqueId* uniqueId))

/* Communicator creation and teardown. */
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommInitRankConfig,
                   (ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank, ncclConfig_t* config))
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommInitRank, (ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank))
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommInitAll, (ncclComm_t* comm, int ndev, const int* devlist))
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommFinalize, (ncclComm_t comm))
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommDestroy, (ncclComm_t comm))
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommAbort, (ncclComm_t comm))
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommRevoke, (ncclComm_t comm, int revokeFlags))
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommSplit,
                   (ncclComm_t comm, int color, int key, ncclComm_t* newcomm, ncclConfig_t* config))
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommShrink,
                   (ncclComm_t comm, int* excludeRanksList, int excludeRanksCount, ncclComm_t* newcomm,
                    ncclConfig_t* config, int shrinkFlags))
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommInitRankScalable,
                   (ncclComm_t* newcomm, int nranks, int myrank, int nId, ncclUniqueId* commIds,
                    ncclConfig_t* config))

/* Errors. */
BRAID_NCCL_DECLARE(const char*, ncclGetErrorString, (ncclResult_t result))
BRAID_NCCL_DECLARE(const char*, ncclGetLastError, (ncclComm_t comm))
#if defined(__GNUC__) || defined(__clang__)
#define BRAID_NCCL_DEPRECATED(why) __attribute__((deprecated(why)))
#else
#define BRAID_NCCL_DEPRECATED(why)
#endif
BRAID_NCCL_DEPRECATED("not part of the supported NCCL API") void ncclResetDebugInit(void);
BRAID_NCCL_DEPRECATED("not part of the supported NCCL API") void pncclResetDebugInit(void);
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommGetAsyncError, (ncclComm_t comm, ncclResult_t* asyncError))

/* Communicator queries. */
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommCount, (const ncclComm_t comm, int* count))
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommCuDevice, (const ncclComm_t comm, int* device))
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommUserRank, (const ncclComm_t comm, int* rank))

/* Buffer registration and symmetric windows. */
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommRegister, (const ncclComm_t comm, void* buff, size_t size, void** handle))
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommDeregister, (const ncclComm_t comm, void* handle))
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommWindowRegister,
                   (ncclComm_t comm, void* buff, size_t size, ncclWindow_t* win, int winFlags))
BRAID_NCCL_DECLARE(ncclResult_t, ncclCommWindowDeregister, (ncclComm_t comm, ncclWindow_t win))

/* Pre-multiplied sums: sum over ranks of (scalar * input), the scalar per rank. */
BRAID_NCCL_DECLARE(ncclResult_t, ncclRedOpCreatePreMulSum,
                   (ncclRedOp_t* op, void* scalar, ncclDataType_t datatype, ncclScalarResidence_t residence,
                    ncclComm_t comm))
BRAID_NCCL_DECLARE(ncclResult_t, ncclRedOpDestroy, (ncclRedOp_t op, ncclComm_t comm))

/* Collectives. Counts are elements; in-place layouts are NCCL's. */
BRAID_NCCL_DECLARE(ncclResult_t, ncclReduce,
                   (const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, ncclRedOp_t op,
                    int root, ncclComm_t comm, cudaStream_t stream))
BRAID_NCCL_DECLARE(ncclResult_t, ncclBcast,
                   (void* buff, size_t count, ncclDataType_t datatype, int root, ncclComm_t comm,
                    cudaStream_t stream))
BRAID_NCCL_DECLARE(ncclResult_t, ncclBroadcast,
                   (const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, int root,
                    ncclComm_t comm, cudaStream_t stream))
BRAID_NCCL_DECLARE(ncclResult_t, ncclAllReduce,
                   (const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, ncclRedOp_t op,
                    ncclComm_t comm, cudaStream_t stream))
BRAID_NCCL_DECLARE(ncclResult_t, ncclReduceScatter,
                   (const void* sendbuff, void* recvbuff, size_t recvcount, ncclDataType_t datatype,
                    ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream))
BRAID_NCCL_DECLARE(ncclResult_t, ncclAllGather,
                   (const void* sendbuff, void* recvbuff, size_t sendcount, ncclDataType_t datatype,
                    ncclComm_t comm, cudaStream_t stream))
BRAID_NCCL_DECLARE(ncclResult_t, ncclAlltoAll,
                   (const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, ncclComm_t comm,
                    cudaStream_t stream))
BRAID_NCCL_DECLARE(ncclResult_t, ncclGather,
                   (const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, int root,
                    ncclComm_t comm, cudaStream_t stream))
BRAID_NCCL_DECLARE(ncclResult_t, ncclScatter,
                   (const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, int root,
                    ncclComm_t comm, cudaStream_t stream))

/* Point to point. Group a send with the receives it pairs with. */
BRAID_NCCL_DECLARE(ncclResult_t, ncclSend,
                   (const void* sendbuff, size_t count, ncclDataType_t datatype, int peer, ncclComm_t comm,
                    cudaStream_t stream))
BRAID_NCCL_DECLARE(ncclResult_t, ncclRecv,
                   (void* recvbuff, size_t count, ncclDataType_t datatype, int peer, ncclComm_t comm,
                    cudaStream_t stream))

/* Groups: per thread, nesting, spanning communicators; the work runs at the outermost end. */
BRAID_NCCL_DECLARE(ncclResult_t, ncclGroupStart, (void))
BRAID_NCCL_DECLARE(ncclResult_t, ncclGroupEnd, (void))
BRAID_NCCL_DECLARE(ncclResult_t, ncclGroupSimulateEnd, (ncclSimInfo_t* simInfo))

#undef BRAID_NCCL_DECLARE
#undef BRAID_NCCL_DEPRECATED

#ifdef __cplusplus
}
#endif

#endif /* NCCL_H_ */
