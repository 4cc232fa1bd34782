/* Prints the ABI of whichever nccl.h the include path finds, one fact per line: every
 * enumerator, macro value, type size, alignment and signedness, the offset, size and
 * type of every public struct field, and what the initializer macros set. check_abi.sh
 * builds it once against NVIDIA's header (the oracle) and once against Braid's, as C
 * and as C++, and any line that differs is an incompatibility.
 *
 * As C++ it also prints each public type's and each function's type as the compiler
 * mangles it (typeid), which catches a wrong parameter type or struct tag that C's
 * loose checking would let through; check_abi.sh generates the function list
 * (nccl_functions.inc) from NVIDIA's header. Nothing here is evaluated at run time
 * from the library: it links against none. */
#ifdef INCLUDE_CUDA_RUNTIME_FIRST
/* A CUDA program includes cuda_runtime.h before nccl.h; both must agree then. */
#include <cuda_runtime.h>
#endif
#include <nccl.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
#include <type_traits>
#include <typeinfo>
#define ALIGN_OF(T) alignof(T)
#define IS_SIGNED_ENUM(T) std::is_signed<std::underlying_type<T>::type>::value
#define TYPE_NAME(expr) typeid(decltype(expr)).name()
#else
#define ALIGN_OF(T) _Alignof(T)
#define IS_SIGNED_ENUM(T) ((T)-1 < 0)
/* C has no typeid; naming the scalar types the public structs use is enough there. */
#define TYPE_NAME(expr)                                                        \
  _Generic((expr), int: "int", unsigned int: "unsigned int", size_t: "size_t", \
           float: "float", const char*: "const char*", char*: "char*",         \
           default: "another type")
#endif

#define PRINT_INT(expr) printf("%s = %lld\n", #expr, (long long)(expr))
#define PRINT_IS_NULL(expr) printf("%s is null = %d\n", #expr, (expr) == NULL)
#define PRINT_FLOAT(expr) printf("%s = %a\n", #expr, (double)(expr))
#define PRINT_TYPE(T) \
  printf("type %s: size %zu align %zu\n", #T, sizeof(T), (size_t)ALIGN_OF(T))
#define PRINT_ENUM(T)                                                        \
  printf("enum %s: size %zu signed %d\n", #T, sizeof(T), (int)IS_SIGNED_ENUM(T))
#define PRINT_FIELD(T, field)                                                        \
  printf("field %s.%s: offset %zu size %zu type %s\n", #T, #field, offsetof(T, field), \
         sizeof(((T*)0)->field), TYPE_NAME(((T*)0)->field))

static void printEnums(void) {
  PRINT_ENUM(ncclResult_t);
  PRINT_INT(ncclSuccess);
  PRINT_INT(ncclUnhandledCudaError);
  PRINT_INT(ncclSystemError);
  PRINT_INT(ncclInternalError);
  PRINT_INT(ncclInvalidArgument);
  PRINT_INT(ncclInvalidUsage);
  PRINT_INT(ncclRemoteError);
  PRINT_INT(ncclInProgress);
  PRINT_INT(ncclNumResults);

  PRINT_ENUM(ncclDataType_t);
  PRINT_INT(ncclInt8);
  PRINT_INT(ncclChar);
  PRINT_INT(ncclUint8);
  PRINT_INT(ncclInt32);
  PRINT_INT(ncclInt);
  PRINT_INT(ncclUint32);
  PRINT_INT(ncclInt64);
  PRINT_INT(ncclUint64);
  PRINT_INT(ncclFloat16);
  PRINT_INT(ncclHalf);
  PRINT_INT(ncclFloat32);
  PRINT_INT(ncclFloat);
  PRINT_INT(ncclFloat64);
  PRINT_INT(ncclDouble);
  PRINT_INT(ncclBfloat16);
  PRINT_INT(ncclFloat8e4m3);
  PRINT_INT(ncclFloat8e5m2);
  PRINT_INT(ncclNumTypes);

  PRINT_ENUM(ncclRedOp_t);
  PRINT_INT(ncclSum);
  PRINT_INT(ncclProd);
  PRINT_INT(ncclMax);
  PRINT_INT(ncclMin);
  PRINT_INT(ncclAvg);
  PRINT_INT(ncclNumOps);
  PRINT_INT(ncclMaxRedOp);

  PRINT_ENUM(ncclScalarResidence_t);
  PRINT_INT(ncclScalarDevice);
  PRINT_INT(ncclScalarHostImmediate);
}

static void printMacros(void) {
  PRINT_INT(NCCL_MAJOR);
  PRINT_INT(NCCL_MINOR);
  PRINT_INT(NCCL_PATCH);
  printf("NCCL_SUFFIX = \"%s\"\n", NCCL_SUFFIX);
  PRINT_INT(NCCL_VERSION_CODE);
  /* The encoding changed after 2.8: both sides of that edge, and a few beyond. */
  PRINT_INT(NCCL_VERSION(2, 28, 9));
  PRINT_INT(NCCL_VERSION(NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH));
  PRINT_INT(NCCL_VERSION(2, 8, 4));
  PRINT_INT(NCCL_VERSION(2, 9, 0));
  PRINT_INT(NCCL_VERSION(2, 14, 3));
  PRINT_INT(NCCL_VERSION(1, 9, 9));
  PRINT_INT(NCCL_VERSION(3, 0, 1));
  PRINT_INT(NCCL_UNIQUE_ID_BYTES);
  PRINT_IS_NULL(NCCL_COMM_NULL);
  PRINT_INT(NCCL_CONFIG_UNDEF_INT);
  PRINT_IS_NULL(NCCL_CONFIG_UNDEF_PTR);
  PRINT_INT(NCCL_SPLIT_NOCOLOR);
  PRINT_FLOAT(NCCL_UNDEF_FLOAT);
  PRINT_INT(NCCL_WIN_DEFAULT);
  PRINT_INT(NCCL_WIN_COLL_SYMMETRIC);
  PRINT_INT(NCCL_WIN_REQUIRED_ALIGNMENT);
  PRINT_INT(NCCL_CTA_POLICY_DEFAULT);
  PRINT_INT(NCCL_CTA_POLICY_EFFICIENCY);
  PRINT_INT(NCCL_CTA_POLICY_ZERO);
  PRINT_INT(NCCL_SHRINK_DEFAULT);
  PRINT_INT(NCCL_SHRINK_ABORT);
  PRINT_INT(NCCL_REVOKE_DEFAULT);
}

static void printStructs(void) {
  PRINT_TYPE(ncclComm_t);
  PRINT_TYPE(ncclWindow_t);

  PRINT_TYPE(ncclUniqueId);
  PRINT_FIELD(ncclUniqueId, internal);

  PRINT_TYPE(ncclConfig_t);
  PRINT_FIELD(ncclConfig_t, size);
  PRINT_FIELD(ncclConfig_t, magic);
  PRINT_FIELD(ncclConfig_t, version);
  PRINT_FIELD(ncclConfig_t, blocking);
  PRINT_FIELD(ncclConfig_t, cgaClusterSize);
  PRINT_FIELD(ncclConfig_t, minCTAs);
  PRINT_FIELD(ncclConfig_t, maxCTAs);
  PRINT_FIELD(ncclConfig_t, netName);
  PRINT_FIELD(ncclConfig_t, splitShare);
  PRINT_FIELD(ncclConfig_t, trafficClass);
  PRINT_FIELD(ncclConfig_t, commName);
  PRINT_FIELD(ncclConfig_t, collnetEnable);
  PRINT_FIELD(ncclConfig_t, CTAPolicy);
  PRINT_FIELD(ncclConfig_t, shrinkShare);
  PRINT_FIELD(ncclConfig_t, nvlsCTAs);
  PRINT_FIELD(ncclConfig_t, nChannelsPerNetPeer);
  PRINT_FIELD(ncclConfig_t, nvlinkCentricSched);

  PRINT_TYPE(ncclSimInfo_t);
  PRINT_FIELD(ncclSimInfo_t, size);
  PRINT_FIELD(ncclSimInfo_t, magic);
  PRINT_FIELD(ncclSimInfo_t, version);
  PRINT_FIELD(ncclSimInfo_t, estimatedTime);
}

static void printInitializers(void) {
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  PRINT_INT(config.size);
  PRINT_INT(config.magic);
  PRINT_INT(config.version);
  PRINT_INT(config.blocking);
  PRINT_INT(config.cgaClusterSize);
  PRINT_INT(config.minCTAs);
  PRINT_INT(config.maxCTAs);
  PRINT_IS_NULL(config.netName);
  PRINT_INT(config.splitShare);
  PRINT_INT(config.trafficClass);
  PRINT_IS_NULL(config.commName);
  PRINT_INT(config.collnetEnable);
  PRINT_INT(config.CTAPolicy);
  PRINT_INT(config.shrinkShare);
  PRINT_INT(config.nvlsCTAs);
  PRINT_INT(config.nChannelsPerNetPeer);
  PRINT_INT(config.nvlinkCentricSched);

  ncclSimInfo_t simInfo = NCCL_SIM_INFO_INITIALIZER;
  PRINT_INT(simInfo.size);
  PRINT_INT(simInfo.magic);
  PRINT_INT(simInfo.version);
  PRINT_FLOAT(simInfo.estimatedTime);
}

/* Every function the oracle header declares must be declared by the header under test;
 * in C++ its full type must match too. sizeof/decltype do not evaluate, so nothing is
 * linked. */
static void printFunctions(void) {
#ifdef __cplusplus
#define NCCL_FUNCTION(fn) printf("function %s: %s\n", #fn, typeid(decltype(&fn)).name());
  PRINT_TYPE(cudaStream_t);
  printf("type names: %s %s %s %s %s %s %s %s %s\n", typeid(ncclComm_t).name(),
         typeid(ncclWindow_t).name(), typeid(ncclUniqueId).name(), typeid(ncclResult_t).name(),
         typeid(ncclConfig_t).name(), typeid(ncclSimInfo_t).name(), typeid(ncclRedOp_t).name(),
         typeid(ncclDataType_t).name(), typeid(ncclScalarResidence_t).name());
#else
#define NCCL_FUNCTION(fn) printf("function %s: declared %d\n", #fn, (int)(sizeof(&fn) > 0));
#endif
#include "nccl_functions.inc"
#undef NCCL_FUNCTION
}

int main(void) {
  printEnums();
  printMacros();
  printStructs();
  printInitializers();
  printFunctions();
  return 0;
}
